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
import { entrySize, type PackEntry, writeEntry } from "./blob-entry.js";
import { EntryList } from "./entry-list.js";

/**
 * A pack's entries to write into an index object: objects, or the encoded list an index already
 * holds (a backup's index saves copy those bytes instead of decoding and re-encoding them).
 */
export interface IndexedPack {
  readonly pack: string;
  readonly blobs: readonly PackEntry[] | EntryList;
}

/** A pack's entries as read from an index object: encoded, in place in its plaintext. */
export interface ListedPack {
  readonly pack: string;
  readonly entries: EntryList;
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
    if (blobs instanceof EntryList) at = blobs.copyTo(out, at);
    else for (const blob of blobs) at = writeEntry(out, at, blob, "index");
  }
  return seal(encryptionKey, out, AAD);
}

/**
 * Opens and validates an index object whole (any refused entry refuses the object), keeping its
 * entries in the plaintext rather than as objects (see EntryList).
 */
export function decodeIndex(
  encryptionKey: Uint8Array,
  sealed: Uint8Array,
  name: string,
): ListedPack[] {
  const plain = open(encryptionKey, sealed, AAD, `index ${name}`);
  const bytes = Buffer.from(plain.buffer, plain.byteOffset, plain.byteLength);
  const corrupt = (why: string) =>
    new RempartError("RepositoryCorrupt", `index ${name}: ${why}`, { index: name });
  if (bytes.length < PREFIX || !bytes.subarray(0, 4).equals(MAGIC)) throw corrupt("no index magic");
  if (bytes[4] !== VERSION) throw corrupt(`unsupported index version ${bytes[4]}`);
  const packCount = bytes.readUInt32LE(5);
  const packs: ListedPack[] = [];
  let at = PREFIX;
  for (let p = 0; p < packCount; p++) {
    if (at + PACK_PREFIX > bytes.length) throw corrupt("truncated");
    const pack = toHex(bytes.subarray(at, at + 32));
    const count = bytes.readUInt32LE(at + 32);
    at += PACK_PREFIX;
    if (at + count * ENTRY_SIZE > bytes.length) throw corrupt("truncated");
    const entries = EntryList.parse(bytes, at, count);
    if (!(entries instanceof EntryList))
      throw corrupt(`entry ${entries.entry} of pack ${pack} ${entries.why}`);
    packs.push({ pack, entries });
    at += count * ENTRY_SIZE;
  }
  if (at !== bytes.length) throw corrupt("trailing bytes");
  return packs;
}
