import { RempartError } from "../../errors.js";
import { displayName } from "../../snapshot/filename.js";
import { findArgumentPath } from "../../snapshot/walk.js";
import { type Command, type OptionTable, REPOSITORY_OPTIONS } from "../command.js";
import { EXIT } from "../exit-codes.js";

const options = { ...REPOSITORY_OPTIONS } satisfies OptionTable;

export const catCommand: Command = {
  name: "cat",
  summary: "print a file from a snapshot, or the snapshot/config itself as JSON",
  usage:
    "rempart cat --repo DIR SNAPSHOT PATH | rempart cat --repo DIR snapshot SNAPSHOT | rempart cat --repo DIR config (PATH as ls shows it: \\xNN for a byte that is not UTF-8)",
  arguments: [
    {
      syntax: "<SNAPSHOT|snapshot|config>",
      help: "the snapshot holding PATH; snapshot: print a snapshot; config: print the repository's configuration",
    },
    { syntax: "[PATH|SNAPSHOT]", help: "the file to print, or the snapshot to print" },
  ],
  options,
  async run(context) {
    const { positionals, output } = context;
    const repo = await context.openRepository();
    const [first, second] = positionals;
    if (first === "config" && second === undefined) {
      // The chunker seed stays secret even from someone reading over the operator's shoulder.
      output.object({ ...repo.config, chunker: { ...repo.config.chunker, seed: "(secret)" } });
      return EXIT.ok;
    }
    if (first === "snapshot" && second !== undefined) {
      const found = await repo.findSnapshot(second);
      output.object({ id: found.id, ...found.snapshot });
      return EXIT.ok;
    }
    if (first === undefined || second === undefined || positionals.length !== 2)
      throw new RempartError("InvalidArgument", `usage: ${this.usage}`);
    const snapshot = await repo.findSnapshot(first);
    const found = await findArgumentPath((id) => repo.readTree(id), snapshot.snapshot.tree, second);
    if (!found)
      throw new RempartError("NotFound", `${second} is not in snapshot ${snapshot.id.slice(0, 8)}`);
    const { path, node } = found;
    if (node.type !== "file")
      throw new RempartError(
        "InvalidArgument",
        `${displayName(path)} is a ${node.type}, not a file`,
      );
    for (const id of node.content ?? []) {
      const data = await repo.readBlob(id);
      if (!process.stdout.write(data))
        await new Promise((resolve) => process.stdout.once("drain", resolve));
    }
    return EXIT.ok;
  },
};
