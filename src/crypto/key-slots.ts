import {
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  type KeyObject,
  randomBytes,
  scrypt,
} from "node:crypto";
import { isRempartError, RempartError } from "../errors.js";
import { open, SEAL_OVERHEAD, seal } from "./aead.js";
import {
  decodeMasterKey,
  encodeMasterKey,
  MASTER_KEY_BYTES,
  type MasterKey,
} from "./master-key.js";
import {
  decodeBase64Exact,
  importX25519PublicKey,
  type RecoveryPrivateKey,
  type RecoveryPublicKey,
  rawX25519PublicKey,
  recoveryKeyFingerprint,
} from "./recovery-key.js";

/**
 * Key slots wrap the master key, so a password can change and an MSP can hold a recovery key
 * without re-encrypting anything. Every wrapped key is sealed with the rest of its slot as AAD
 * (see `slotAad`): editing a label, a KDF parameter or a recipient makes the slot fail to open,
 * so nobody with write access to `keys/` can downgrade or relabel a slot unnoticed.
 */
export interface ScryptCost {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

export interface PasswordSlot {
  version: 1;
  kind: "password";
  /** ISO 8601 */
  created: string;
  label: string;
  kdf: {
    name: "scrypt";
    N: number;
    r: number;
    p: number;
    /** base64, 32 bytes */
    salt: string;
  };
  /** base64 of seal(kek, encodeMasterKey(mk), slotAad(slot)) */
  wrapped: string;
}

export interface EscrowSlot {
  version: 1;
  kind: "escrow";
  created: string;
  label: string;
  scheme: typeof ESCROW_SCHEME;
  /** recoveryKeyFingerprint of the recipient */
  recipient: string;
  /** base64 of the raw 32-byte ephemeral X25519 public key */
  ephemeralPublicKey: string;
  wrapped: string;
}

export type KeySlot = PasswordSlot | EscrowSlot;

export interface SlotSecret {
  readonly password?: string;
  readonly recoveryPrivateKey?: RecoveryPrivateKey;
}

/** 32 MiB of memory per attempt: slow enough to hurt guessing, fast enough for every backup run. */
export const DEFAULT_SCRYPT: ScryptCost = { N: 2 ** 15, r: 8, p: 1 };
export const ESCROW_SCHEME = "x25519-hkdf-sha256-aes256gcm";

const SLOT_VERSION = 1;
const SALT_BYTES = 32;
const KEK_BYTES = 32;
const WRAPPED_BYTES = MASTER_KEY_BYTES + SEAL_OVERHEAD;
const ESCROW_INFO = "rempart escrow v1";
const X25519_KEY_BYTES = 32;
const FINGERPRINT = /^[0-9a-f]{64}$/;
/**
 * Bounds on the KDF parameters a reader accepts, checked by `parseKeySlot` before anything is
 * derived: a slot is plaintext anyone who can write `keys/` may forge (a compromised agent can,
 * through the server), and scrypt's cost is whatever the slot says. Rempart creates N=2^15, r=8,
 * p=1 (32 MiB); readers accept up to 4 times that work and memory (N ≤ 2^17, r ≤ 8, p = 1,
 * 128·N·r ≤ 128 MiB, ~1.6 s here), so a slot made by a later, costlier default still opens, while
 * one that asks for a gigabyte or an hour is refused without running.
 */
export const MAX_SCRYPT: ScryptCost = { N: 2 ** 17, r: 8, p: 1 };
const MIN_N = 2 ** 10;
const MAX_SCRYPT_MEMORY = 128 * 1024 * 1024;
/**
 * The most KDF work one open may spend over all the slots it tries, in units of N·r·p: 8 slots
 * at the default cost (~3 s here), 2 at the bound. Slots a compromised agent adds cannot make
 * opening slower than this; past it, opening stops and says why.
 */
export const KDF_WORK_BUDGET = 8 * DEFAULT_SCRYPT.N * DEFAULT_SCRYPT.r * DEFAULT_SCRYPT.p;

/** The work a password slot's KDF costs, in the unit of KDF_WORK_BUDGET; 0 for other slots. */
export function kdfWork(slot: KeySlot): number {
  return slot.kind === "password" ? slot.kdf.N * slot.kdf.r * slot.kdf.p : 0;
}

export async function createPasswordSlot(
  masterKey: MasterKey,
  password: string,
  label: string,
  cost: ScryptCost = DEFAULT_SCRYPT,
): Promise<PasswordSlot> {
  if (password.length === 0) throw new RempartError("InvalidArgument", "the password is empty");
  const problem = scryptCostProblem(cost);
  if (problem !== undefined) {
    throw new RempartError("InvalidArgument", `scrypt parameters refused: ${problem}`);
  }
  const salt = randomBytes(SALT_BYTES);
  const fields = {
    version: SLOT_VERSION,
    kind: "password",
    created: new Date().toISOString(),
    label,
    kdf: { name: "scrypt", N: cost.N, r: cost.r, p: cost.p, salt: salt.toString("base64") },
  } as const;
  const kek = await deriveScryptKek(password, salt, cost);
  const wrapped = seal(kek, encodeMasterKey(masterKey), slotAad(fields));
  return { ...fields, kdf: { ...fields.kdf }, wrapped: base64(wrapped) };
}

/**
 * A wrong password and an edited slot are indistinguishable (both fail the tag), so both are
 * WrongPassword; parameters that are malformed or out of bounds are RepositoryCorrupt.
 */
export async function openPasswordSlot(slot: PasswordSlot, password: string): Promise<MasterKey> {
  const checked = parseKeySlot(slot);
  if (checked.kind !== "password")
    throw corrupt(`key slot is of kind ${checked.kind}, not password`);
  const { kdf } = checked;
  const salt = decodeBase64Exact(kdf.salt, SALT_BYTES);
  if (salt === undefined) throw corrupt(`${slotName(checked)} has a malformed salt`);
  const wrapped = wrappedBytes(checked);
  const kek = await deriveScryptKek(password, salt, kdf);
  let encoded: Uint8Array;
  try {
    encoded = open(kek, wrapped, slotAad(checked));
  } catch (error) {
    if (!isRempartError(error, "RepositoryCorrupt")) throw error;
    throw new RempartError(
      "WrongPassword",
      `wrong password for ${slotName(checked)} (or the slot was edited)`,
    );
  }
  return decodeMasterKey(encoded);
}

/**
 * Needs only the recipient's public key, so agents create escrow slots while the private key
 * stays offline.
 */
export function createEscrowSlot(
  masterKey: MasterKey,
  recipient: RecoveryPublicKey,
  label: string,
): EscrowSlot {
  const ephemeral = generateKeyPairSync("x25519");
  const ephemeralRaw = rawX25519PublicKey(ephemeral.publicKey);
  const fields = {
    version: SLOT_VERSION,
    kind: "escrow",
    created: new Date().toISOString(),
    label,
    scheme: ESCROW_SCHEME,
    recipient: recoveryKeyFingerprint(recipient),
    ephemeralPublicKey: base64(ephemeralRaw),
  } as const;
  const kek = escrowKek(ephemeral.privateKey, recipient.key, ephemeralRaw, recipient.raw);
  if (kek === undefined) {
    throw new RempartError("InvalidArgument", "the recovery public key is not a usable X25519 key");
  }
  const wrapped = seal(kek, encodeMasterKey(masterKey), slotAad(fields));
  return { ...fields, wrapped: base64(wrapped) };
}

/**
 * A key whose fingerprint differs from `recipient` is WrongPassword; a matching key whose slot
 * fails authentication means the slot was altered, which is RepositoryCorrupt.
 */
export function openEscrowSlot(slot: EscrowSlot, privateKey: RecoveryPrivateKey): MasterKey {
  const checked = parseKeySlot(slot);
  if (checked.kind !== "escrow") throw corrupt(`key slot is of kind ${checked.kind}, not escrow`);
  const fingerprint = recoveryKeyFingerprint(privateKey.publicKey);
  if (checked.recipient !== fingerprint) {
    throw new RempartError(
      "WrongPassword",
      `the recovery key does not match ${slotName(checked)}: the slot is sealed to recovery key ${checked.recipient}, this key is ${fingerprint}`,
      { expected: checked.recipient, actual: fingerprint },
    );
  }
  const ephemeralRaw = decodeBase64Exact(checked.ephemeralPublicKey, X25519_KEY_BYTES);
  if (ephemeralRaw === undefined) {
    throw corrupt(`${slotName(checked)} has a malformed ephemeral public key`);
  }
  const wrapped = wrappedBytes(checked);
  const kek = escrowKek(
    privateKey.key,
    importX25519PublicKey(ephemeralRaw),
    ephemeralRaw,
    privateKey.publicKey.raw,
  );
  if (kek === undefined) {
    throw corrupt(`${slotName(checked)} has an unusable ephemeral public key`);
  }
  return decodeMasterKey(open(kek, wrapped, slotAad(checked), `escrow ${slotName(checked)}`));
}

/**
 * Tries every slot the secret can open, in order. Slots that are damaged, of an unknown version
 * or not even slot-shaped are skipped (one bad object in `keys/` must not lock the owner out) and
 * named in the error if nothing opens.
 */
export async function openAnySlot(
  slots: readonly KeySlot[],
  secret: SlotSecret,
): Promise<{ masterKey: MasterKey; slotIndex: number }> {
  const { password, recoveryPrivateKey } = secret;
  if (password === undefined && recoveryPrivateKey === undefined) {
    throw new RempartError("InvalidArgument", "a password or a recovery private key is needed");
  }
  const damaged: number[] = [];
  for (const [slotIndex, slot] of slots.entries()) {
    try {
      // Slots usually arrive straight from JSON.parse, so their shape is checked before use.
      const checked = parseKeySlot(slot);
      if (checked.kind === "password" && password !== undefined) {
        return { masterKey: await openPasswordSlot(checked, password), slotIndex };
      }
      if (checked.kind === "escrow" && recoveryPrivateKey !== undefined) {
        return { masterKey: openEscrowSlot(checked, recoveryPrivateKey), slotIndex };
      }
    } catch (error) {
      if (isRempartError(error, "RepositoryCorrupt") || isRempartError(error, "Unsupported")) {
        damaged.push(slotIndex);
      } else if (!isRempartError(error, "WrongPassword")) {
        throw error;
      }
    }
  }
  const tried = password !== undefined ? "wrong password" : "wrong recovery key";
  const skipped =
    damaged.length === 0
      ? ""
      : ` (skipped ${damaged.length} damaged or unsupported key slot(s): #${damaged.join(", #")})`;
  throw new RempartError("WrongPassword", `${tried}: no key slot matches${skipped}`, {
    damagedSlots: damaged,
  });
}

/**
 * Checks that a value read from `keys/` (JSON.parse output) has the shape of a version-1 slot and
 * returns a copy holding only the known fields. KDF parameters out of bounds (MAX_SCRYPT) are
 * refused here, so a reader (or the server, validating an upload) never pays for them; encodings
 * of salt, keys and wrapped bytes are checked when opening.
 */
export function parseKeySlot(value: unknown): KeySlot {
  if (!isRecord(value)) throw corrupt("key slot is not a JSON object");
  if (value.version !== SLOT_VERSION) {
    if (typeof value.version === "number") {
      throw new RempartError(
        "Unsupported",
        `key slot version ${value.version} is not supported by this version of Rempart`,
      );
    }
    throw corrupt("key slot has no version");
  }
  const { kind, created, label, wrapped } = value;
  if (typeof created !== "string" || typeof label !== "string" || typeof wrapped !== "string") {
    throw corrupt("key slot lacks created, label or wrapped");
  }
  if (kind === "password") {
    const { kdf } = value;
    if (
      !isRecord(kdf) ||
      kdf.name !== "scrypt" ||
      typeof kdf.N !== "number" ||
      typeof kdf.r !== "number" ||
      typeof kdf.p !== "number" ||
      typeof kdf.salt !== "string"
    ) {
      throw corrupt(`${slotName({ label })} has malformed scrypt parameters`);
    }
    const { N, r, p, salt } = kdf;
    const problem = scryptCostProblem({ N, r, p });
    if (problem !== undefined)
      throw corrupt(`${slotName({ label })} has scrypt parameters out of bounds: ${problem}`);
    return { version: 1, kind, created, label, kdf: { name: "scrypt", N, r, p, salt }, wrapped };
  }
  if (kind === "escrow") {
    const { scheme, recipient, ephemeralPublicKey } = value;
    if (typeof scheme !== "string") throw corrupt(`${slotName({ label })} has no escrow scheme`);
    if (scheme !== ESCROW_SCHEME) {
      throw new RempartError(
        "Unsupported",
        `${slotName({ label })} uses escrow scheme ${JSON.stringify(scheme)}, this version knows only ${ESCROW_SCHEME}`,
      );
    }
    if (typeof recipient !== "string" || !FINGERPRINT.test(recipient)) {
      throw corrupt(`${slotName({ label })} has a malformed recipient fingerprint`);
    }
    if (typeof ephemeralPublicKey !== "string") {
      throw corrupt(`${slotName({ label })} has no ephemeral public key`);
    }
    return { version: 1, kind, created, label, scheme, recipient, ephemeralPublicKey, wrapped };
  }
  throw new RempartError(
    "Unsupported",
    `key slot kind ${JSON.stringify(kind)} is not supported by this version of Rempart`,
  );
}

/**
 * The AAD: UTF-8 of JSON.stringify of every field but `wrapped`, in this fixed order. Built
 * field by field so the bytes never depend on the order fields arrived in from storage.
 */
function slotAad(slot: Omit<PasswordSlot, "wrapped"> | Omit<EscrowSlot, "wrapped">): Uint8Array {
  const head = { version: slot.version, kind: slot.kind, created: slot.created, label: slot.label };
  const canonical =
    slot.kind === "password"
      ? {
          ...head,
          kdf: {
            name: slot.kdf.name,
            N: slot.kdf.N,
            r: slot.kdf.r,
            p: slot.kdf.p,
            salt: slot.kdf.salt,
          },
        }
      : {
          ...head,
          scheme: slot.scheme,
          recipient: slot.recipient,
          ephemeralPublicKey: slot.ephemeralPublicKey,
        };
  return Buffer.from(JSON.stringify(canonical), "utf8");
}

function scryptCostProblem({ N, r, p }: ScryptCost): string | undefined {
  // The range check comes first so that the bitwise power-of-two test sees a 32-bit integer.
  if (!Number.isInteger(N) || N < MIN_N || N > MAX_SCRYPT.N || (N & (N - 1)) !== 0) {
    return `N=${N} is not a power of two from 2^10 to 2^17`;
  }
  if (!Number.isInteger(r) || r < 1 || r > MAX_SCRYPT.r)
    return `r=${r} is not from 1 to ${MAX_SCRYPT.r}`;
  if (!Number.isInteger(p) || p < 1 || p > MAX_SCRYPT.p) return `p=${p} is not ${MAX_SCRYPT.p}`;
  if (128 * N * r > MAX_SCRYPT_MEMORY) return `N=${N}, r=${r} would need more than 128 MiB`;
  return undefined;
}

function deriveScryptKek(
  password: string,
  salt: Uint8Array,
  { N, r, p }: ScryptCost,
): Promise<Uint8Array> {
  // NFC, so the same password typed on macOS (decomposed) and elsewhere (composed) derives one key.
  const secret = password.normalize("NFC");
  // OpenSSL needs 128·r·(N + p + 2) bytes; twice 128·N·r covers that for every N we accept.
  const maxmem = 2 * 128 * N * r;
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, KEK_BYTES, { N, r, p, maxmem }, (error, key) => {
      if (error) reject(error);
      else resolve(key);
    });
  });
}

/** HKDF-SHA256(X25519 shared secret, salt = ephemeral || recipient public key, info). */
function escrowKek(
  privateKey: KeyObject,
  publicKey: KeyObject,
  ephemeralRaw: Uint8Array,
  recipientRaw: Uint8Array,
): Uint8Array | undefined {
  let shared: Uint8Array;
  try {
    shared = diffieHellman({ privateKey, publicKey });
  } catch {
    // OpenSSL refuses an all-zero shared secret, i.e. a low-order public key.
    return undefined;
  }
  const salt = Buffer.concat([ephemeralRaw, recipientRaw]);
  return new Uint8Array(hkdfSync("sha256", shared, salt, ESCROW_INFO, KEK_BYTES));
}

function wrappedBytes(slot: KeySlot): Uint8Array {
  const wrapped = decodeBase64Exact(slot.wrapped, WRAPPED_BYTES);
  if (wrapped === undefined) throw corrupt(`${slotName(slot)} has a malformed wrapped key`);
  return wrapped;
}

/** Labels come from storage: quoted as JSON so control characters cannot reach a terminal raw. */
function slotName({ label }: { label: string }): string {
  return `key slot ${JSON.stringify(label)}`;
}

function corrupt(message: string): RempartError {
  return new RempartError("RepositoryCorrupt", message);
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
