/**
 * The in-memory map from blob id to where its sealed bytes live.
 *
 * It holds every blob of the repository, so it is what grows when a repository grows: as a Map of
 * hex ids to location objects (plus each pack's entry objects) it took ~600 bytes of heap a blob
 * (measured: 2.3 GB at 4 M blobs). Here a location is a record in typed arrays (32-byte binary id,
 * pack number, offset, lengths, flags: 49 bytes), in fixed segments so that growing never copies,
 * found through an open-addressing hash table of record numbers (8-16 bytes a blob); pack names
 * are stored once. Location objects are made only when asked for.
 */

import type { BlobLocation } from "./blob-decoder.js";
import type { IndexedPack } from "./index-file.js";
import type { BlobType, PackEntry } from "./pack.js";

export type { BlobLocation } from "./blob-decoder.js";

const ID_BYTES = 32;
const TREE = 1;
const COMPRESSED = 2;
/** Records live in fixed segments: growing never copies them nor leaves slack beyond one segment. */
const SEGMENT_BITS = 14;
const SEGMENT_RECORDS = 1 << SEGMENT_BITS;
const SEGMENT_MASK = SEGMENT_RECORDS - 1;
const INITIAL_TABLE = 1024;

/** 49 bytes a record */
class Segment {
  readonly ids = new Uint8Array(SEGMENT_RECORDS * ID_BYTES);
  readonly packOf = new Uint32Array(SEGMENT_RECORDS);
  readonly offsets = new Uint32Array(SEGMENT_RECORDS);
  readonly lengths = new Uint32Array(SEGMENT_RECORDS);
  readonly rawLengths = new Uint32Array(SEGMENT_RECORDS);
  readonly flags = new Uint8Array(SEGMENT_RECORDS);
}

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
  /** records: one per location, a pack's entries contiguous and in order */
  private readonly segments: Segment[] = [];
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
  /** each pack's entry list, as the records [start, end) */
  private readonly packStart: number[] = [];
  private readonly packEnd: number[] = [];
  private readonly scratch = new Uint8Array(ID_BYTES);
  private readonly view = new PackEntries(this);

  /**
   * Adds a pack's blobs. A pack added again (several indexes whose claims could not be settled
   * by its header) keeps its first entry list and gains only locations not known yet.
   */
  addPack({ pack, blobs }: IndexedPack): void {
    let number = this.packNumbers.get(pack);
    const known = number !== undefined;
    if (number === undefined) {
      number = this.packNames.length;
      this.packNumbers.set(pack, number);
      this.packNames.push(pack);
      this.packStart.push(this.records);
    }
    for (const blob of blobs) {
      if (!decodeHexId(blob.id, this.scratch))
        throw new TypeError(`blob id ${JSON.stringify(blob.id)} is not 64 lowercase hex digits`);
      const first = this.find(this.scratch);
      if (first >= 0 && known) {
        const location = { ...blob, pack };
        const alternates = this.alternates.get(blob.id) ?? [];
        if ([first, ...alternates].some((r) => sameLocation(this.location(r), location))) continue;
      }
      const record = this.append(number, blob);
      if (first < 0) this.insert(record);
      else {
        const more = this.alternates.get(blob.id);
        if (more) more.push(record);
        else this.alternates.set(blob.id, [record]);
      }
    }
    if (!known) this.packEnd.push(this.records);
  }

  /** The first known location of a blob. */
  get(id: string): BlobLocation | undefined {
    const record = this.lookup(id);
    return record < 0 ? undefined : this.location(record);
  }

  /** Every known location of a blob, the first one first. */
  getAll(id: string): readonly BlobLocation[] {
    const record = this.lookup(id);
    if (record < 0) return [];
    const more = this.alternates.get(id) ?? [];
    return [record, ...more].map((r) => this.location(r));
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
    for (const more of this.alternates.get(id) ?? []) visit(this.packNameOf(more));
    return true;
  }

  /** Whether any location holds the blob (as `type`, when given). */
  has(id: string, type?: BlobType): boolean {
    const record = this.lookup(id);
    if (record < 0) return false;
    if (type === undefined) return true;
    const wanted = type === "tree" ? TREE : 0;
    if ((this.flagsOf(record) & TREE) === wanted) return true;
    return this.alternates.get(id)?.some((r) => (this.flagsOf(r) & TREE) === wanted) ?? false;
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

  /** @internal for PackEntries */
  packRange(pack: string): readonly [number, number] | undefined {
    const number = this.packNumbers.get(pack);
    if (number === undefined) return undefined;
    return [this.packStart[number] as number, this.packEnd[number] as number];
  }

  /** @internal for PackEntries */
  packNameList(): readonly string[] {
    return this.packNames;
  }

  /** @internal for PackEntries */
  entry(record: number): PackEntry {
    const segment = this.segmentOf(record);
    const i = record & SEGMENT_MASK;
    const flags = segment.flags[i] as number;
    return {
      type: flags & TREE ? "tree" : "data",
      id: Buffer.from(this.idOf(record)).toString("hex"),
      offset: segment.offsets[i] as number,
      length: segment.lengths[i] as number,
      rawLength: segment.rawLengths[i] as number,
      compressed: (flags & COMPRESSED) !== 0,
    };
  }

  private segmentOf(record: number): Segment {
    return this.segments[record >>> SEGMENT_BITS] as Segment;
  }

  private flagsOf(record: number): number {
    return this.segmentOf(record).flags[record & SEGMENT_MASK] as number;
  }

  private idOf(record: number): Uint8Array {
    const at = (record & SEGMENT_MASK) * ID_BYTES;
    return this.segmentOf(record).ids.subarray(at, at + ID_BYTES);
  }

  private packNameOf(record: number): string {
    return this.packNames[this.segmentOf(record).packOf[record & SEGMENT_MASK] as number] as string;
  }

  private location(record: number): BlobLocation {
    return { ...this.entry(record), pack: this.packNameOf(record) };
  }

  private isFirst(record: number): boolean {
    return this.find(this.idOf(record)) === record;
  }

  private append(pack: number, blob: PackEntry): number {
    if (this.records === this.segments.length * SEGMENT_RECORDS) this.segments.push(new Segment());
    const record = this.records++;
    const segment = this.segmentOf(record);
    const i = record & SEGMENT_MASK;
    segment.ids.set(this.scratch, i * ID_BYTES);
    segment.packOf[i] = pack;
    segment.offsets[i] = blob.offset;
    segment.lengths[i] = blob.length;
    segment.rawLengths[i] = blob.rawLength;
    segment.flags[i] = (blob.type === "tree" ? TREE : 0) | (blob.compressed ? COMPRESSED : 0);
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
      if (this.sameId(entry - 1, id)) return entry - 1;
    }
  }

  private sameId(record: number, id: Uint8Array): boolean {
    const ids = this.segmentOf(record).ids;
    const at = (record & SEGMENT_MASK) * ID_BYTES;
    for (let i = 0; i < ID_BYTES; i++) if (ids[at + i] !== id[i]) return false;
    return true;
  }

  private insert(record: number): void {
    this.distinct++;
    // At most half full, so probes stay short.
    if (2 * this.distinct > this.table.length) this.rehash(2 * this.table.length);
    this.place(record);
  }

  private place(record: number): void {
    const mask = this.table.length - 1;
    let slot = slotOf(this.idOf(record)) & mask;
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

function sameLocation(a: BlobLocation, b: BlobLocation): boolean {
  return (
    a.pack === b.pack &&
    a.offset === b.offset &&
    a.length === b.length &&
    a.type === b.type &&
    a.compressed === b.compressed &&
    a.rawLength === b.rawLength
  );
}

/** The packs of a BlobIndex as a read-only Map, each entry list decoded when asked for. */
class PackEntries implements ReadonlyMap<string, readonly PackEntry[]> {
  constructor(private readonly index: BlobIndex) {}

  get size(): number {
    return this.index.packNameList().length;
  }

  get(pack: string): readonly PackEntry[] | undefined {
    const range = this.index.packRange(pack);
    if (!range) return undefined;
    const entries: PackEntry[] = [];
    for (let record = range[0]; record < range[1]; record++) entries.push(this.index.entry(record));
    return entries;
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
