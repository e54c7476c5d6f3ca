import { walkTree } from "../../snapshot/walk.js";
import { type Command, type OptionTable, REPOSITORY_OPTIONS } from "../command.js";
import { EXIT } from "../exit-codes.js";
import { formatBytes } from "../output.js";

const options = { ...REPOSITORY_OPTIONS } satisfies OptionTable;

export const statsCommand: Command = {
  name: "stats",
  summary: "repository size, logical size and deduplication",
  usage: "rempart stats --repo DIR [SNAPSHOT]",
  arguments: [{ syntax: "[SNAPSHOT]", help: "count this snapshot only (default: all of them)" }],
  options,
  async run(context) {
    const { output } = context;
    const repo = await context.openRepository();
    const all = await repo.listSnapshots();
    const selected = context.positionals[0]
      ? [await repo.findSnapshot(context.positionals[0])]
      : all;
    let logicalBytes = 0;
    let files = 0;
    const blobs = new Set<string>();
    for (const { snapshot } of selected)
      for await (const { node } of walkTree((id) => repo.readTree(id), snapshot.tree)) {
        if (node.type !== "file") continue;
        files++;
        logicalBytes += node.size ?? 0;
        for (const id of node.content ?? []) blobs.add(id);
      }
    let uniqueBytes = 0;
    let sealedBytes = 0;
    // A frame's blobs share its sealed bytes (FORMAT.md): they are stored, and counted, once.
    const frames = new Set<string>();
    for (const id of blobs) {
      const [location] = await repo.blobLocations(id);
      if (!location) continue;
      uniqueBytes += location.rawLength;
      const frame = `${location.pack}:${location.offset}`;
      if (location.framed && frames.has(frame)) continue;
      if (location.framed) frames.add(frame);
      sealedBytes += location.length;
    }
    let storedBytes = 0;
    for (const info of await repo.listPacks()) storedBytes += info.size;
    const stats = {
      snapshots: selected.length,
      files,
      logical_bytes: logicalBytes,
      unique_bytes: uniqueBytes,
      unique_stored_bytes: sealedBytes,
      repository_pack_bytes: storedBytes,
      dedup_ratio: uniqueBytes > 0 ? logicalBytes / uniqueBytes : 1,
      compression_ratio: sealedBytes > 0 ? uniqueBytes / sealedBytes : 1,
    };
    if (output.json) output.object(stats);
    else {
      output.line(`snapshots:            ${stats.snapshots}`);
      output.line(`files (all snapshots): ${files}`);
      output.line(`logical size:         ${formatBytes(logicalBytes)}`);
      output.line(
        `unique data:          ${formatBytes(uniqueBytes)} (dedup ${stats.dedup_ratio.toFixed(2)}x)`,
      );
      output.line(
        `stored (compressed):  ${formatBytes(sealedBytes)} (compression ${stats.compression_ratio.toFixed(2)}x)`,
      );
      output.line(`packs on storage:     ${formatBytes(storedBytes)}`);
    }
    return EXIT.ok;
  },
};
