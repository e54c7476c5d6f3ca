import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { seal } from "../crypto/aead.js";
import { isRempartError } from "../errors.js";
import {
  type EntryLayout,
  entrySize,
  type PackEntry,
  readEntry,
  writeEntry,
} from "./blob-entry.js";
import { decodeIndex } from "./index-file.js";
import { openHeader } from "./pack.js";

const ENTRY: PackEntry = {
  type: "tree",
  id: "ab".repeat(32),
  offset: 4096,
  length: 1000,
  rawLength: 5000,
  compressed: true,
};

function encoded(entry: PackEntry, layout: EntryLayout): Buffer {
  const out = Buffer.alloc(entrySize(layout));
  assert.equal(writeEntry(out, 0, entry, layout), out.length);
  return out;
}

/** A sealed index body holding one pack with one raw entry. */
function sealedIndex(key: Uint8Array, entry: Buffer): Uint8Array {
  const prefix = Buffer.alloc(9 + 36);
  prefix.write("RIDX", 0, "latin1");
  prefix[4] = 1;
  prefix.writeUInt32LE(1, 5);
  prefix.writeUInt32LE(1, 9 + 32);
  return seal(key, Buffer.concat([prefix, entry]), Buffer.from("rempart index v1"));
}

/** A sealed pack header holding one raw entry. */
function sealedHeader(key: Uint8Array, entry: Buffer): Uint8Array {
  const prefix = Buffer.alloc(9);
  prefix.write("RPAK", 0, "latin1");
  prefix[4] = 1;
  prefix.writeUInt32LE(1, 5);
  return seal(key, Buffer.concat([prefix, entry]), Buffer.from("rempart pack header v1"));
}

describe("blob entry codec", () => {
  it("round-trips an entry in both layouts; a header's offset is the one implied", () => {
    assert.deepEqual(readEntry(encoded(ENTRY, "index"), 0, "index"), ENTRY);
    assert.deepEqual(readEntry(encoded(ENTRY, "header"), 0, "header", 4096), ENTRY);
    assert.deepEqual(readEntry(encoded(ENTRY, "header"), 0, "header", 7), { ...ENTRY, offset: 7 });
  });

  it("refuses the same bad entries in both layouts", () => {
    for (const layout of ["index", "header"] as const) {
      for (const [at, value] of [
        [0, 2],
        [1, layout === "index" ? 3 : 4],
      ] as const) {
        const bytes = encoded(ENTRY, layout);
        bytes[at] = value;
        assert.equal(readEntry(bytes, 0, layout), "has invalid flags", `${layout} byte ${at}`);
      }
      assert.equal(
        readEntry(
          encoded({ ...ENTRY, framed: true, rawLength: 4 * 1024 * 1024 + 1 }, layout),
          0,
          layout,
        ),
        "claims a framed blob larger than any frame",
      );
      assert.equal(
        readEntry(encoded({ ...ENTRY, length: 27 }, layout), 0, layout),
        "is shorter than a sealed blob",
      );
      assert.equal(
        readEntry(encoded({ ...ENTRY, rawLength: 256 * 1024 * 1024 + 1 }, layout), 0, layout),
        "claims a blob larger than any Rempart writes",
      );
    }
  });

  it("a framed entry says so in both layouts; a header's later blobs of a frame say they continue it", () => {
    const framed: PackEntry = { ...ENTRY, type: "data", framed: true };
    assert.deepEqual(readEntry(encoded(framed, "index"), 0, "index"), framed);
    assert.equal(encoded(framed, "index")[1], 2);
    assert.equal(encoded(framed, "header")[1], 2);
    const next = Buffer.alloc(entrySize("header"));
    writeEntry(next, 0, framed, "header", true);
    assert.equal(next[1], 3, "in a header, the next blob of the same frame");
    assert.deepEqual(readEntry(next, 0, "header", 4096), framed);
  });

  it("an unknown flag byte refuses an index and a pack header alike", () => {
    const key = randomBytes(32);
    const bad = (layout: EntryLayout) => {
      const bytes = encoded({ ...ENTRY, offset: 0 }, layout);
      bytes[1] = 7;
      return bytes;
    };
    const [listed] = decodeIndex(key, sealedIndex(key, encoded(ENTRY, "index")), "i");
    assert.deepEqual([...(listed?.entries ?? [])], [ENTRY]);
    assert.throws(
      () => decodeIndex(key, sealedIndex(key, bad("index")), "i"),
      (error) => isRempartError(error, "RepositoryCorrupt") && /invalid flags/.test(error.message),
    );
    const good = encoded({ ...ENTRY, offset: 0 }, "header");
    assert.deepEqual(openHeader(key, sealedHeader(key, good), ENTRY.length, "p"), [
      { ...ENTRY, offset: 0 },
    ]);
    assert.throws(
      () => openHeader(key, sealedHeader(key, bad("header")), ENTRY.length, "p"),
      (error) => isRempartError(error, "RepositoryCorrupt") && /invalid flags/.test(error.message),
    );
  });
});
