/**
 * The in-memory map from blob id to where its sealed bytes live.
 *
 * It holds every blob of the repository, so it is what grows when a repository grows. As a Map
 * of hex ids to location objects it took ~600 bytes a blob; decoding index objects into entry
 * objects on the way in cost ~150 bytes a blob more while loading. Here each location stays in
 * the encoding an index object gives it (EntryList, 46 bytes an entry: binary id, offset,
 * lengths, flags), in place in the decrypted index, so loading copies nothing and decodes nothing.
 * A record is a location; each added entry list is a run of consecutive records, and a 4-byte run
 * number per record (in fixed segments, so growing never copies) leads from a record to its
 * bytes. Blobs are found through an open-addressing hash table of record numbers (8-16 bytes a
 * blob); pack names are stored once. Location objects are made only when asked for.
 */

import { toHex } from "../crypto/blob-id.js";
import type { BlobLocation } from "./blob-decoder.js";
import type { EntryList } from "./entry-list.js";
import type { BlobType, PackEntry } from "./pack.js";

export type { BlobLocation } from "./blob-decoder.js";

const ID_BYTES = 32;
const SEGMENT_BITS = 14;
const SEGMENT_RECORDS = 1 << SEGMENT_BITS;
const SEGMENT_MASK = SEGMENT_RECORDS - 1;
const INITIAL_TABLE = 1024;

/** Decodes 64 lowercase hex digits into out; false for anything else (it cannot be indexed). */
function decodeHexId(hex: string, out: Uint8Array): boolean {
  if (hex.length !== 2 * ID_BYTES) return false;
  for (let i = 0; i < ID_BYTES; i++) {
    const high = hexDigit(hex.charCodeAt(2 * i));
    const low = hexDigit(hex.charCodeAt(2 * i + 1));
    if (high < 0 || low < 0) return false;
    out[i] = (high << 4) | low;
  }
  return true;
}

function hexDigit(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 97 && code <= 102) return code - 87;
  return -1;
}

export class BlobIndex {
  /** the entry lists added, in order; run r holds records [runFirst[r], runFirst[r] + length) */
  private readonly runs: EntryList[] = [];
  private readonly runFirst: number[] = [];
  private readonly runPack: number[] = [];
  /** the run of each record */
  private readonly runOfSegments: Uint32Array[] = [];
  private records = 0;
  /** open addressing, linear probing: record number + 1 of each blob's first location, 0 empty */
  private table = new Int32Array(INITIAL_TABLE);
  private distinct = 0;
  /**
   * Further locations of blobs stored more than once (rare: kept apart to keep the table small).
   * An index may lie about where a blob is: every location is kept so a reader can move on to
   * the next when one fails authentication.
   */
  private readonly alternates = new Map<string, number[]>();
  private readonly packNumbers = new Map<string, number>();
  private readonly packNames: string[] = [];
  /** each pack's first run: its entry list */
  private readonly packRun: number[] = [];
  private readonly scratch = new Uint8Array(ID_BYTES);
  private readonly view = new PackEntries(this);

  /**
   * Makes room for `count` more blobs at once: the table then never doubles while they are
   * added, which would hold the old and the new table together.
   */
  reserve(count: number): void {
    let size = this.table.length;
    while (2 * (this.distinct + count) > size) size *= 2;
    if (size > this.table.length) this.rehash(size);
  }

  /**
   * Adds a pack's blobs; the index keeps `entries` (and the buffer it lies in). A pack added
   * again (several indexes whose claims could not be settled by its header) keeps its first
   * entry list and gains only locations not known yet.
   */
  addPack(pack: string, entries: EntryList): void {
    let number = this.packNumbers.get(pack);
    let list = entries;
    if (number === undefined) {
      number = this.packNames.length;
      this.packNumbers.set(pack, number);
      this.packNames.push(pack);
      this.packRun.push(this.runs.length);
    } else {
      const fresh: number[] = [];
      for (let i = 0; i < entries.length; i++) if (!this.knows(number, entries, i)) fresh.push(i);
      if (fresh.length === 0) return;
      list = entries.select(fresh);
    }
    const run = this.runs.length;
    this.runs.push(list);
    this.runFirst.push(this.records);
    this.runPack.push(number);
    for (let i = 0; i < list.length; i++) {
      list.copyId(i, this.scratch);
      const first = this.find(this.scratch);
      const record = this.append(run);
      if (first < 0) this.insert(record);
      else {
        const id = toHex(this.scratch);
        const more = this.alternates.get(id);
        if (more) more.push(record);
        else this.alternates.set(id, [record]);
      }
    }
  }

  /** The first known location of a blob. */
  get(id: string): BlobLocation | undefined {
    const record = this.lookup(id);
    return record < 0 ? undefined : this.location(record, id);
  }

  /** Every known location of a blob, the first one first. */
  getAll(id: string): readonly BlobLocation[] {
    const record = this.lookup(id);
    if (record < 0) return [];
    const first = this.location(record, id);
    if (this.alternates.size === 0) return [first];
    const more = this.alternates.get(id) ?? [];
    return [first, ...more.map((r) => this.location(r, id))];
  }

  /**
   * Calls `visit` with the pack of each location of a blob, the first one first; false when no
   * index lists it. Unlike getAll, it makes no location objects: a backup asks this of every
   * blob it references.
   */
  forEachPack(id: string, visit: (pack: string) => void): boolean {
    const record = this.lookup(id);
    if (record < 0) return false;
    visit(this.packNameOf(record));
    // Most repositories hold each blob once: no need to hash the id string for the map.
    if (this.alternates.size === 0) return true;
    for (const more of this.alternates.get(id) ?? []) visit(this.packNameOf(more));
    return true;
  }

  /** Whether any location holds the blob (as `type`, when given). */
  has(id: string, type?: BlobType): boolean {
    const record = this.lookup(id);
    if (record < 0) return false;
    if (type === undefined) return true;
    const tree = type === "tree";
    if (this.isTree(record) === tree) return true;
    return this.alternates.get(id)?.some((r) => this.isTree(r) === tree) ?? false;
  }

  hasPack(pack: string): boolean {
    return this.packNumbers.has(pack);
  }

  /** Every indexed pack with all its blobs, duplicates of blobs stored elsewhere included. */
  get packs(): ReadonlyMap<string, readonly PackEntry[]> {
    return this.view;
  }

  get size(): number {
    return this.distinct;
  }

  /** The first location of every blob, in the order they were added. */
  *entries(): IterableIterator<BlobLocation> {
    for (let record = 0; record < this.records; record++)
      if (this.isFirst(record)) yield this.location(record);
  }

  /** A pack's entry list (its first, when it was added again), encoded as its index holds it. */
  entryList(pack: string): EntryList | undefined {
    const number = this.packNumbers.get(pack);
    return number === undefined ? undefined : this.runs[this.packRun[number] as number];
  }

  /** @internal for PackEntries */
  packNameList(): readonly string[] {
    return this.packNames;
  }

  private runOf(record: number): number {
    return (this.runOfSegments[record >>> SEGMENT_BITS] as Uint32Array)[
      record & SEGMENT_MASK
    ] as number;
  }

  /** Whether pack `number` already has a location equal to entry i of `entries`. */
  private knows(number: number, entries: EntryList, i: number): boolean {
    entries.copyId(i, this.scratch);
    const first = this.find(this.scratch);
    if (first < 0) return false;
    const records = [first, ...(this.alternates.get(toHex(this.scratch)) ?? [])];
    return records.some((record) => {
      const run = this.runOf(record);
      return (
        this.runPack[run] === number &&
        (this.runs[run] as EntryList).sameEntry(record - (this.runFirst[run] as number), entries, i)
      );
    });
  }

  private isTree(record: number): boolean {
    const run = this.runOf(record);
    return (this.runs[run] as EntryList).isTree(record - (this.runFirst[run] as number));
  }

  private packNameOf(record: number): string {
    return this.packNames[this.runPack[this.runOf(record)] as number] as string;
  }

  /** `id`: the record's id, when the caller found the record by it. */
  private location(record: number, id?: string): BlobLocation {
    const run = this.runOf(record);
    const entry = (this.runs[run] as EntryList).get(record - (this.runFirst[run] as number), id);
    // Not `{ ...entry, pack }`: a spread copy took ~400 bytes of heap, this literal ~100.
    const { type, compressed, offset, length, rawLength, framed } = entry;
    const pack = this.packNames[this.runPack[run] as number] as string;
    const location: { -readonly [K in keyof BlobLocation]: BlobLocation[K] } = {
      type,
      compressed,
      id: entry.id,
      offset,
      length,
      rawLength,
      pack,
    };
    if (framed) location.framed = true;
    return location;
  }

  private isFirst(record: number): boolean {
    const run = this.runOf(record);
    (this.runs[run] as EntryList).copyId(record - (this.runFirst[run] as number), this.scratch);
    return this.find(this.scratch) === record;
  }

  private append(run: number): number {
    if (this.records === this.runOfSegments.length * SEGMENT_RECORDS)
      this.runOfSegments.push(new Uint32Array(SEGMENT_RECORDS));
    const record = this.records++;
    (this.runOfSegments[record >>> SEGMENT_BITS] as Uint32Array)[record & SEGMENT_MASK] = run;
    return record;
  }

  private lookup(id: string): number {
    return decodeHexId(id, this.scratch) ? this.find(this.scratch) : -1;
  }

  /** The record of the id's first location, or -1. */
  private find(id: Uint8Array): number {
    const mask = this.table.length - 1;
    // Ids are keyed MACs, uniformly distributed: their first bytes are a good hash.
    for (let slot = slotOf(id) & mask; ; slot = (slot + 1) & mask) {
      const entry = this.table[slot] as number;
      if (entry === 0) return -1;
      const run = this.runOf(entry - 1);
      if ((this.runs[run] as EntryList).hasId(entry - 1 - (this.runFirst[run] as number), id))
        return entry - 1;
    }
  }

  private insert(record: number): void {
    this.distinct++;
    // At most half full, so probes stay short.
    if (2 * this.distinct > this.table.length) this.rehash(2 * this.table.length);
    this.place(record);
  }

  private place(record: number): void {
    const mask = this.table.length - 1;
    const run = this.runOf(record);
    let slot = (this.runs[run] as EntryList).idHash(record - (this.runFirst[run] as number)) & mask;
    while (this.table[slot] !== 0) slot = (slot + 1) & mask;
    this.table[slot] = record + 1;
  }

  private rehash(size: number): void {
    const old = this.table;
    this.table = new Int32Array(size);
    for (const entry of old) if (entry !== 0) this.place(entry - 1);
  }
}

function slotOf(id: Uint8Array): number {
  return (
    ((id[0] as number) | ((id[1] as number) << 8) | ((id[2] as number) << 16)) +
    (id[3] as number) * 0x1000000
  );
}

/** The packs of a BlobIndex as a read-only Map, each entry list decoded when asked for. */
class PackEntries implements ReadonlyMap<string, readonly PackEntry[]> {
  constructor(private readonly index: BlobIndex) {}

  get size(): number {
    return this.index.packNameList().length;
  }

  get(pack: string): readonly PackEntry[] | undefined {
    const entries = this.index.entryList(pack);
    return entries && [...entries];
  }

  has(pack: string): boolean {
    return this.index.hasPack(pack);
  }

  forEach(
    callback: (
      value: readonly PackEntry[],
      key: string,
      map: ReadonlyMap<string, readonly PackEntry[]>,
    ) => void,
  ): void {
    for (const [key, value] of this) callback(value, key, this);
  }

  *keys(): MapIterator<string> {
    yield* this.index.packNameList();
  }

  *values(): MapIterator<readonly PackEntry[]> {
    for (const [, value] of this) yield value;
  }

  *entries(): MapIterator<[string, readonly PackEntry[]]> {
    yield* this;
  }

  *[Symbol.iterator](): MapIterator<[string, readonly PackEntry[]]> {
    for (const pack of this.index.packNameList())
      yield [pack, this.get(pack) as readonly PackEntry[]];
  }
}
