import { walkTree } from "../../snapshot/walk.js";
import type { Command, OptionTable } from "../command.js";
import { EXIT } from "../exit-codes.js";

const options = {} satisfies OptionTable;

function modeString(type: string, mode: number): string {
  const kind =
    { dir: "d", symlink: "l", fifo: "p", socket: "s", chardev: "c", blockdev: "b" }[type] ?? "-";
  const bits = "rwxrwxrwx"
    .split("")
    .map((char, i) => (mode & (1 << (8 - i)) ? char : "-"))
    .join("");
  return kind + bits;
}

export const lsCommand: Command = {
  name: "ls",
  summary: "list the files in a snapshot",
  usage: "rempart ls --repo DIR SNAPSHOT [PATH]",
  options,
  async run(context) {
    const { output } = context;
    const repo = await context.openRepository();
    const snapshot = await repo.findSnapshot(context.positionals[0] ?? "latest");
    await repo.loadIndex();
    const prefix = (context.positionals[1] ?? "/").replace(/\/+$/, "");
    for await (const { path, node } of walkTree(
      (id) => repo.readTree(id),
      snapshot.snapshot.tree,
    )) {
      if (prefix !== "" && path !== prefix && !path.startsWith(`${prefix}/`)) continue;
      if (output.json)
        output.object({
          path,
          type: node.type,
          size: node.size ?? 0,
          mode: node.mode,
          mtime: new Date(node.mtimeMs).toISOString(),
          uid: node.uid,
          gid: node.gid,
        });
      else
        output.line(
          `${modeString(node.type, node.mode)} ${String(node.uid).padStart(5)} ${String(node.gid).padStart(5)} ${String(node.size ?? 0).padStart(12)} ${new Date(node.mtimeMs).toISOString().slice(0, 19)} ${path}${node.type === "symlink" ? ` -> ${node.target}` : ""}`,
        );
    }
    return EXIT.ok;
  },
};
