import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import {
  type ChunkerParams,
  DEFAULT_CHUNKER_PARAMS,
  gearTable,
  splitAll,
} from "../chunker/fastcdc.js";
import { blobId, toHex } from "../crypto/blob-id.js";
import { FileChunker } from "./file-reader.js";

const MiB = 1024 * 1024;
const SMALL: ChunkerParams = { minSize: 1024, avgSize: 4096, maxSize: 16384 };
const idKey = new Uint8Array(32).fill(7);
const gear = gearTable(new Uint8Array(32).fill(3));
const dir = mkdtempSync(join(tmpdir(), "rempart-file-reader-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Random stretches between zero runs: cuts by content and at maxSize, across read refills. */
function mixedBytes(length: number, seed: number): Uint8Array {
  let x = seed | 0;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  const data = new Uint8Array(length);
  for (let at = 0; at < length; ) {
    const stretch = next() % (3 * MiB);
    for (let i = at; i < Math.min(at + stretch, length); i++) data[i] = next() & 0xff;
    at += stretch + (next() % (2 * MiB));
  }
  return data;
}

/** What the chunker must name: the ids of splitAll's chunks of the whole file at once. */
function expectedIds(data: Uint8Array, params: ChunkerParams): string[] {
  let start = 0;
  return splitAll(data, gear, params).map((length) => {
    const id = toHex(blobId(idKey, data.subarray(start, start + length)));
    start += length;
    return id;
  });
}

async function chunkFile(data: Uint8Array, params: ChunkerParams) {
  const path = join(dir, `file-${data.length}`);
  writeFileSync(path, data);
  const seen: { hexId: string; length: number }[] = [];
  const result = await new FileChunker(idKey, gear, params).read(path, data.length, {
    chunk: (hexId, chunk) => {
      seen.push({ hexId, length: chunk.length });
    },
    pause: () => Promise.resolve(),
  });
  return { result, seen };
}

describe("FileChunker", () => {
  it("cuts a file read in pieces exactly as the whole file at once", async () => {
    const cases: [number, ChunkerParams][] = [
      [0, DEFAULT_CHUNKER_PARAMS],
      [1000, DEFAULT_CHUNKER_PARAMS],
      [2 * MiB, DEFAULT_CHUNKER_PARAMS],
      [9 * MiB + 12345, DEFAULT_CHUNKER_PARAMS],
      [3 * MiB + 77, SMALL],
    ];
    for (const [size, params] of cases) {
      const data = mixedBytes(size, size + 1);
      const { result, seen } = await chunkFile(data, params);
      const expected = expectedIds(data, params);
      assert.deepEqual(result.content, expected, `${size} bytes`);
      assert.deepEqual(
        seen.map((chunk) => chunk.hexId),
        expected,
      );
      assert.equal(result.size, size);
      assert.equal(
        seen.reduce((sum, chunk) => sum + chunk.length, 0),
        size,
      );
    }
  });
});
