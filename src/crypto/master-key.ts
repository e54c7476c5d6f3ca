import { randomBytes } from "node:crypto";
import { RempartError } from "../errors.js";

/**
 * The repository's one secret. Key slots wrap it; everything else in the repository is sealed or
 * identified with it. Two independent keys so that knowing blob ids never helps against the cipher.
 */
export interface MasterKey {
  /** 32 bytes, the AES-256-GCM key for every sealed object. */
  readonly encryption: Uint8Array;
  /** 32 bytes, the HMAC-SHA256 key for keyed blob ids. */
  readonly id: Uint8Array;
}

const PART_BYTES = 32;
export const MASTER_KEY_BYTES = 2 * PART_BYTES;

export function generateMasterKey(): MasterKey {
  return { encryption: randomBytes(PART_BYTES), id: randomBytes(PART_BYTES) };
}

/** `encryption (32) || id (32)`: the plaintext that key slots wrap. */
export function encodeMasterKey(key: MasterKey): Uint8Array {
  const bytes = new Uint8Array(MASTER_KEY_BYTES);
  bytes.set(key.encryption, 0);
  bytes.set(key.id, PART_BYTES);
  return bytes;
}

export function decodeMasterKey(bytes: Uint8Array): MasterKey {
  if (bytes.length !== MASTER_KEY_BYTES) {
    throw new RempartError(
      "RepositoryCorrupt",
      `master key is ${bytes.length} bytes, expected ${MASTER_KEY_BYTES}`,
      { length: bytes.length },
    );
  }
  // Copies (Buffer#slice would not), so the key never aliases a buffer the caller reuses or wipes.
  return {
    encryption: new Uint8Array(bytes.subarray(0, PART_BYTES)),
    id: new Uint8Array(bytes.subarray(PART_BYTES)),
  };
}
