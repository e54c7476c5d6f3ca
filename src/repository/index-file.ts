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
import { open, SEAL_OVERHEAD, seal } from "../crypto/aead.js";
import { fromHex, toHex } from "../crypto/blob-id.js";
import { RempartError } from "../errors.js";
import { MAX_BLOB_PLAINTEXT, type PackEntry } from "./pack.js";

export interface IndexedPack {
  readonly pack: string;
  readonly blobs: readonly PackEntry[];
}

const MAGIC = Buffer.from("RIDX");
const VERSION = 1;
const PREFIX = 9;
const PACK_PREFIX = 36;
const ENTRY_SIZE = 46;
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
    for (const blob of blobs) {
      out[at] = blob.type === "tree" ? 1 : 0;
      out[at + 1] = blob.compressed ? 1 : 0;
      out.set(fromHex(blob.id), at + 2);
      out.writeUInt32LE(blob.offset, at + 34);
      out.writeUInt32LE(blob.length, at + 38);
      out.writeUInt32LE(blob.rawLength, at + 42);
      at += ENTRY_SIZE;
    }
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
      const type = bytes[at];
      const compressed = bytes[at + 1];
      if ((type !== 0 && type !== 1) || (compressed !== 0 && compressed !== 1))
        throw corrupt(`entry ${b} of pack ${pack} has invalid flags`);
      if (bytes.readUInt32LE(at + 38) < SEAL_OVERHEAD)
        throw corrupt(`entry ${b} of pack ${pack} is shorter than a sealed blob`);
      if (bytes.readUInt32LE(at + 42) > MAX_BLOB_PLAINTEXT)
        throw corrupt(`entry ${b} of pack ${pack} claims a blob larger than any Rempart writes`);
      blobs.push({
        type: type === 1 ? "tree" : "data",
        compressed: compressed === 1,
        id: toHex(bytes.subarray(at + 2, at + 34)),
        offset: bytes.readUInt32LE(at + 34),
        length: bytes.readUInt32LE(at + 38),
        rawLength: bytes.readUInt32LE(at + 42),
      });
    }
    packs.push({ pack, blobs });
  }
  if (at !== bytes.length) throw corrupt("trailing bytes");
  return packs;
}
