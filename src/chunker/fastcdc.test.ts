import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { isRempartError } from "../errors.js";
import {
  type ChunkerParams,
  ChunkWindow,
  DEFAULT_CHUNKER_PARAMS,
  findBoundary,
  gearTable,
  splitAll,
} from "./fastcdc.js";

const MiB = 1024 * 1024;
const SMALL: ChunkerParams = { minSize: 1024, avgSize: 4096, maxSize: 16384 };
const table = gearTable(new Uint8Array(32).fill(1));

/** xorshift32: reproducible bytes without storing fixtures. */
function xorshift(seed: number): () => number {
  let x = seed | 0;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

function pseudoRandomBytes(length: number, seed: number): Uint8Array {
  const next = xorshift(seed);
  const words = new Uint32Array(Math.ceil(length / 4));
  for (let i = 0; i < words.length; i++) words[i] = next();
  return new Uint8Array(words.buffer, 0, length);
}

/** Random stretches between zero runs longer than maxSize: chunks hit every size limit. */
function sparseBytes(length: number, seed: number, params: ChunkerParams): Uint8Array {
  const next = xorshift(seed);
  const data = new Uint8Array(length);
  for (let at = next() % params.maxSize; at < length; ) {
    const stretch = next() % (2 * params.avgSize);
    data.set(pseudoRandomBytes(Math.min(stretch, length - at), next()), at);
    at += stretch + (next() % (2 * params.maxSize));
  }
  return data;
}

/**
 * The chunking rule written from its definition, one candidate length at a time: the cut
 * follows the first byte whose 32-byte-window gear hash, sum(gear[byte at end - k] * 2^k) mod
 * 2^32, has its top log2(avgSize) + 2 bits zero (chunk length up to avgSize) or its top
 * log2(avgSize) - 2 bits zero (beyond it).
 */
function referenceLengths(data: Uint8Array, params: ChunkerParams): number[] {
  const bits = Math.log2(params.avgSize);
  const weights = Array.from({ length: 32 }, (_, k) => 2 ** k);
  // Each term is reduced on its own so the double-precision sum stays exact.
  const windowHash = (end: number) =>
    weights.reduce(
      (hash, weight, k) => hash + (((table[data[end - k] as number] as number) * weight) % 2 ** 32),
      0,
    ) %
    2 ** 32;
  const lengths: number[] = [];
  for (let start = 0; start < data.length; ) {
    const available = Math.min(data.length - start, params.maxSize);
    let length = available;
    for (let n = params.minSize + 1; n <= available; n++) {
      const zeroTopBits = n <= params.avgSize ? bits + 2 : bits - 2;
      if (windowHash(start + n - 1) < 2 ** (32 - zeroTopBits)) {
        length = n;
        break;
      }
    }
    lengths.push(length);
    start += length;
  }
  return lengths;
}

function chunkHashes(data: Uint8Array, lengths: number[]): string[] {
  let offset = 0;
  return lengths.map((length) => {
    const hash = createHash("sha256")
      .update(data.subarray(offset, offset + length))
      .digest("hex");
    offset += length;
    return hash;
  });
}

/** The backup pipeline's loop: a fixed buffer, reads of any size, the unconsumed tail moved to the front. */
function chunkThroughReader(
  source: Uint8Array,
  bufferSize: number,
  nextReadSize: () => number,
  params: ChunkerParams,
  inPlace = false,
): number[] {
  // In place: the reader's own window (what FileChunker reads into), scanned where it lies.
  const window = inPlace ? new ChunkWindow(table, params, bufferSize) : undefined;
  const buffer = window?.bytes ?? new Uint8Array(bufferSize);
  const lengths: number[] = [];
  let start = 0;
  let end = 0;
  let offset = 0;
  for (;;) {
    const atEof = offset === source.length;
    const length =
      window?.boundary(start, end, atEof) ?? findBoundary(buffer, start, end, atEof, table, params);
    if (length > 0) {
      lengths.push(length);
      start += length;
    } else if (atEof) {
      return lengths;
    } else {
      buffer.copyWithin(0, start, end);
      end -= start;
      start = 0;
      const n = Math.min(nextReadSize(), bufferSize - end, source.length - offset);
      buffer.set(source.subarray(offset, offset + n), end);
      end += n;
      offset += n;
    }
  }
}

function chunkEnds(lengths: number[]): Set<number> {
  const ends = new Set<number>();
  let end = 0;
  for (const length of lengths) {
    end += length;
    ends.add(end);
  }
  return ends;
}

function assertWithinLimits(lengths: number[], total: number, params: ChunkerParams): void {
  assert.equal(
    lengths.reduce((sum, length) => sum + length, 0),
    total,
  );
  lengths.forEach((length, i) => {
    assert.ok(length <= params.maxSize, `chunk ${i} is ${length} bytes, over maxSize`);
    if (i < lengths.length - 1) {
      assert.ok(length > params.minSize, `chunk ${i} is ${length} bytes, not over minSize`);
    } else {
      assert.ok(length > 0, "the last chunk is empty");
    }
  });
}

describe("FastCDC chunker", () => {
  it("derives the same gear table and boundaries from the same seed", () => {
    const data = pseudoRandomBytes(MiB, 7);
    const again = gearTable(new Uint8Array(32).fill(1));
    assert.deepEqual(again, table);
    assert.deepEqual(splitAll(data, again, SMALL), splitAll(data, table, SMALL));
  });

  it("keeps the boundaries of the format stable (golden vector)", () => {
    // Changing these changes every chunk id and so loses dedup against existing repositories.
    assert.equal(table[0], 3994839614);
    assert.equal(table[255], 1898399626);
    assert.deepEqual(
      splitAll(pseudoRandomBytes(64 * 1024, 7), table, SMALL),
      [3421, 7943, 4530, 5776, 4503, 4348, 4102, 4745, 4165, 5015, 5131, 11718, 139],
    );
  });

  it("cuts where the unoptimized definition cuts", () => {
    for (const data of [
      pseudoRandomBytes(256 * 1024 + 3, 13),
      sparseBytes(512 * 1024, 17, SMALL),
    ]) {
      assert.deepEqual(splitAll(data, table, SMALL), referenceLengths(data, SMALL));
    }
  });

  it("cuts at different places for a different seed", () => {
    const data = pseudoRandomBytes(MiB, 7);
    const other = gearTable(new Uint8Array(32).fill(2));
    assert.notDeepEqual(other, table);
    const mine = chunkEnds(splitAll(data, table, SMALL));
    const theirs = chunkEnds(splitAll(data, other, SMALL));
    const common = [...mine].filter((end) => theirs.has(end)).length;
    // Only the end of the data should be a boundary both tables choose.
    assert.ok(common <= 2, `${common} boundaries in common`);
  });

  it("respects the size limits and covers the input exactly", () => {
    for (const params of [SMALL, DEFAULT_CHUNKER_PARAMS]) {
      const random = pseudoRandomBytes(4 * MiB + 123, 11);
      assertWithinLimits(splitAll(random, table, params), random.length, params);
      // Zero runs longer than maxSize force cuts at maxSize, then cut points follow soon after.
      const sparse = sparseBytes(24 * MiB, 19, params);
      const lengths = splitAll(sparse, table, params);
      assertWithinLimits(lengths, sparse.length, params);
      assert.ok(lengths.includes(params.maxSize), "no chunk reached maxSize");
    }
  });

  it("finds the same boundaries through a reading window as in one buffer", () => {
    const random = xorshift(99);
    const small = pseudoRandomBytes(2 * MiB + 5, 3);
    const tinyReads = () => 1 + (random() % 3000);
    assert.deepEqual(
      chunkThroughReader(small, SMALL.maxSize, tinyReads, SMALL),
      splitAll(small, table, SMALL),
    );
    const large = pseudoRandomBytes(24 * MiB + 77, 5);
    const bigReads = () => 1 + (random() % (3 * MiB));
    assert.deepEqual(
      chunkThroughReader(
        large,
        2 * DEFAULT_CHUNKER_PARAMS.maxSize,
        bigReads,
        DEFAULT_CHUNKER_PARAMS,
      ),
      splitAll(large, table, DEFAULT_CHUNKER_PARAMS),
    );
  });

  it("cuts in the reader's window in place as in one buffer, and refuses bounds outside it", () => {
    const random = xorshift(98);
    const data = sparseBytes(3 * MiB + 9, 23, SMALL);
    const expected = referenceLengths(data, SMALL);
    const reads = () => 1 + (random() % (2 * SMALL.maxSize));
    assert.deepEqual(chunkThroughReader(data, SMALL.maxSize, reads, SMALL, true), expected);
    assert.deepEqual(chunkThroughReader(data, 3 * SMALL.maxSize, reads, SMALL, true), expected);
    const window = new ChunkWindow(table, SMALL, 4096);
    for (const [start, end] of [
      [0, 4097],
      [-1, 10],
      [10, 9],
      [0, Number.NaN],
    ] as const)
      assert.throws(
        () => window.boundary(start, end, true),
        (error) => isRempartError(error, "InvalidArgument"),
        `${start}..${end}`,
      );
  });

  it("changes only the chunks around a few inserted bytes", () => {
    const original = pseudoRandomBytes(32 * MiB, 21);
    const at = 16 * MiB + 12345;
    const edited = new Uint8Array(original.length + 5);
    edited.set(original.subarray(0, at));
    edited.set([1, 2, 3, 4, 5], at);
    edited.set(original.subarray(at), at + 5);

    const before = chunkHashes(original, splitAll(original, table, DEFAULT_CHUNKER_PARAMS));
    const after = new Set(chunkHashes(edited, splitAll(edited, table, DEFAULT_CHUNKER_PARAMS)));
    const shared = before.filter((hash) => after.has(hash)).length;
    assert.ok(before.length >= 20, `only ${before.length} chunks`);
    assert.ok(shared < before.length, "the edit changed no chunk");
    assert.ok(shared >= 0.9 * before.length, `${shared} of ${before.length} chunks shared`);
  });

  it("cuts zero-filled data into maxSize chunks", () => {
    // A run of one byte value gives a constant hash; with this seed it never matches a mask.
    const { maxSize } = DEFAULT_CHUNKER_PARAMS;
    const lengths = splitAll(new Uint8Array(3 * maxSize + 10), table, DEFAULT_CHUNKER_PARAMS);
    assert.deepEqual(lengths, [maxSize, maxSize, maxSize, 10]);
  });

  it("asks for more data until it holds a cut point or maxSize bytes, and ends at EOF", () => {
    const zeros = new Uint8Array(DEFAULT_CHUNKER_PARAMS.maxSize);
    const { maxSize } = DEFAULT_CHUNKER_PARAMS;
    assert.equal(findBoundary(zeros, 0, maxSize - 1, false, table, DEFAULT_CHUNKER_PARAMS), 0);
    assert.equal(findBoundary(zeros, 1, maxSize, false, table, DEFAULT_CHUNKER_PARAMS), 0);
    assert.equal(findBoundary(zeros, 0, maxSize, false, table, DEFAULT_CHUNKER_PARAMS), maxSize);
    assert.equal(findBoundary(zeros, 1, 100, true, table, DEFAULT_CHUNKER_PARAMS), 99);
    assert.equal(findBoundary(zeros, 100, 100, true, table, DEFAULT_CHUNKER_PARAMS), 0);
  });

  it("refuses invalid parameters, seeds and windows", () => {
    const data = new Uint8Array(100);
    const refused = (params: ChunkerParams) =>
      assert.throws(
        () => findBoundary(data, 0, 100, true, table, params),
        (error) => isRempartError(error, "InvalidArgument"),
        JSON.stringify(params),
      );
    refused({ minSize: 4096, avgSize: 4096, maxSize: 16384 });
    refused({ minSize: 1024, avgSize: 4096, maxSize: 4096 });
    refused({ minSize: 1024, avgSize: 6000, maxSize: 16384 });
    refused({ minSize: 16, avgSize: 4096, maxSize: 16384 });
    refused({ minSize: 1024.5, avgSize: 4096, maxSize: 16384 });
    refused({ minSize: Number.NaN, avgSize: 4096, maxSize: 16384 });
    refused({ minSize: 1024, avgSize: 2 ** 31, maxSize: 2 ** 32 });
    const invalid = (error: unknown) => isRempartError(error, "InvalidArgument");
    assert.throws(() => gearTable(new Uint8Array(16)), invalid);
    assert.throws(() => findBoundary(data, 0, 101, true, table, SMALL), invalid);
    assert.throws(() => findBoundary(data, 50, 40, true, table, SMALL), invalid);
    assert.throws(() => findBoundary(data, -1, 40, true, table, SMALL), invalid);
    assert.throws(() => findBoundary(data, Number.NaN, 40, true, table, SMALL), invalid);
    assert.throws(() => findBoundary(data, 0, 40, true, new Uint32Array(255), SMALL), invalid);
  });
});
