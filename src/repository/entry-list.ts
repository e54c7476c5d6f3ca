/**
 * A pack's entries as an index object encodes them (blob-entry.ts, "index" layout: 46 bytes an
 * entry), read in place. The index is the one structure that grows with the repository: decoding
 * every entry into a PackEntry with a hex id cost ~150 bytes a blob on top of the blob index, so
 * a decrypted index object is kept as its plaintext, validated once, and an entry becomes an
 * object only when someone asks for that entry.
 *
 * Entries are validated by the strict decoder (entryFault) before a list exists, so every
 * accessor may trust the bytes. The encoding is canonical (one storage byte per kind, fixed-width fields), so
 * two lists hold the same entries exactly when their bytes are equal.
 */
import {
  entryFault,
  entrySize,
  isFramed,
  type PackEntry,
  readEntry,
  writeEntry,
} from "./blob-entry.js";

const ENTRY_SIZE = entrySize("index");
const ID_AT = 2;
const ID_BYTES = 32;
const OFFSET_AT = ID_AT + ID_BYTES;
const LENGTH_AT = OFFSET_AT + 4;
const RAW_LENGTH_AT = LENGTH_AT + 4;

export class EntryList implements Iterable<PackEntry> {
  private constructor(
    /** exactly `length` entries */
    private readonly bytes: Buffer,
  ) {}

  /** Encodes entries (a new pack, a pack header): lists made here are small and short-lived. */
  static of(entries: readonly PackEntry[]): EntryList {
    const bytes = Buffer.alloc(entries.length * ENTRY_SIZE);
    let at = 0;
    for (const entry of entries) at = writeEntry(bytes, at, entry, "index");
    return new EntryList(bytes);
  }

  /**
   * The `count` entries at `at` of a decrypted index, in place (the list keeps `bytes` alive).
   * Returns the first refused entry and why instead, when there is one.
   */
  static parse(
    bytes: Buffer,
    at: number,
    count: number,
  ): EntryList | { readonly entry: number; readonly why: string } {
    for (let entry = 0; entry < count; entry++) {
      const why = entryFault(bytes, at + entry * ENTRY_SIZE, "index");
      if (why !== undefined) return { entry, why };
    }
    return new EntryList(bytes.subarray(at, at + count * ENTRY_SIZE));
  }

  get length(): number {
    return this.bytes.length / ENTRY_SIZE;
  }

  /** `knownId`: entry i's id, when the caller found it by that id (see readEntry). */
  get(i: number, knownId?: string): PackEntry {
    return readEntry(this.bytes, i * ENTRY_SIZE, "index", 0, knownId) as PackEntry;
  }

  *[Symbol.iterator](): IterableIterator<PackEntry> {
    for (let i = 0; i < this.length; i++) yield this.get(i);
  }

  /** A new list of the entries at `indices`, in that order. */
  select(indices: readonly number[]): EntryList {
    const bytes = Buffer.alloc(indices.length * ENTRY_SIZE);
    indices.forEach((i, k) => {
      this.bytes.copy(bytes, k * ENTRY_SIZE, i * ENTRY_SIZE, (i + 1) * ENTRY_SIZE);
    });
    return new EntryList(bytes);
  }

  /** Copies the encoded entries into `out` at `at`; returns where the next entry starts. */
  copyTo(out: Buffer, at: number): number {
    return at + this.bytes.copy(out, at);
  }

  equals(other: EntryList): boolean {
    return this.bytes.equals(other.bytes);
  }

  isTree(i: number): boolean {
    return this.bytes[i * ENTRY_SIZE] === 1;
  }

  isFramed(i: number): boolean {
    return isFramed(this.bytes, i * ENTRY_SIZE);
  }

  offset(i: number): number {
    return this.bytes.readUInt32LE(i * ENTRY_SIZE + OFFSET_AT);
  }

  sealedLength(i: number): number {
    return this.bytes.readUInt32LE(i * ENTRY_SIZE + LENGTH_AT);
  }

  rawLength(i: number): number {
    return this.bytes.readUInt32LE(i * ENTRY_SIZE + RAW_LENGTH_AT);
  }

  /** Whether entry i's binary id is `id` (32 bytes), compared in place. */
  hasId(i: number, id: Uint8Array): boolean {
    const at = i * ENTRY_SIZE + ID_AT;
    for (let k = 0; k < ID_BYTES; k++) if (this.bytes[at + k] !== id[k]) return false;
    return true;
  }

  /** The first 4 bytes of entry i's id: ids are keyed MACs, uniformly distributed. */
  idHash(i: number): number {
    return this.bytes.readUInt32LE(i * ENTRY_SIZE + ID_AT);
  }

  /** Copies entry i's binary id into `out` (32 bytes). */
  copyId(i: number, out: Uint8Array): void {
    // Byte by byte: a subarray to copy from would be an object per entry, and loading an index
    // copies every id once.
    const at = i * ENTRY_SIZE + ID_AT;
    for (let k = 0; k < ID_BYTES; k++) out[k] = this.bytes[at + k] as number;
  }

  /** Whether entry i and `other`'s entry j are the same entry, field for field. */
  sameEntry(i: number, other: EntryList, j: number): boolean {
    return (
      this.bytes.compare(
        other.bytes,
        j * ENTRY_SIZE,
        (j + 1) * ENTRY_SIZE,
        i * ENTRY_SIZE,
        (i + 1) * ENTRY_SIZE,
      ) === 0
    );
  }
}
