import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import type { PackEntry } from "./blob-entry.js";
import { EntryList } from "./entry-list.js";

function entry(offset: number, type: "data" | "tree" = "data"): PackEntry {
  return {
    type,
    id: randomBytes(32).toString("hex"),
    offset,
    length: 40 + offset,
    rawLength: 3 * offset,
    compressed: offset % 2 === 1,
  };
}

/** The index layout of docs/FORMAT.md, spelled out apart from the code under test. */
function encoded(entries: readonly PackEntry[]): Buffer {
  const out = Buffer.alloc(46 * entries.length);
  entries.forEach((e, i) => {
    const at = 46 * i;
    out[at] = e.type === "tree" ? 1 : 0;
    out[at + 1] = e.compressed ? 1 : 0;
    Buffer.from(e.id, "hex").copy(out, at + 2);
    out.writeUInt32LE(e.offset, at + 34);
    out.writeUInt32LE(e.length, at + 38);
    out.writeUInt32LE(e.rawLength, at + 42);
  });
  return out;
}

describe("EntryList", () => {
  const entries = [entry(0, "tree"), entry(40), entry(81)];

  it("reads an index's entries in place, between other bytes", () => {
    const bytes = Buffer.concat([Buffer.alloc(9, 0xee), encoded(entries), Buffer.alloc(5, 0xee)]);
    const list = EntryList.parse(bytes, 9, entries.length);
    assert.ok(list instanceof EntryList);
    assert.equal(list.length, 3);
    assert.deepEqual([...list], entries);
    assert.equal(list.isTree(0), true);
    assert.equal(list.isTree(1), false);
    assert.deepEqual(
      [0, 1, 2].map((i) => [list.offset(i), list.sealedLength(i), list.rawLength(i)]),
      entries.map((e) => [e.offset, e.length, e.rawLength]),
    );
    const id = new Uint8Array(32);
    list.copyId(2, id);
    assert.equal(Buffer.from(id).toString("hex"), entries[2]?.id);
    assert.equal(list.hasId(2, id), true);
    assert.equal(list.hasId(1, id), false);
    assert.equal(list.idHash(2), Buffer.from(id).readUInt32LE(0));
    // In place: the list sees the index's bytes, it did not copy them.
    bytes[9 + 46 + 34] = 99;
    assert.equal(list.offset(1), 99);
  });

  it("refuses the first entry the strict decoder refuses, naming it", () => {
    const bad = encoded(entries);
    // 3 (a frame's continuation) is only ever met in a pack header, where offsets are implied.
    bad[46 + 1] = 3;
    assert.deepEqual(EntryList.parse(bad, 0, 3), { entry: 1, why: "has invalid flags" });
    const short = encoded([{ ...entry(0), length: 3 }]);
    assert.deepEqual(EntryList.parse(short, 0, 1), {
      entry: 0,
      why: "is shorter than a sealed blob",
    });
    const huge = encoded([{ ...entry(0), rawLength: 2 ** 32 - 1 }]);
    assert.deepEqual(EntryList.parse(huge, 0, 1), {
      entry: 0,
      why: "claims a blob larger than any Rempart writes",
    });
  });

  it("encodes as an index does, compares by entries, and selects copies", () => {
    const list = EntryList.of(entries);
    const parsed = EntryList.parse(encoded(entries), 0, 3);
    assert.ok(parsed instanceof EntryList);
    assert.equal(list.equals(parsed), true);
    assert.equal(list.equals(EntryList.of([...entries].reverse())), false);
    assert.equal(list.equals(EntryList.of([...entries, entry(200)])), false);
    const picked = list.select([2, 0]);
    assert.deepEqual([...picked], [entries[2], entries[0]]);
    assert.equal(picked.sameEntry(0, list, 2), true);
    assert.equal(picked.sameEntry(0, list, 1), false);
  });
});
