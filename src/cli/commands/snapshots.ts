import { displayName } from "../../snapshot/filename.js";
import type { Command, OptionTable } from "../command.js";
import { EXIT } from "../exit-codes.js";
import { formatBytes } from "../output.js";

const options = {} satisfies OptionTable;

export const snapshotsCommand: Command = {
  name: "snapshots",
  summary: "list snapshots, oldest first",
  usage: "rempart snapshots --repo DIR [--json]",
  options,
  async run(context) {
    const repo = await context.openRepository();
    const snapshots = await repo.listSnapshots();
    const { output } = context;
    if (output.json) {
      output.object(
        snapshots.map(({ id, snapshot }) => ({
          id,
          time: snapshot.time,
          host: snapshot.host,
          username: snapshot.username,
          paths: snapshot.paths,
          tags: snapshot.tags,
          parent: snapshot.parent ?? null,
          tree: snapshot.tree,
          summary: snapshot.summary,
        })),
      );
      return EXIT.ok;
    }
    if (snapshots.length === 0) output.line("no snapshots");
    for (const { id, snapshot } of snapshots) {
      const tags = snapshot.tags.length > 0 ? `  [${snapshot.tags.join(",")}]` : "";
      output.line(
        `${id.slice(0, 8)}  ${snapshot.time.replace("T", " ").slice(0, 19)}  ${snapshot.host}  ${formatBytes(snapshot.summary.totalBytes)}  ${snapshot.paths.map(displayName).join(" ")}${tags}`,
      );
    }
    return EXIT.ok;
  },
};
