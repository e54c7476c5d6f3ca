/**
 * FastCDC content-defined chunking (Xia et al., USENIX ATC 2016 and IEEE TPDS 2020): a gear
 * rolling hash, cut-point skipping below the minimum size, and normalized chunking (a stricter
 * mask before the average size, a looser one after it) so chunk sizes cluster around the average.
 *
 * Boundaries are a pure function of the bytes and of a per-repository gear table, so the same
 * content chunks the same way in every file and every run, and a caller can feed data in any
 * buffer sizes.
 */
import { createHmac } from "node:crypto";
import { RempartError } from "../errors.js";
import { GearScanner } from "./gear-scan.js";

export interface ChunkerParams {
  readonly minSize: number;
  readonly avgSize: number;
  readonly maxSize: number;
}

/**
 * Measured with bench/chunk-sizes.mjs (table in docs/FORMAT.md): on seven TypeScript releases
 * these sizes store 7 % less than restic's 512 KiB / 1 MiB / 8 MiB for 4 % more chunks on the
 * 1.4 GB share, where file count dominates. Halving again saves 4 % more but doubles the chunks
 * (index entries) of large files. The 1 MiB maximum also bounds each chunk's in-flight buffer.
 */
export const DEFAULT_CHUNKER_PARAMS: ChunkerParams = Object.freeze({
  minSize: 64 * 1024,
  avgSize: 256 * 1024,
  maxSize: 1024 * 1024,
});

export const GEAR_SEED_BYTES = 32;

// Shifting left once per byte pushes a byte out of a 32-bit hash after 32 steps, so the hash
// after any byte is a function of exactly the 32 bytes ending there.
const WINDOW = 32;
// Normalization level 2 from the paper: 2 more mask bits before avgSize, 2 fewer after it.
const NORMALIZATION = 2;
// Domain separation: the seed may be a key derived for several uses.
const GEAR_LABEL = "rempart fastcdc gear v1";

/**
 * The 256 gear values, from HMAC-SHA256(seed, label || u32be(block)) for blocks 0..31, each
 * digest read as eight big-endian u32. A secret seed keeps boundaries, and so chunk sizes, from
 * revealing which known content a repository holds.
 */
export function gearTable(seed: Uint8Array): Uint32Array {
  if (seed.length !== GEAR_SEED_BYTES) {
    throw new RempartError(
      "InvalidArgument",
      `The chunker seed must be ${GEAR_SEED_BYTES} bytes.`,
      {
        length: seed.length,
      },
    );
  }
  const table = new Uint32Array(256);
  const counter = Buffer.alloc(4);
  for (let block = 0; block < 32; block++) {
    counter.writeUInt32BE(block);
    const digest = createHmac("sha256", seed).update(GEAR_LABEL).update(counter).digest();
    for (let j = 0; j < 8; j++) table[block * 8 + j] = digest.readUInt32BE(j * 4);
  }
  return table;
}

export function validateChunkerParams(params: ChunkerParams): void {
  const { minSize, avgSize, maxSize } = params;
  const integers = [minSize, avgSize, maxSize].every(Number.isSafeInteger);
  // avgSize <= 2^30 keeps the stricter mask (log2(avgSize) + 2 bits) inside the 32-bit hash.
  const powerOfTwo =
    integers && avgSize > 0 && avgSize <= 2 ** 30 && (avgSize & (avgSize - 1)) === 0;
  if (!integers || !powerOfTwo || minSize < WINDOW || minSize >= avgSize || avgSize >= maxSize) {
    throw new RempartError(
      "InvalidArgument",
      `Chunk sizes must be integers with ${WINDOW} <= minSize < avgSize < maxSize, and avgSize a power of two up to 1 GiB.`,
      { minSize, avgSize, maxSize },
    );
  }
}

/**
 * FastCDC over a window of bytes that the caller reads into: the window is WebAssembly memory
 * that gear-scan.ts scans in place, so chunking a file copies nothing.
 */
export class ChunkWindow {
  /** where the caller puts the bytes to cut; never reallocated */
  readonly bytes: Uint8Array;
  private readonly scanner: GearScanner;

  constructor(
    table: Uint32Array,
    private readonly params: ChunkerParams,
    size: number,
  ) {
    validateChunkerParams(params);
    checkTable(table);
    this.scanner = new GearScanner(table, size);
    this.bytes = this.scanner.window;
  }

  /** findBoundary over `bytes[start, end)`. */
  boundary(start: number, end: number, atEof: boolean): number {
    checkWindow(start, end, this.bytes.length);
    return boundaryIn(this.scanner, start, end, atEof, this.params);
  }
}

/**
 * The length of the chunk that begins at `start` in `data[start, end)`, or 0 when the window
 * holds no cut point yet and more data is needed (only possible when end - start < maxSize and
 * not atEof). At EOF the remaining bytes end the last chunk, which may be shorter than minSize;
 * 0 at EOF means no bytes remain. Other chunks are longer than minSize and at most maxSize.
 *
 * After a 0 the caller appends data and calls again from the same start, which rescans the
 * tail, so buffers several times maxSize keep that rescan small. This copies the bytes it scans
 * into a window (tests, measurements); a reader cuts in a ChunkWindow of its own instead.
 */
export function findBoundary(
  data: Uint8Array,
  start: number,
  end: number,
  atEof: boolean,
  table: Uint32Array,
  params: ChunkerParams,
): number {
  validateChunkerParams(params);
  checkWindow(start, end, data.length);
  checkTable(table);
  // Only the first maxSize bytes can hold the cut; past them the answer is maxSize either way.
  const scanned = Math.min(end - start, params.maxSize);
  let scanner = scanners.get(table);
  if (scanner === undefined || scanner.window.length < scanned) {
    scanner = new GearScanner(table, params.maxSize);
    scanners.set(table, scanner);
  }
  scanner.window.set(data.subarray(start, start + scanned));
  return boundaryIn(scanner, 0, scanned, atEof, params);
}

/** findBoundary's windows, one per gear table. */
const scanners = new WeakMap<Uint32Array, GearScanner>();

function checkWindow(start: number, end: number, length: number): void {
  // NaN bounds would slip past the range comparisons and make every answer 0: a caller's endless loop.
  const integers = Number.isSafeInteger(start) && Number.isSafeInteger(end);
  if (!integers || start < 0 || start > end || end > length) {
    throw new RempartError("InvalidArgument", "The chunker window lies outside its buffer.", {
      start,
      end,
      length,
    });
  }
}

function checkTable(table: Uint32Array): void {
  if (table.length !== 256) {
    throw new RempartError("InvalidArgument", "The gear table must have 256 entries.", {
      length: table.length,
    });
  }
}

function boundaryIn(
  scanner: GearScanner,
  start: number,
  end: number,
  atEof: boolean,
  params: ChunkerParams,
): number {
  const available = end - start;
  const { minSize, avgSize, maxSize } = params;
  if (available > minSize) {
    const bits = 31 - Math.clz32(avgSize);
    const normalEnd = start + Math.min(available, avgSize);
    const limit = start + Math.min(available, maxSize);
    let cut = scanner.firstCut(start + minSize, normalEnd, highBits(bits + NORMALIZATION));
    if (cut < 0) cut = scanner.firstCut(normalEnd, limit, highBits(bits - NORMALIZATION));
    if (cut >= 0) return cut - start;
    if (available >= maxSize) return maxSize;
  }
  return atEof ? available : 0;
}

/** Chunk lengths for a whole buffer, for tests and measurements; streams use findBoundary. */
export function splitAll(data: Uint8Array, table: Uint32Array, params: ChunkerParams): number[] {
  const lengths: number[] = [];
  for (let start = 0; start < data.length; ) {
    const length = findBoundary(data, start, data.length, true, table, params);
    lengths.push(length);
    start += length;
  }
  return lengths;
}

// Bit k of a gear hash depends only on the last k + 1 bytes, so the mask takes the top bits,
// the ones that see the whole window.
function highBits(count: number): number {
  return (-1 << (WINDOW - count)) | 0;
}
