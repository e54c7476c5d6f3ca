import { check } from "../../check/checker.js";
import { displayName } from "../../snapshot/filename.js";
import { type Command, type OptionTable, REPOSITORY_OPTIONS } from "../command.js";
import { EXIT } from "../exit-codes.js";
import { parsePercent } from "../units.js";

const options = {
  ...REPOSITORY_OPTIONS,
  "read-data": { type: "boolean", help: "also read, decrypt and verify every pack" },
  "read-data-subset": {
    type: "string",
    value: "N%",
    help: "read and verify N% of the packs, chosen at random",
  },
} satisfies OptionTable;

function readFraction(all: boolean, subset: string | undefined): number {
  if (subset === undefined) return all ? 1 : 0;
  return parsePercent(subset, "--read-data-subset") / 100;
}

/**
 * "snapshot-id:/path" with the path shown as ls shows it, so that a name that is not UTF-8 is
 * readable and can be pasted into `restore --include` (which reads the \xNN escapes back).
 */
function displayFile(file: string): string {
  const colon = file.indexOf(":");
  return `${file.slice(0, colon + 1)}${displayName(file.slice(colon + 1))}`;
}

export const checkCommand: Command = {
  name: "check",
  summary: "verify the repository's structure, and optionally all data",
  usage: "rempart check --repo DIR [--read-data | --read-data-subset N%]",
  options,
  async run(context) {
    const { output } = context;
    const fraction = readFraction(context.flag("read-data"), context.string("read-data-subset"));
    const repo = await context.openRepository();
    const report = await check(repo, {
      readDataFraction: fraction,
      onProgress: (message) => output.status(message),
    });
    output.clearStatus();
    if (output.json) output.object(report);
    else {
      output.line(
        `${report.snapshots} snapshots, ${report.trees} trees, ${report.blobs} data blobs, ${report.packs} packs` +
          (fraction > 0 ? `, ${report.packsRead} packs read and verified` : ""),
      );
      if (report.unindexedPacks.length > 0)
        output.line(
          `${report.unindexedPacks.length} pack(s) not yet indexed (left by an interrupted backup; the next backup adopts them)`,
        );
      for (const problem of report.problems) {
        output.line(`error: ${problem.message}`);
        for (const file of problem.files ?? []) output.line(`  affects ${displayFile(file)}`);
      }
      output.line(
        report.problems.length === 0
          ? "no errors found"
          : `${report.problems.length} error(s) found`,
      );
    }
    return report.problems.length === 0 ? EXIT.ok : EXIT.corrupt;
  },
};
