import { DEFAULT_CHUNKER_PARAMS } from "../../chunker/fastcdc.js";
import { parseRecoveryPublicKey, recoveryKeyFingerprint } from "../../crypto/recovery-key.js";
import { checkFormatVersion, REPOSITORY_VERSION } from "../../repository/config.js";
import { Repository } from "../../repository/repository.js";
import { FsObjectStore } from "../../storage/fs/fs-store.js";
import { type Command, type OptionTable, REPOSITORY_OPTIONS } from "../command.js";
import { EXIT } from "../exit-codes.js";
import { readFileSecret } from "../secrets.js";
import { parseCount } from "../units.js";

const options = {
  ...REPOSITORY_OPTIONS,
  "recovery-key": {
    type: "string",
    value: "FILE",
    help: "also escrow the master key to the MSP recovery public key in FILE",
  },
  label: {
    type: "string",
    value: "TEXT",
    help: 'the password slot\'s label (default: "initial password")',
  },
  "repository-version": {
    type: "string",
    value: "N",
    help: `format version: ${REPOSITORY_VERSION} (default: small files compressed together) or 1 (readable by Rempart 0.1)`,
  },
} satisfies OptionTable;

export const initCommand: Command = {
  name: "init",
  summary: "create a new encrypted repository",
  usage:
    "rempart init --repo DIR [--recovery-key MSP_PUBLIC_KEY_FILE] [--label TEXT] [--repository-version N]",
  options,
  async run(context) {
    const path = context.repositoryPath();
    const keyFile = context.string("recovery-key");
    const recoveryPublicKey = keyFile
      ? parseRecoveryPublicKey(readFileSecret(keyFile, "recovery public key"))
      : undefined;
    const version = context.string("repository-version");
    const formatVersion =
      version === undefined ? undefined : parseCount(version, "--repository-version", 1);
    if (formatVersion !== undefined) checkFormatVersion(formatVersion);
    const password = await context.password(true);
    const store = await FsObjectStore.create(path);
    const repo = await Repository.init(store, {
      password,
      label: context.string("label") ?? "initial password",
      chunker: DEFAULT_CHUNKER_PARAMS,
      ...(formatVersion === undefined ? {} : { formatVersion }),
      ...(recoveryPublicKey ? { recoveryPublicKey } : {}),
    });
    const escrow = recoveryPublicKey ? recoveryKeyFingerprint(recoveryPublicKey) : undefined;
    if (context.output.json) {
      context.output.object({
        repository: path,
        id: repo.config.id,
        escrow_recipient: escrow ?? null,
      });
    } else {
      context.output.line(`created repository ${repo.config.id} at ${path}`);
      if (escrow) context.output.line(`master key escrowed to recovery key ${escrow}`);
      context.output.line(
        "keep the password safe: without it (or the recovery key) the data is lost",
      );
    }
    return EXIT.ok;
  },
};
