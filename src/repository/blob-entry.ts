/**
 * The one encoding of a blob's entry, shared by pack headers and index objects (docs/FORMAT.md):
 *
 *   u8 type || u8 storage || id (32) || [u32le offset] || u32le sealed length || u32le plaintext length
 *
 * storage: 0 the plaintext, 1 its own zstd frame, 2 in a frame of several blobs (frame.ts), whose
 * sealed bytes the offset and length locate; in a pack header only, 3: in the same frame as the
 * entry before it (a header's offsets are implied, so a frame's later blobs must say so).
 *
 * A pack header leaves the offset out (it is the running sum of sealed lengths); an index writes
 * it. Both are read by the same strict decoder: an entry is sealed by anyone holding the password,
 * so a flag byte other than 0 or 1, a length shorter than a seal, or a plaintext length no writer
 * produces refuses the object that holds it, wherever it is met.
 */
import { SEAL_OVERHEAD } from "../crypto/aead.js";
import { fromHex, toHex } from "../crypto/blob-id.js";
import { MAX_FRAME_PLAINTEXT } from "./frame.js";

export type BlobType = "data" | "tree";

export interface PackEntry {
  readonly type: BlobType;
  /** hex keyed id of the plaintext */
  readonly id: string;
  readonly offset: number;
  /** sealed length in the pack */
  readonly length: number;
  /** plaintext length */
  readonly rawLength: number;
  /** compressed with zstd, alone or (framed) in a frame */
  readonly compressed: boolean;
  /** stored in a frame with other blobs: offset and length locate the sealed frame */
  readonly framed?: boolean;
}

const RAW = 0;
const ZSTD = 1;
const FRAMED = 2;
const FRAMED_CONTINUED = 3;

/**
 * Largest plaintext a blob may claim. Data chunks are at most the chunker's maximum (1 MiB);
 * a tree is one directory's listing, ~300 bytes per entry. A claimed length is what a reader
 * allocates before decompressing, and an index or header (sealed by anyone with the password)
 * chooses it, so it is bounded: 256 MiB is a directory of ~800,000 entries.
 */
export const MAX_BLOB_PLAINTEXT = 256 * 1024 * 1024;

/** Where an entry is met: a pack header (offset implied) or an index (offset written). */
export type EntryLayout = "header" | "index";

const ID_AT = 2;
const ID_BYTES = 32;

export function entrySize(layout: EntryLayout): number {
  return layout === "index" ? 46 : 42;
}

/**
 * Writes `entry` at `at`; returns where the next entry starts. `continuesFrame`: in a header, the
 * entry is in the same frame as the one written before it.
 */
export function writeEntry(
  out: Buffer,
  at: number,
  entry: PackEntry,
  layout: EntryLayout,
  continuesFrame = false,
): number {
  out[at] = entry.type === "tree" ? 1 : 0;
  out[at + 1] = entry.framed
    ? layout === "header" && continuesFrame
      ? FRAMED_CONTINUED
      : FRAMED
    : entry.compressed
      ? ZSTD
      : RAW;
  out.set(fromHex(entry.id), at + ID_AT);
  let field = at + ID_AT + ID_BYTES;
  if (layout === "index") {
    out.writeUInt32LE(entry.offset, field);
    field += 4;
  }
  out.writeUInt32LE(entry.length, field);
  out.writeUInt32LE(entry.rawLength, field + 4);
  return at + entrySize(layout);
}

/**
 * Why the entry at `at` is refused (the caller has checked that `entrySize(layout)` bytes are
 * there), as a phrase that follows the entry's name ("entry 3 of pack …"); undefined when it is
 * well-formed. The one strict check, for entries read as objects (readEntry) and for entries an
 * index keeps encoded (EntryList).
 */
export function entryFault(bytes: Uint8Array, at: number, layout: EntryLayout): string | undefined {
  const type = bytes[at];
  const storage = bytes[at + 1] as number;
  const lastStorage = layout === "header" ? FRAMED_CONTINUED : FRAMED;
  if ((type !== 0 && type !== 1) || storage > lastStorage) return "has invalid flags";
  const field = at + ID_AT + ID_BYTES + (layout === "index" ? 4 : 0);
  if (readU32(bytes, field) < SEAL_OVERHEAD) return "is shorter than a sealed blob";
  const rawLength = readU32(bytes, field + 4);
  if (rawLength > MAX_BLOB_PLAINTEXT) return "claims a blob larger than any Rempart writes";
  if (storage >= FRAMED && rawLength > MAX_FRAME_PLAINTEXT)
    return "claims a framed blob larger than any frame";
  return undefined;
}

/** Whether the header entry at `at` is in the same frame as the entry before it. */
export function continuesFrame(bytes: Uint8Array, at: number): boolean {
  return bytes[at + 1] === FRAMED_CONTINUED;
}

/** Whether the entry at `at` (either layout) is stored in a frame. */
export function isFramed(bytes: Uint8Array, at: number): boolean {
  return (bytes[at + 1] as number) >= FRAMED;
}

/**
 * Reads the entry at `at` (the caller has checked that `entrySize(layout)` bytes are there). A
 * header entry's offset is `impliedOffset`. Returns why the entry is refused (see entryFault)
 * instead of an entry. `knownId`: the entry's id in hex, when the caller found the entry by it
 * (an index lookup), which spares making the string again.
 */
export function readEntry(
  bytes: Buffer,
  at: number,
  layout: EntryLayout,
  impliedOffset = 0,
  knownId?: string,
): PackEntry | string {
  const fault = entryFault(bytes, at, layout);
  if (fault !== undefined) return fault;
  let field = at + ID_AT + ID_BYTES;
  let offset = impliedOffset;
  if (layout === "index") {
    offset = bytes.readUInt32LE(field);
    field += 4;
  }
  const storage = bytes[at + 1] as number;
  const entry: { -readonly [K in keyof PackEntry]: PackEntry[K] } = {
    type: bytes[at] === 1 ? "tree" : "data",
    compressed: storage !== RAW,
    id: knownId ?? toHex(bytes.subarray(at + ID_AT, at + ID_AT + ID_BYTES)),
    offset,
    length: bytes.readUInt32LE(field),
    rawLength: bytes.readUInt32LE(field + 4),
  };
  // Only when set, so that an entry of a lone blob reads as it did before frames existed.
  if (storage >= FRAMED) entry.framed = true;
  return entry;
}

function readU32(bytes: Uint8Array, at: number): number {
  return (
    ((bytes[at] as number) | ((bytes[at + 1] as number) << 8) | ((bytes[at + 2] as number) << 16)) +
    (bytes[at + 3] as number) * 0x1000000
  );
}
