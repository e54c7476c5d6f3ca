/**
 * Index objects: which blobs each pack holds, so a reader finds a blob without opening packs.
 * Binary rather than JSON because a 1.4 GB share already yields ~60k entries.
 *
 *   seal("RIDX" || u8 version || u32le packCount ||
 *        packCount × (pack sha256 (32) || u32le blobCount || blobCount × entry (46)))
 *   entry = u8 type || u8 compressed || id (32) || u32le offset || u32le length || u32le rawLength
 *
 * An index is an accelerator, not the truth: every pack carries its own sealed header, and
 * `check` compares the two.
 */
import { open, seal } from "../crypto/aead.js";
import { fromHex, toHex } from "../crypto/blob-id.js";
import { RempartError } from "../errors.js";
import { entrySize, type PackEntry, readEntry, writeEntry } from "./blob-entry.js";

export interface IndexedPack {
  readonly pack: string;
  readonly blobs: readonly PackEntry[];
}

const MAGIC = Buffer.from("RIDX");
const VERSION = 1;
const PREFIX = 9;
const PACK_PREFIX = 36;
const ENTRY_SIZE = entrySize("index");
const AAD = Buffer.from("rempart index v1");

export function encodeIndex(encryptionKey: Uint8Array, packs: readonly IndexedPack[]): Uint8Array {
  const blobCount = packs.reduce((sum, pack) => sum + pack.blobs.length, 0);
  const out = Buffer.alloc(PREFIX + packs.length * PACK_PREFIX + blobCount * ENTRY_SIZE);
  MAGIC.copy(out, 0);
  out[4] = VERSION;
  out.writeUInt32LE(packs.length, 5);
  let at = PREFIX;
  for (const { pack, blobs } of packs) {
    out.set(fromHex(pack), at);
    out.writeUInt32LE(blobs.length, at + 32);
    at += PACK_PREFIX;
    for (const blob of blobs) at = writeEntry(out, at, blob, "index");
  }
  return seal(encryptionKey, out, AAD);
}

export function decodeIndex(
  encryptionKey: Uint8Array,
  sealed: Uint8Array,
  name: string,
): IndexedPack[] {
  const plain = open(encryptionKey, sealed, AAD, `index ${name}`);
  const bytes = Buffer.from(plain.buffer, plain.byteOffset, plain.byteLength);
  const corrupt = (why: string) =>
    new RempartError("RepositoryCorrupt", `index ${name}: ${why}`, { index: name });
  if (bytes.length < PREFIX || !bytes.subarray(0, 4).equals(MAGIC)) throw corrupt("no index magic");
  if (bytes[4] !== VERSION) throw corrupt(`unsupported index version ${bytes[4]}`);
  const packCount = bytes.readUInt32LE(5);
  const packs: IndexedPack[] = [];
  let at = PREFIX;
  for (let p = 0; p < packCount; p++) {
    if (at + PACK_PREFIX > bytes.length) throw corrupt("truncated");
    const pack = toHex(bytes.subarray(at, at + 32));
    const count = bytes.readUInt32LE(at + 32);
    at += PACK_PREFIX;
    if (at + count * ENTRY_SIZE > bytes.length) throw corrupt("truncated");
    const blobs: PackEntry[] = [];
    for (let b = 0; b < count; b++, at += ENTRY_SIZE) {
      const entry = readEntry(bytes, at, "index");
      if (typeof entry === "string") throw corrupt(`entry ${b} of pack ${pack} ${entry}`);
      blobs.push(entry);
    }
    packs.push({ pack, blobs });
  }
  if (at !== bytes.length) throw corrupt("trailing bytes");
  return packs;
}
