import { displayName } from "../../snapshot/filename.js";
import { findArgumentPath, walkTree } from "../../snapshot/walk.js";
import { type Command, type OptionTable, REPOSITORY_OPTIONS } from "../command.js";
import { EXIT } from "../exit-codes.js";
import { jsonPath } from "../output.js";

const options = { ...REPOSITORY_OPTIONS } satisfies OptionTable;

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
  usage:
    "rempart ls --repo DIR SNAPSHOT [PATH] (PATH as ls shows it: \\xNN for a byte that is not UTF-8)",
  arguments: [
    {
      syntax: "[SNAPSHOT]",
      help: "a snapshot id, a unique prefix of one, or latest (default: latest)",
    },
    { syntax: "[PATH]", help: "list only PATH and what is below it" },
  ],
  options,
  async run(context) {
    const { output } = context;
    const repo = await context.openRepository();
    const snapshot = await repo.findSnapshot(context.positionals[0] ?? "latest");
    const readTree = (id: string) => repo.readTree(id);
    const wanted = context.positionals[1] ?? "/";
    const found = await findArgumentPath(readTree, snapshot.snapshot.tree, wanted);
    const prefix = (found?.path ?? wanted).replace(/\/+$/, "");
    for await (const { path, node } of walkTree(readTree, snapshot.snapshot.tree)) {
      if (prefix !== "" && path !== prefix && !path.startsWith(`${prefix}/`)) continue;
      if (output.json)
        output.object({
          ...jsonPath("path", path),
          type: node.type,
          size: node.size ?? 0,
          mode: node.mode,
          mtime: new Date(node.mtimeMs).toISOString(),
          uid: node.uid,
          gid: node.gid,
          ...(node.target === undefined ? {} : jsonPath("target", node.target)),
        });
      else
        output.line(
          `${modeString(node.type, node.mode)} ${String(node.uid).padStart(5)} ${String(node.gid).padStart(5)} ${String(node.size ?? 0).padStart(12)} ${new Date(node.mtimeMs).toISOString().slice(0, 19)} ${displayName(path)}${node.type === "symlink" ? ` -> ${displayName(node.target ?? "")}` : ""}`,
        );
    }
    return EXIT.ok;
  },
};
