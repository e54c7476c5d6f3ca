import { resolve } from "node:path";
import { RempartError } from "../../errors.js";
import { RESUME_POLICY, restore } from "../../restore/restorer.js";
import { argumentSpellings, displayName } from "../../snapshot/filename.js";
import { type Command, type OptionTable, REPOSITORY_OPTIONS } from "../command.js";
import { EXIT } from "../exit-codes.js";
import { formatBytes } from "../output.js";

const options = {
  ...REPOSITORY_OPTIONS,
  target: {
    type: "string",
    short: "t",
    value: "DIR",
    help: "restore into DIR (required): /srv/share restores to DIR/srv/share",
  },
  include: {
    type: "string",
    multiple: true,
    value: "PATH",
    help: "restore only PATH and what is below it; repeatable",
  },
  host: { type: "string", value: "HOST", help: "with latest: the latest snapshot of HOST" },
  path: { type: "string", value: "PATH", help: "with latest: the latest snapshot of PATH" },
} satisfies OptionTable;

export const restoreCommand: Command = {
  name: "restore",
  summary: "restore a snapshot (or parts of it) into a directory",
  usage:
    "rempart restore --repo DIR SNAPSHOT --target DIR [--include PATH]… [--host H] [--path P] (with latest: the latest from host H / of path P)\n" +
    RESUME_POLICY,
  arguments: [{ syntax: "<SNAPSHOT>", help: "a snapshot id, a unique prefix of one, or latest" }],
  options,
  async run(context) {
    const { output } = context;
    const reference = context.positionals[0];
    const target = context.string("target");
    if (reference === undefined || context.positionals.length > 1 || !target)
      throw new RempartError("InvalidArgument", `usage: ${this.usage}`);
    const repo = await context.openRepository();
    const host = context.string("host");
    const path = context.string("path");
    const snapshot = await repo.findSnapshot(reference, {
      ...(host === undefined ? {} : { host }),
      // A backed-up path that is not UTF-8 is typed as snapshots and ls show it (\xNN).
      ...(path === undefined ? {} : { paths: argumentSpellings(path).map((p) => resolve(p)) }),
    });
    const result = await restore(repo, snapshot, {
      target: resolve(target),
      // A name that is not UTF-8 is typed as ls shows it (\xNN); both spellings are selected.
      include: context.strings("include").flatMap(argumentSpellings),
      owner: process.getuid?.() === 0,
      onProgress: (p) =>
        output.status(
          p.totalFiles === undefined || p.totalBytes === undefined
            ? `${p.files} files, ${formatBytes(p.bytes)}`
            : `${p.files}/${p.totalFiles} files, ${formatBytes(p.bytes)}/${formatBytes(p.totalBytes)}`,
        ),
      onWarning: (path, message) => {
        output.clearStatus();
        output.warn(`warning: ${displayName(path)}: ${message}`);
      },
    });
    output.clearStatus();
    for (const file of result.damaged)
      output.warn(`error: ${displayName(file.path)} not restored: ${file.error}`);
    for (const entry of result.refused)
      output.warn(
        `error: ${displayName(entry.path)} not restored, the target refused it: ${entry.error}`,
      );
    if (output.json)
      output.object({
        snapshot_id: snapshot.id,
        files: result.files,
        dirs: result.dirs,
        bytes: result.bytes,
        damaged: result.damaged,
        refused: result.refused,
        warnings: result.warnings,
      });
    else
      output.line(
        `restored ${result.files} files, ${result.dirs} directories, ${formatBytes(result.bytes)} from snapshot ${snapshot.id.slice(0, 8)}` +
          (result.damaged.length > 0
            ? `; ${result.damaged.length} damaged file(s) NOT restored`
            : "") +
          (result.refused.length > 0
            ? `; ${result.refused.length} entr${result.refused.length === 1 ? "y" : "ies"} the target refused NOT restored`
            : ""),
      );
    if (result.damaged.length > 0) return EXIT.corrupt;
    return result.refused.length > 0 ? EXIT.partial : EXIT.ok;
  },
};
