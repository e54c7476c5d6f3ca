import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { BlobIndex } from "./blob-index.js";
import { EntryList } from "./entry-list.js";
import type { PackEntry } from "./pack.js";

function entry(id: string, offset: number, type: "data" | "tree" = "data"): PackEntry {
  return {
    type,
    id,
    offset,
    length: 100 + offset,
    rawLength: 300 + offset,
    compressed: offset % 2 === 0,
  };
}

const hexId = () => randomBytes(32).toString("hex");
const packName = () => randomBytes(32).toString("hex");

describe("BlobIndex", () => {
  it("finds every blob of many packs, as a Map of locations would", () => {
    const index = new BlobIndex();
    const expected = new Map<string, PackEntry & { pack: string }>();
    const packs = new Map<string, PackEntry[]>();
    // Enough blobs to grow the records and rehash the table several times.
    for (let p = 0; p < 200; p++) {
      const pack = packName();
      const blobs = Array.from({ length: 50 }, (_, i) =>
        entry(hexId(), i * 1000, i % 7 === 0 ? "tree" : "data"),
      );
      index.addPack(pack, EntryList.of(blobs));
      packs.set(pack, blobs);
      for (const blob of blobs) expected.set(blob.id, { ...blob, pack });
    }
    assert.equal(index.size, expected.size);
    for (const [id, location] of expected) {
      assert.deepEqual(index.get(id), location);
      assert.deepEqual(index.getAll(id), [location]);
      assert.equal(index.has(id), true);
      assert.equal(index.has(id, location.type), true);
      assert.equal(index.has(id, location.type === "tree" ? "data" : "tree"), false);
    }
    assert.deepEqual([...index.entries()], [...expected.values()]);
    assert.equal(index.packs.size, packs.size);
    assert.deepEqual([...index.packs.keys()], [...packs.keys()]);
    for (const [pack, blobs] of packs) {
      assert.equal(index.hasPack(pack), true);
      assert.deepEqual(index.packs.get(pack), blobs);
    }
    assert.deepEqual(new Map(index.packs), packs);
  });

  it("finds blobs across record segments and table growth", () => {
    const index = new BlobIndex();
    const ids: string[] = [];
    for (let p = 0; p < 40; p++) {
      const blobs = Array.from({ length: 1000 }, (_, i) => entry(hexId(), i));
      index.addPack(packName(), EntryList.of(blobs));
      for (const blob of blobs) ids.push(blob.id);
    }
    assert.equal(index.size, 40_000);
    for (const [i, id] of ids.entries()) assert.equal(index.get(id)?.offset, i % 1000);
    assert.equal([...index.entries()].length, 40_000);
  });

  it("finds every blob after room was reserved for them, and hands back each pack's list", () => {
    const index = new BlobIndex();
    index.reserve(5000);
    const lists = Array.from({ length: 5 }, () =>
      EntryList.of(Array.from({ length: 1000 }, (_, i) => entry(hexId(), i))),
    );
    const packs = lists.map(() => packName());
    lists.forEach((list, p) => {
      index.addPack(packs[p] as string, list);
    });
    assert.equal(index.size, 5000);
    lists.forEach((list, p) => {
      assert.equal(index.entryList(packs[p] as string), list, "kept as added, not copied");
      for (const blob of list) assert.deepEqual(index.get(blob.id), { ...blob, pack: packs[p] });
    });
    assert.equal(index.entryList(packName()), undefined);
  });

  it("answers nothing for unknown, malformed or uppercase ids", () => {
    const index = new BlobIndex();
    const id = hexId();
    index.addPack(packName(), EntryList.of([entry(id, 0)]));
    for (const other of [hexId(), "", "zz", id.toUpperCase(), id.slice(1), `${id}0`]) {
      assert.equal(index.get(other), undefined, other);
      assert.deepEqual(index.getAll(other), []);
      assert.equal(index.has(other), false);
    }
    assert.equal(index.hasPack(packName()), false);
    assert.equal(index.packs.get(packName()), undefined);
  });

  it("keeps every location of a blob stored twice, the first first, and each pack's full list", () => {
    const index = new BlobIndex();
    const id = hexId();
    const [a, b] = [packName(), packName()];
    index.addPack(a, EntryList.of([entry(id, 0, "data")]));
    index.addPack(b, EntryList.of([entry(hexId(), 0), entry(id, 10, "tree")]));
    assert.equal(index.size, 2);
    assert.deepEqual(index.get(id), { ...entry(id, 0, "data"), pack: a });
    assert.deepEqual(index.getAll(id), [
      { ...entry(id, 0, "data"), pack: a },
      { ...entry(id, 10, "tree"), pack: b },
    ]);
    assert.equal(index.has(id, "tree"), true);
    assert.equal(index.packs.get(b)?.length, 2);
    assert.equal([...index.entries()].length, 2);
    const packs: string[] = [];
    assert.equal(
      index.forEachPack(id, (pack) => packs.push(pack)),
      true,
    );
    assert.deepEqual(packs, [a, b]);
    assert.equal(
      index.forEachPack(hexId(), () => assert.fail("an unknown blob has no pack")),
      false,
    );
  });

  it("adds only new locations when a pack is added again, keeping its first entry list", () => {
    const index = new BlobIndex();
    const pack = packName();
    const [x, y] = [hexId(), hexId()];
    index.addPack(pack, EntryList.of([entry(x, 0), entry(y, 10)]));
    index.addPack(pack, EntryList.of([entry(x, 0), entry(y, 20)]));
    assert.deepEqual(index.packs.get(pack), [entry(x, 0), entry(y, 10)]);
    assert.deepEqual(index.getAll(x), [{ ...entry(x, 0), pack }]);
    assert.deepEqual(index.getAll(y), [
      { ...entry(y, 10), pack },
      { ...entry(y, 20), pack },
    ]);
    assert.equal(index.packs.size, 1);
  });
});
