import {
  createHash,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  type KeyObject,
} from "node:crypto";
import { RempartError } from "../errors.js";

/**
 * The MSP's recovery key pair (X25519). Agents escrow every repository's master key to the public
 * half; the private half stays offline, as one line of text a person can print or store in a safe.
 */
export interface RecoveryPublicKey {
  readonly key: KeyObject;
  /** The raw 32-byte u-coordinate (RFC 7748): carried by the text form, hashed by fingerprints. */
  readonly raw: Uint8Array;
}

export interface RecoveryPrivateKey {
  readonly key: KeyObject;
  readonly publicKey: RecoveryPublicKey;
}

const KEY_BYTES = 32;
const PUBLIC_PREFIX = "rempart-recovery-public-v1:";
const PRIVATE_PREFIX = "rempart-recovery-private-v1:";
// RFC 8410 PKCS#8 header for an X25519 private key. A private JWK must carry its public `x`,
// which cannot be computed before the key is imported, so the private key is imported from DER.
const PKCS8_X25519_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");

export function generateRecoveryKeyPair(): {
  publicKey: RecoveryPublicKey;
  privateKey: RecoveryPrivateKey;
} {
  const pair = generateKeyPairSync("x25519");
  const publicKey = { key: pair.publicKey, raw: rawX25519PublicKey(pair.publicKey) };
  return { publicKey, privateKey: { key: pair.privateKey, publicKey } };
}

/** Lowercase hex SHA-256 of the raw public key: names the recipient inside escrow slots. */
export function recoveryKeyFingerprint(publicKey: RecoveryPublicKey): string {
  return createHash("sha256").update(publicKey.raw).digest("hex");
}

export function formatRecoveryPublicKey(publicKey: RecoveryPublicKey): string {
  return PUBLIC_PREFIX + Buffer.from(publicKey.raw).toString("base64");
}

export function formatRecoveryPrivateKey(privateKey: RecoveryPrivateKey): string {
  const d = privateKey.key.export({ format: "jwk" }).d;
  if (d === undefined) throw new RempartError("InvalidArgument", "not an X25519 private key");
  return PRIVATE_PREFIX + Buffer.from(d, "base64url").toString("base64");
}

export function parseRecoveryPublicKey(text: string): RecoveryPublicKey {
  const raw = parseKeyLine(text, PUBLIC_PREFIX, "public");
  const publicKey = { key: importX25519PublicKey(raw), raw };
  // A low-order point would give every escrow slot an all-zero shared secret, known to anyone.
  if (!canAgreeWith(publicKey.key)) {
    throw new RempartError(
      "InvalidArgument",
      "this recovery public key is not a usable X25519 key (it is a low-order point)",
    );
  }
  return publicKey;
}

export function parseRecoveryPrivateKey(text: string): RecoveryPrivateKey {
  const raw = parseKeyLine(text, PRIVATE_PREFIX, "private");
  const key = createPrivateKey({
    key: Buffer.concat([PKCS8_X25519_PREFIX, raw]),
    format: "der",
    type: "pkcs8",
  });
  const publicKey = createPublicKey(key);
  return { key, publicKey: { key: publicKey, raw: rawX25519PublicKey(publicKey) } };
}

export function importX25519PublicKey(raw: Uint8Array): KeyObject {
  return createPublicKey({
    key: { kty: "OKP", crv: "X25519", x: Buffer.from(raw).toString("base64url") },
    format: "jwk",
  });
}

export function rawX25519PublicKey(key: KeyObject): Uint8Array {
  const x = key.export({ format: "jwk" }).x;
  if (x === undefined) throw new RempartError("InvalidArgument", "not an X25519 key");
  return new Uint8Array(Buffer.from(x, "base64url"));
}

/**
 * Strict base64 (standard alphabet, padded, no whitespace) of exactly `length` bytes, else
 * undefined. Buffer.from alone would silently skip invalid characters and accept odd lengths.
 */
export function decodeBase64Exact(text: string, length: number): Uint8Array | undefined {
  const bytes = Buffer.from(text, "base64");
  if (bytes.length !== length || bytes.toString("base64") !== text) return undefined;
  return new Uint8Array(bytes);
}

function parseKeyLine(text: string, prefix: string, half: "public" | "private"): Uint8Array {
  const line = text.trim();
  const raw = line.startsWith(prefix)
    ? decodeBase64Exact(line.slice(prefix.length), KEY_BYTES)
    : undefined;
  if (raw === undefined) {
    throw new RempartError(
      "InvalidArgument",
      `expected a recovery ${half} key: one line "${prefix}" followed by the base64 of ${KEY_BYTES} bytes`,
    );
  }
  return raw;
}

function canAgreeWith(publicKey: KeyObject): boolean {
  try {
    diffieHellman({ privateKey: generateKeyPairSync("x25519").privateKey, publicKey });
    return true;
  } catch {
    return false;
  }
}
