/**
 * Pack files: many sealed blobs in one object, so small files never become small objects.
 *
 *   blob_1 || ... || blob_n || seal(header) || u32le(length of seal(header))
 *
 * Each blob is seal(encryption key, payload, aad = id || compressed || type). Binding the id, the
 * compression flag and the type into the AAD means a reader cannot be tricked into accepting a
 * blob under another id or flag without failing authentication. The header lists the blobs in
 * order; offsets are implied by the cumulative lengths. docs/FORMAT.md is the normative layout.
 */
import { createHash, type Hash, randomBytes } from "node:crypto";
import { closeSync, openSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { open, SEAL_OVERHEAD, seal, sealInto } from "../crypto/aead.js";
import { toHex } from "../crypto/blob-id.js";
import { RempartError } from "../errors.js";
import { contentName } from "../storage/object-store.js";
import {
  type BlobType,
  continuesFrame,
  entrySize,
  type PackEntry,
  readEntry,
  writeEntry,
} from "./blob-entry.js";
import type { EntryList } from "./entry-list.js";
import { frameAad } from "./frame.js";

export { type BlobType, MAX_BLOB_PLAINTEXT, type PackEntry } from "./blob-entry.js";

const HEADER_MAGIC = Buffer.from("RPAK");
const HEADER_VERSION = 1;
const HEADER_PREFIX = 9;
export const HEADER_ENTRY_SIZE = entrySize("header");
const HEADER_AAD = Buffer.from("rempart pack header v1");
const TRAILER_SIZE = 4;
/** Largest header a reader accepts before allocating: ~400k blobs, far above any real pack. */
const MAX_HEADER = 16 * 1024 * 1024;
/** The smallest well-formed pack: an empty sealed header and its trailer. */
const MIN_PACK = HEADER_PREFIX + SEAL_OVERHEAD + 4;

export function blobAad(id: Uint8Array, type: BlobType, compressed: boolean): Uint8Array {
  const aad = Buffer.allocUnsafe(34);
  aad.set(id, 0);
  aad[32] = compressed ? 1 : 0;
  aad[33] = type === "tree" ? 1 : 0;
  return aad;
}

function encodeHeader(entries: readonly PackEntry[]): Buffer {
  const out = Buffer.allocUnsafe(HEADER_PREFIX + entries.length * HEADER_ENTRY_SIZE);
  HEADER_MAGIC.copy(out, 0);
  out[4] = HEADER_VERSION;
  out.writeUInt32LE(entries.length, 5);
  let at = HEADER_PREFIX;
  let previous: PackEntry | undefined;
  for (const entry of entries) {
    at = writeEntry(out, at, entry, "header", sameFrame(previous, entry));
    previous = entry;
  }
  return out;
}

/** Whether two entries are blobs of one frame (the writer gives a frame's blobs its location). */
function sameFrame(a: PackEntry | undefined, b: PackEntry): boolean {
  return a?.framed === true && b.framed === true && a.offset === b.offset;
}

/** The entries of a frame sealed at `offset` in `length` bytes, one per blob, in its order. */
function frameEntries(
  type: BlobType,
  frame: SealedFrameContent,
  offset: number,
  length: number,
): PackEntry[] {
  return frame.ids.map((id, i) => ({
    type,
    id: toHex(id),
    offset,
    length,
    rawLength: frame.lengths[i] as number,
    compressed: true,
    framed: true,
  }));
}

/** A frame's compressed plaintext (frame.ts) and the ids and lengths of its blobs, in order. */
export interface SealedFrameContent {
  readonly payload: Uint8Array;
  readonly ids: readonly Uint8Array[];
  readonly lengths: readonly number[];
}

function corrupt(packName: string, why: string): RempartError {
  return new RempartError("RepositoryCorrupt", `pack ${packName}: ${why}`, { pack: packName });
}

function decodeHeader(plain: Uint8Array, packName: string, blobArea: number): PackEntry[] {
  const header = Buffer.from(plain.buffer, plain.byteOffset, plain.byteLength);
  if (header.length < HEADER_PREFIX || !header.subarray(0, 4).equals(HEADER_MAGIC))
    throw corrupt(packName, "header has no pack magic");
  if (header[4] !== HEADER_VERSION)
    throw corrupt(packName, `unsupported pack header version ${header[4]}`);
  const count = header.readUInt32LE(5);
  if (header.length !== HEADER_PREFIX + count * HEADER_ENTRY_SIZE)
    throw corrupt(packName, "header length does not match its entry count");
  const entries: PackEntry[] = [];
  let offset = 0;
  for (let i = 0, at = HEADER_PREFIX; i < count; i++, at += HEADER_ENTRY_SIZE) {
    const previous = entries[i - 1];
    const continued = continuesFrame(header, at);
    const entry = readEntry(header, at, "header", continued ? previous?.offset : offset);
    if (typeof entry === "string") throw corrupt(packName, `header entry ${i} ${entry}`);
    if (continued && (previous?.framed !== true || previous.length !== entry.length))
      throw corrupt(packName, `header entry ${i} continues a frame that is not there`);
    entries.push(entry);
    if (!continued) offset += entry.length;
  }
  if (offset !== blobArea) throw corrupt(packName, "header does not account for the blob area");
  return entries;
}

/**
 * Refuses a pack too small to hold a header before anything is read from it: the trailer's
 * offset would be negative (a 3-byte pack asked for bytes at -1).
 */
export function checkPackSize(packSize: number, packName: string): void {
  if (!Number.isSafeInteger(packSize) || packSize < MIN_PACK)
    throw corrupt(packName, `too short to be a pack (${packSize} bytes)`);
}

/** The exact size of a pack holding `entries`: blob area, sealed header, trailer. */
export function packSizeFor(entries: readonly PackEntry[]): number {
  const blobArea = entries.reduce((sum, blob) => Math.max(sum, blob.offset + blob.length), 0);
  return blobArea + HEADER_PREFIX + entries.length * HEADER_ENTRY_SIZE + SEAL_OVERHEAD + 4;
}

/**
 * Whether entries (an index's claim) are laid out as a writer lays out a pack of `packSize`
 * bytes: offsets the running sum of sealed lengths from 0, and exactly that size. An index that
 * passes can still lie about ids (each blob read catches that); one that fails is not used
 * without reading the pack's own header.
 */
export function claimFitsPack(entries: EntryList, packSize: number): boolean {
  let offset = 0;
  for (let i = 0; i < entries.length; i++) {
    const length = entries.sealedLength(i);
    // A frame's later blobs repeat its location; any other entry starts where the last ended.
    const continued =
      i > 0 &&
      entries.isFramed(i) &&
      entries.isFramed(i - 1) &&
      entries.offset(i) === entries.offset(i - 1) &&
      length === entries.sealedLength(i - 1);
    if (continued) continue;
    if (entries.offset(i) !== offset || length < SEAL_OVERHEAD) return false;
    offset += length;
  }
  return (
    packSize === offset + HEADER_PREFIX + entries.length * HEADER_ENTRY_SIZE + SEAL_OVERHEAD + 4
  );
}

/** Where the sealed header sits, given the last 4 bytes of a pack of `packSize` bytes. */
export function locateHeader(
  trailer: Uint8Array,
  packSize: number,
  packName: string,
): { offset: number; length: number } {
  checkPackSize(packSize, packName);
  if (trailer.length !== TRAILER_SIZE) throw corrupt(packName, "trailer is not 4 bytes");
  const length = Buffer.from(trailer.buffer, trailer.byteOffset, TRAILER_SIZE).readUInt32LE(0);
  if (length < SEAL_OVERHEAD || length > MAX_HEADER || length > packSize - TRAILER_SIZE)
    throw corrupt(packName, "trailer names an impossible header length (truncated pack?)");
  return { offset: packSize - TRAILER_SIZE - length, length };
}

export function openHeader(
  encryptionKey: Uint8Array,
  sealedHeader: Uint8Array,
  headerOffset: number,
  packName: string,
): PackEntry[] {
  const plain = open(encryptionKey, sealedHeader, HEADER_AAD, `header of pack ${packName}`);
  return decodeHeader(plain, packName, headerOffset);
}

export const PACK_TRAILER_SIZE = TRAILER_SIZE;

export interface FinishedPack {
  /** hex SHA-256 of the bytes: the pack's object name */
  readonly name: string;
  readonly bytes: Uint8Array;
  readonly entries: readonly PackEntry[];
}

/**
 * Assembles one pack in a single growable buffer: blobs are sealed straight into it, so a blob's
 * bytes are copied once between compression and storage.
 */
export class PackBuilder {
  private buffer: Uint8Array;
  private used = 0;
  private entries: PackEntry[] = [];

  constructor(
    private readonly encryptionKey: Uint8Array,
    initialCapacity: number,
  ) {
    this.buffer = new Uint8Array(initialCapacity);
  }

  get size(): number {
    return this.used;
  }

  get blobCount(): number {
    return this.entries.length;
  }

  private reserve(extra: number): void {
    if (this.used + extra <= this.buffer.length) return;
    const grown = new Uint8Array(Math.max(this.buffer.length * 2, this.used + extra));
    grown.set(this.buffer.subarray(0, this.used));
    this.buffer = grown;
  }

  add(
    type: BlobType,
    id: Uint8Array,
    payload: Uint8Array,
    rawLength: number,
    compressed: boolean,
  ): void {
    this.reserve(payload.length + SEAL_OVERHEAD);
    const aad = blobAad(id, type, compressed);
    const length = sealInto(this.encryptionKey, payload, aad, this.buffer, this.used);
    this.entries.push({ type, id: toHex(id), offset: this.used, length, rawLength, compressed });
    this.used += length;
  }

  /** Seals a frame of several blobs (frame.ts) as one payload, with an entry per blob. */
  addFrame(type: BlobType, frame: SealedFrameContent): void {
    this.reserve(frame.payload.length + SEAL_OVERHEAD);
    const length = sealInto(
      this.encryptionKey,
      frame.payload,
      frameAad(type),
      this.buffer,
      this.used,
    );
    this.entries.push(...frameEntries(type, frame, this.used, length));
    this.used += length;
  }

  /**
   * Appends header and trailer and returns the pack. The builder then starts afresh in `next`
   * (a buffer handed back after the previous pack was stored), or in a new buffer.
   */
  finish(next?: Uint8Array): FinishedPack {
    const sealedHeader = seal(this.encryptionKey, encodeHeader(this.entries), HEADER_AAD);
    this.reserve(sealedHeader.length + TRAILER_SIZE);
    this.buffer.set(sealedHeader, this.used);
    this.used += sealedHeader.length;
    Buffer.from(this.buffer.buffer, this.buffer.byteOffset + this.used, TRAILER_SIZE).writeUInt32LE(
      sealedHeader.length,
      0,
    );
    this.used += TRAILER_SIZE;
    const bytes = this.buffer.subarray(0, this.used);
    const pack = {
      name: contentName(bytes),
      bytes,
      entries: this.entries,
    };
    this.buffer = next ?? new Uint8Array(this.buffer.length);
    this.used = 0;
    this.entries = [];
    return pack;
  }
}

/** A pack written to a file as it was built (see PackSpooler). */
export interface SpooledPack {
  /** hex SHA-256 of the file's bytes: the pack's object name */
  readonly name: string;
  readonly path: string;
  readonly size: number;
  readonly entries: readonly PackEntry[];
}

/** Sealed blobs gather in memory up to this much before one write(2) (and one hash update). */
const SPOOL_WRITE_BYTES = 1024 * 1024;
/** Spooled files are read-only from the start: a store links them into place as they are. */
const SPOOL_FILE_MODE = 0o400;

/**
 * Builds packs like PackBuilder but writes each one to a new file in `dir` as its blobs are
 * sealed, hashing on the way, as restic does: a pack then costs a 1 MiB staging buffer instead of
 * its whole size, and the store moves or streams the finished file. Synchronous I/O: it runs in a
 * blob worker, where blocking on the page cache costs less than queueing buffers.
 */
export class PackSpooler {
  private staging = new Uint8Array(SPOOL_WRITE_BYTES);
  private staged = 0;
  private written = 0;
  private entries: PackEntry[] = [];
  private file: { fd: number; path: string; hash: Hash } | undefined;

  constructor(
    private readonly encryptionKey: Uint8Array,
    private readonly dir: string,
    /** told the path of each file before a byte is written, so a caller can clean up after a failure */
    private readonly onCreate: (path: string) => void = () => undefined,
  ) {}

  get size(): number {
    return this.written + this.staged;
  }

  get blobCount(): number {
    return this.entries.length;
  }

  private open(): { fd: number; path: string; hash: Hash } {
    if (this.file) return this.file;
    const path = join(this.dir, randomBytes(16).toString("hex"));
    this.onCreate(path);
    // "wx": O_EXCL, so a spooled file never shares its name with another put's temp file.
    const fd = openSync(path, "wx", SPOOL_FILE_MODE);
    this.file = { fd, path, hash: createHash("sha256") };
    return this.file;
  }

  private flushStaging(): void {
    if (this.staged === 0) return;
    const file = this.open();
    const bytes = this.staging.subarray(0, this.staged);
    file.hash.update(bytes);
    for (let done = 0; done < bytes.length; )
      done += writeSync(file.fd, bytes, done, bytes.length - done, this.written + done);
    this.written += bytes.length;
    this.staged = 0;
  }

  private reserve(length: number): void {
    if (this.staged + length > this.staging.length) this.flushStaging();
    // Only a blob larger than the staging buffer grows it (up to the chunker's largest chunk).
    if (length > this.staging.length) this.staging = new Uint8Array(length);
  }

  add(
    type: BlobType,
    id: Uint8Array,
    payload: Uint8Array,
    rawLength: number,
    compressed: boolean,
  ): void {
    this.open();
    this.reserve(payload.length + SEAL_OVERHEAD);
    const aad = blobAad(id, type, compressed);
    const offset = this.size;
    const length = sealInto(this.encryptionKey, payload, aad, this.staging, this.staged);
    this.entries.push({ type, id: toHex(id), offset, length, rawLength, compressed });
    this.staged += length;
    if (this.staged >= SPOOL_WRITE_BYTES) this.flushStaging();
  }

  /** Seals a frame of several blobs (frame.ts) as one payload, with an entry per blob. */
  addFrame(type: BlobType, frame: SealedFrameContent): void {
    this.open();
    this.reserve(frame.payload.length + SEAL_OVERHEAD);
    const offset = this.size;
    const length = sealInto(
      this.encryptionKey,
      frame.payload,
      frameAad(type),
      this.staging,
      this.staged,
    );
    this.entries.push(...frameEntries(type, frame, offset, length));
    this.staged += length;
    if (this.staged >= SPOOL_WRITE_BYTES) this.flushStaging();
  }

  /** Appends header and trailer, closes the file and returns it; the next blob starts a new one. */
  finish(): SpooledPack {
    const sealedHeader = seal(this.encryptionKey, encodeHeader(this.entries), HEADER_AAD);
    this.reserve(sealedHeader.length + TRAILER_SIZE);
    this.staging.set(sealedHeader, this.staged);
    this.staged += sealedHeader.length;
    Buffer.from(
      this.staging.buffer,
      this.staging.byteOffset + this.staged,
      TRAILER_SIZE,
    ).writeUInt32LE(sealedHeader.length, 0);
    this.staged += TRAILER_SIZE;
    this.flushStaging();
    const file = this.open();
    closeSync(file.fd);
    const pack = {
      name: file.hash.digest("hex"),
      path: file.path,
      size: this.written,
      entries: this.entries,
    };
    this.file = undefined;
    this.written = 0;
    this.entries = [];
    return pack;
  }

  /** Closes and removes the file being written, if any. */
  abandon(): void {
    const file = this.file;
    this.file = undefined;
    this.written = 0;
    this.staged = 0;
    this.entries = [];
    if (!file) return;
    closeSync(file.fd);
    rmSync(file.path, { force: true });
  }
}
