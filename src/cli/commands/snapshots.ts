import { displayName } from "../../snapshot/filename.js";
import { type Command, type OptionTable, REPOSITORY_OPTIONS } from "../command.js";
import { EXIT } from "../exit-codes.js";
import { formatBytes } from "../output.js";

const options = { ...REPOSITORY_OPTIONS } satisfies OptionTable;

const shortTime = (iso: string) => iso.replace("T", " ").slice(0, 19);

export const snapshotsCommand: Command = {
  name: "snapshots",
  summary: "list snapshots, oldest first (by the server's receipt time when it records one)",
  usage: "rempart snapshots --repo DIR [--json]",
  options,
  async run(context) {
    const repo = await context.openRepository();
    const snapshots = await repo.listSnapshots();
    const { output } = context;
    // Each skipped snapshot was announced on stderr as it was met (CommandContext); the listing
    // ends with the count, so a short stdout never passes for the whole history.
    const skipped = repo.skipped.filter((object) => object.kind === "snapshots");
    if (output.json) {
      output.object(
        snapshots.map(({ id, snapshot, receivedAt, uploadedBy }) => ({
          id,
          time: snapshot.time,
          received_at: receivedAt ?? null,
          uploaded_by: uploadedBy ?? null,
          host: snapshot.host,
          username: snapshot.username,
          paths: snapshot.paths,
          tags: snapshot.tags,
          parent: snapshot.parent ?? null,
          tree: snapshot.tree,
          verdict: snapshot.summary.detection?.verdict ?? null,
          summary: snapshot.summary,
        })),
      );
      return EXIT.ok;
    }
    if (snapshots.length === 0) output.line("no snapshots");
    for (const { id, snapshot, receivedAt } of snapshots) {
      const tags = snapshot.tags.length > 0 ? `  [${snapshot.tags.join(",")}]` : "";
      const received = receivedAt === undefined ? "" : `  (received ${shortTime(receivedAt)})`;
      // "-": made before detection existed
      const verdict = (snapshot.summary.detection?.verdict ?? "-").padEnd(10);
      output.line(
        `${id.slice(0, 8)}  ${shortTime(snapshot.time)}  ${verdict}  ${snapshot.host}  ${formatBytes(snapshot.summary.totalBytes)}  ${snapshot.paths.map(displayName).join(" ")}${tags}${received}`,
      );
    }
    if (skipped.length > 0) {
      const uploaders = [...new Set(skipped.flatMap((s) => s.uploadedBy ?? []))];
      output.warn(
        `${skipped.length} snapshot(s) could not be opened and are not listed: ${skipped.map((s) => s.name.slice(0, 8)).join(" ")}` +
          (uploaders.length > 0 ? ` (uploaded by agent ${uploaders.join(", ")})` : ""),
      );
    }
    return EXIT.ok;
  },
};
