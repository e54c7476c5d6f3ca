import { writeFileSync } from "node:fs";
import {
  formatRecoveryPrivateKey,
  formatRecoveryPublicKey,
  generateRecoveryKeyPair,
  parseRecoveryPublicKey,
  recoveryKeyFingerprint,
} from "../../crypto/recovery-key.js";
import { RempartError } from "../../errors.js";
import { type Command, REPOSITORY_OPTIONS } from "../command.js";
import { EXIT } from "../exit-codes.js";
import { readFileSecret, readPassword } from "../secrets.js";

const list: Command = {
  name: "list",
  summary: "list the repository's key slots; * marks the one that opened it",
  usage: "rempart key list [--json]",
  options: REPOSITORY_OPTIONS,
  async run(context) {
    const { output } = context;
    const repo = await context.openRepository();
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
  },
};

const add: Command = {
  name: "add",
  summary: "add a password slot, or an escrow slot for the MSP recovery key",
  usage:
    "rempart key add [--new-password-file FILE | --recovery-key PUBLIC_KEY_FILE] [--label TEXT]",
  options: {
    ...REPOSITORY_OPTIONS,
    "new-password-file": {
      type: "string",
      value: "FILE",
      help: "the new password, from FILE (default: REMPART_NEW_PASSWORD, else a prompt, twice)",
    },
    "recovery-key": {
      type: "string",
      value: "FILE",
      help: "add an escrow slot for the MSP recovery public key in FILE instead of a password",
    },
    label: { type: "string", value: "TEXT", help: "the slot's label" },
  },
  async run(context) {
    const { output } = context;
    const repo = await context.openRepository();
    const label = context.string("label");
    const recoveryFile = context.string("recovery-key");
    let name: string;
    if (recoveryFile) {
      const recipient = parseRecoveryPublicKey(readFileSecret(recoveryFile, "recovery public key"));
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
  },
};

const remove: Command = {
  name: "remove",
  summary: "remove a key slot",
  usage: "rempart key remove SLOT",
  arguments: [{ syntax: "<SLOT>", help: "the slot's id, or a unique prefix of it (key list)" }],
  options: REPOSITORY_OPTIONS,
  async run(context) {
    const prefix = context.argument(0);
    const repo = await context.openRepository();
    const matches = (await repo.listKeySlots()).filter((s) => s.name.startsWith(prefix));
    if (matches.length !== 1)
      throw new RempartError(
        matches.length === 0 ? "NotFound" : "InvalidArgument",
        `${matches.length === 0 ? "no" : "more than one"} key slot matches ${prefix}`,
      );
    await repo.removeKeySlot((matches[0] as { name: string }).name);
    context.output.line(`removed key slot ${prefix}`);
    return EXIT.ok;
  },
};

const generateRecovery: Command = {
  name: "generate-recovery",
  summary: "make the MSP recovery key pair (once, offline; no repository needed)",
  usage: "rempart key generate-recovery --public-out FILE --private-out FILE",
  options: {
    "public-out": {
      type: "string",
      value: "FILE",
      required: true,
      help: "write the public key to FILE",
    },
    "private-out": {
      type: "string",
      value: "FILE",
      required: true,
      help: "write the private key to FILE, mode 0600 (keep it offline)",
    },
  },
  async run(context) {
    const publicOut = context.required("public-out");
    const privateOut = context.required("private-out");
    const pair = generateRecoveryKeyPair();
    // The private half goes offline; create it readable by its owner only, and never overwrite.
    writeFileSync(privateOut, `${formatRecoveryPrivateKey(pair.privateKey)}\n`, {
      mode: 0o600,
      flag: "wx",
    });
    writeFileSync(publicOut, `${formatRecoveryPublicKey(pair.publicKey)}\n`, { flag: "wx" });
    context.output.line(
      `recovery key ${recoveryKeyFingerprint(pair.publicKey)} written; keep ${privateOut} offline`,
    );
    return EXIT.ok;
  },
};

export const keyCommand: Command = {
  name: "key",
  summary: "manage key slots: list, add (password or MSP recovery key), remove; generate-recovery",
  usage: "rempart key list | add | remove SLOT | generate-recovery",
  options: {},
  subcommands: [list, add, remove, generateRecovery],
};
