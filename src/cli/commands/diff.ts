import { RempartError } from "../../errors.js";
import { displayName } from "../../snapshot/filename.js";
import { type WalkEntry, walkTree } from "../../snapshot/walk.js";
import { type Command, type OptionTable, REPOSITORY_OPTIONS } from "../command.js";
import { EXIT } from "../exit-codes.js";
import { formatBytes, jsonPath } from "../output.js";

const options = { ...REPOSITORY_OPTIONS } satisfies OptionTable;

function modified(a: WalkEntry["node"], b: WalkEntry["node"]): boolean {
  if (a.type !== b.type) return true;
  if (a.type === "file")
    return a.size !== b.size || (a.content ?? []).join() !== (b.content ?? []).join();
  if (a.type === "symlink") return a.target !== b.target;
  return false;
}

export const diffCommand: Command = {
  name: "diff",
  summary: "show what was added, removed and modified between two snapshots",
  usage: "rempart diff --repo DIR SNAPSHOT1 SNAPSHOT2",
  arguments: [
    { syntax: "<SNAPSHOT1>", help: "the snapshot before" },
    { syntax: "<SNAPSHOT2>", help: "the snapshot after" },
  ],
  options,
  async run(context) {
    const { output, positionals } = context;
    if (positionals.length !== 2) throw new RempartError("InvalidArgument", `usage: ${this.usage}`);
    const repo = await context.openRepository();
    const [first, second] = [
      await repo.findSnapshot(positionals[0] as string),
      await repo.findSnapshot(positionals[1] as string),
    ];
    const list = async (treeId: string) => {
      const entries = new Map<string, WalkEntry["node"]>();
      for await (const { path, node } of walkTree((id) => repo.readTree(id), treeId))
        entries.set(path, node);
      return entries;
    };
    const before = await list(first.snapshot.tree);
    const after = await list(second.snapshot.tree);
    const changes: {
      change: "added" | "removed" | "modified";
      path: string;
      size: number;
      previous_size?: number;
    }[] = [];
    for (const [path, node] of after) {
      const old = before.get(path);
      if (!old) changes.push({ change: "added", path, size: node.size ?? 0 });
      else if (modified(old, node))
        changes.push({
          change: "modified",
          path,
          size: node.size ?? 0,
          previous_size: old.size ?? 0,
        });
    }
    for (const [path, node] of before)
      if (!after.has(path)) changes.push({ change: "removed", path, size: node.size ?? 0 });
    changes.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    if (output.json)
      output.object(
        changes.map(({ path, ...change }) => ({ ...jsonPath("path", path), ...change })),
      );
    else {
      const sign = { added: "+", removed: "-", modified: "M" } as const;
      for (const c of changes)
        output.line(
          `${sign[c.change]}  ${displayName(c.path)}  ${c.change === "modified" ? `${formatBytes(c.previous_size ?? 0)} -> ` : ""}${formatBytes(c.size)}`,
        );
      const count = (kind: string) => changes.filter((c) => c.change === kind).length;
      output.line(
        `${count("added")} added, ${count("removed")} removed, ${count("modified")} modified`,
      );
    }
    return EXIT.ok;
  },
};
