import { readFileSync } from "node:fs";
import { RempartError } from "../../../errors.js";
import { addKeySlot } from "../../../server/operator-keys.js";
import type { Command } from "../../command.js";
import { EXIT } from "../../exit-codes.js";
import { TENANT_ARGUMENT, withDataDir } from "./session.js";

const add: Command = {
  name: "add",
  summary: "add a key slot (made with the tenant's password or recovery key) to its repository",
  usage: "rempart admin key add NAME --file SLOT.json",
  arguments: [TENANT_ARGUMENT],
  options: {
    file: { type: "string", value: "FILE", required: true, help: "the key slot, as JSON" },
  },
  run: withDataDir(async (context, admin) => {
    const { output } = context;
    const name = context.argument(0);
    const file = context.required("file");
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (error) {
      throw new RempartError(
        "NotFound",
        `cannot read the key slot file ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
        { file },
      );
    }
    const added = await addKeySlot(admin.ctx, await admin.actor(), name, bytes);
    if (output.json) output.object(added);
    else
      output.line(
        added.outcome === "created"
          ? `added key slot ${added.name} to tenant ${name}`
          : `tenant ${name} already has key slot ${added.name}`,
      );
    return EXIT.ok;
  }),
};

export const keyCommand: Command = {
  name: "key",
  summary: "add a key slot to a tenant's repository",
  usage: "rempart admin key add NAME --file SLOT.json",
  options: {},
  subcommands: [add],
};
