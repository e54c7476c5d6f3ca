import { writeFileSync } from "node:fs";
import {
  formatRecoveryPrivateKey,
  formatRecoveryPublicKey,
  generateRecoveryKeyPair,
  parseRecoveryPublicKey,
  recoveryKeyFingerprint,
} from "../../crypto/recovery-key.js";
import { RempartError } from "../../errors.js";
import type { Command, OptionTable } from "../command.js";
import { EXIT } from "../exit-codes.js";
import { readFileSecret, readPassword } from "../secrets.js";

const options = {
  "new-password-file": { type: "string" },
  "recovery-key": { type: "string" },
  label: { type: "string" },
  "public-out": { type: "string" },
  "private-out": { type: "string" },
} satisfies OptionTable;

export const keyCommand: Command = {
  name: "key",
  summary: "manage key slots: list, add (password or MSP recovery key), remove; generate-recovery",
  usage:
    "rempart key list | key add [--new-password-file F | --recovery-key PUBLIC_KEY_FILE] [--label L] | key remove SLOT | key generate-recovery --public-out F --private-out F",
  options,
  async run(context) {
    const { output, positionals } = context;
    const action = positionals[0];
    if (action === "generate-recovery") {
      const publicOut = context.string("public-out");
      const privateOut = context.string("private-out");
      if (!publicOut || !privateOut)
        throw new RempartError("InvalidArgument", `usage: ${this.usage}`);
      const pair = generateRecoveryKeyPair();
      // The private half goes offline; create it readable by its owner only, and never overwrite.
      writeFileSync(privateOut, `${formatRecoveryPrivateKey(pair.privateKey)}\n`, {
        mode: 0o600,
        flag: "wx",
      });
      writeFileSync(publicOut, `${formatRecoveryPublicKey(pair.publicKey)}\n`, { flag: "wx" });
      output.line(
        `recovery key ${recoveryKeyFingerprint(pair.publicKey)} written; keep ${privateOut} offline`,
      );
      return EXIT.ok;
    }
    const repo = await context.openRepository();
    switch (action) {
      case "list": {
        const slots = await repo.listKeySlots();
        const rows = slots.map(({ name, slot }) => ({
          id: name,
          kind: slot.kind,
          label: slot.label,
          created: slot.created,
          current: name === repo.openedWith,
          ...(slot.kind === "escrow" ? { recipient: slot.recipient } : {}),
        }));
        if (output.json) output.object(rows);
        else
          for (const row of rows)
            output.line(
              `${row.current ? "*" : " "} ${row.id.slice(0, 8)}  ${row.kind.padEnd(8)}  ${row.created.slice(0, 19)}  ${row.label}${"recipient" in row ? `  (recovery key ${String(row.recipient).slice(0, 16)}…)` : ""}`,
            );
        return EXIT.ok;
      }
      case "add": {
        const label = context.string("label");
        const recoveryFile = context.string("recovery-key");
        let name: string;
        if (recoveryFile) {
          const recipient = parseRecoveryPublicKey(
            readFileSecret(recoveryFile, "recovery public key"),
          );
          name = await repo.addEscrowSlot(recipient, label ?? "MSP recovery key");
        } else {
          const password = await readPassword({
            file: context.string("new-password-file"),
            env: "REMPART_NEW_PASSWORD",
            prompt: "new password",
            confirm: true,
          });
          name = await repo.addPasswordSlot(password, label ?? "password");
        }
        if (output.json) output.object({ id: name });
        else output.line(`added key slot ${name.slice(0, 8)}`);
        return EXIT.ok;
      }
      case "remove": {
        const prefix = positionals[1];
        if (!prefix) throw new RempartError("InvalidArgument", `usage: ${this.usage}`);
        const matches = (await repo.listKeySlots()).filter((s) => s.name.startsWith(prefix));
        if (matches.length !== 1)
          throw new RempartError(
            matches.length === 0 ? "NotFound" : "InvalidArgument",
            `${matches.length === 0 ? "no" : "more than one"} key slot matches ${prefix}`,
          );
        await repo.removeKeySlot((matches[0] as { name: string }).name);
        output.line(`removed key slot ${prefix}`);
        return EXIT.ok;
      }
      default:
        throw new RempartError("InvalidArgument", `usage: ${this.usage}`);
    }
  },
};
