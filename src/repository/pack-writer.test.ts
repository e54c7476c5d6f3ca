import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { blobId, toHex } from "../crypto/blob-id.js";
import { FsObjectStore } from "../storage/fs/fs-store.js";
import type { ObjectStore } from "../storage/object-store.js";
import { tempDir } from "../testing/cli.js";
import { BlobIndex } from "./blob-index.js";
import { EntryList } from "./entry-list.js";
import { decodeIndex, encodeIndex, type IndexedPack } from "./index-file.js";
import { PackSpooler, type SpooledPack } from "./pack.js";
import { PackWriter } from "./pack-writer.js";

const KEY = randomBytes(32);
const ID_KEY = randomBytes(32);

/** A spooled pack of one random data blob, as a blob worker hands it over. */
async function spooledPack(store: ObjectStore): Promise<{ pack: SpooledPack; id: string }> {
  const spooler = new PackSpooler(KEY, await store.spoolDir());
  const plain = randomBytes(3000);
  const id = blobId(ID_KEY, plain);
  spooler.add("data", id, plain, plain.length, false);
  return { pack: spooler.finish(), id: toHex(id) };
}

async function names(store: ObjectStore, kind: "data" | "index"): Promise<string[]> {
  const found: string[] = [];
  for await (const info of store.list(kind)) found.push(info.name);
  return found;
}

/** A writer over a real store and index; every index it saves is checked against the store. */
async function writer(t: Parameters<typeof tempDir>[0], adopted: IndexedPack[] = []) {
  const store = await FsObjectStore.create(tempDir(t, "pack-writer"));
  const index = new BlobIndex();
  const saved: string[][] = [];
  const saveIndex = async (packs: readonly IndexedPack[]) => {
    // Packs before the index that lists them: a kill in between leaves no dangling entry.
    for (const { pack } of packs)
      assert.ok(await store.stat({ kind: "data", name: pack }), `${pack} stored first`);
    saved.push(packs.map((p) => p.pack));
    const sealed = encodeIndex(KEY, packs);
    const name = toHex(blobId(ID_KEY, sealed));
    await store.put({ kind: "index", name }, sealed);
    return name;
  };
  const packWriter = new PackWriter(
    { store, index, saveIndex },
    adopted,
    {
      adopted: adopted.length,
      damaged: [],
    },
    2,
  );
  return { store, index, saved, packWriter };
}

describe("pack writer", () => {
  it("claims a blob once, and never one a stored pack holds", async (t) => {
    const { store, packWriter } = await writer(t);
    const { pack, id } = await spooledPack(store);
    assert.equal(packWriter.claim(id), true);
    assert.equal(packWriter.claim(id), false, "already on its way");
    assert.equal(packWriter.reuse(id), false, "on its way is not stored");
    assert.deepEqual([...packWriter.neededPacks()], [], "a blob not reused names no pack");
    await packWriter.store(pack);
    assert.equal(packWriter.reuse(id), true);
    assert.equal(packWriter.claim(id), false);
  });

  it("stores packs, then lists them in an index every N packs and on flush", async (t) => {
    const { store, saved, packWriter } = await writer(t);
    const packs = await Promise.all([1, 2, 3].map(() => spooledPack(store)));
    const [first, second, third] = packs.map((p) => p.pack) as [
      SpooledPack,
      SpooledPack,
      SpooledPack,
    ];
    await packWriter.store(first);
    assert.deepEqual(await names(store, "data"), [first.name]);
    assert.deepEqual(saved, [], "one pack is below the batch of two");
    await packWriter.store(second);
    assert.deepEqual(saved, [[first.name, second.name]]);
    await packWriter.store(third);
    await packWriter.flush();
    await packWriter.flush();
    assert.deepEqual(
      saved,
      [[first.name, second.name], [third.name]],
      "flush saves only what is unsaved",
    );
    const indexed = [];
    for (const name of await names(store, "index"))
      indexed.push(...decodeIndex(KEY, await store.get({ kind: "index", name }), name));
    assert.deepEqual(indexed.map((p) => p.pack).sort(), packs.map((p) => p.pack.name).sort());
    // The writer keeps only the names of unsaved packs; their entries come back from the index.
    for (const { pack, id } of packs)
      assert.deepEqual(
        [...(indexed.find((p) => p.pack === pack.name)?.entries ?? [])].map((b) => b.id),
        [id],
      );
  });

  for (const use of ["reference", "reuse"] as const)
    it(`names the packs a snapshot needs: those it stored, and every copy of a blob met (${use})`, async (t) => {
      const reused = randomBytes(32).toString("hex");
      const { store, index, packWriter } = await writer(t, [{ pack: "c".repeat(64), blobs: [] }]);
      await store.put({ kind: "data", name: "c".repeat(64) }, randomBytes(10));
      const [first, second] = ["a".repeat(64), "b".repeat(64)];
      const location = {
        type: "data" as const,
        id: reused,
        offset: 0,
        length: 10,
        rawLength: 10,
        compressed: false,
      };
      index.addPack(first, EntryList.of([location]));
      index.addPack(second, EntryList.of([location]));
      const fresh = await spooledPack(store);
      assert.equal(packWriter.claim(fresh.id), true);
      packWriter.reference(fresh.id);
      assert.deepEqual([...packWriter.neededPacks()], [], "a blob on its way names no pack yet");
      await packWriter.store(fresh.pack);
      assert.equal(packWriter.claim(reused), false);
      packWriter[use](reused);
      assert.deepEqual(
        [...packWriter.neededPacks()].sort(),
        [fresh.pack.name, first, second].sort(),
        "the adopted pack holds no referenced blob",
      );
      if (use === "reference")
        assert.throws(() => packWriter.reference("d".repeat(64)), { code: "RepositoryCorrupt" });
      else assert.equal(packWriter.reuse("d".repeat(64)), false, "an unknown blob is not reused");
    });

  it("lists adopted packs in its first index", async (t) => {
    const adopted = [{ pack: "a".repeat(64), blobs: [] }];
    const { store, saved, packWriter } = await writer(t, adopted);
    await store.put({ kind: "data", name: "a".repeat(64) }, randomBytes(10));
    await packWriter.flush();
    assert.deepEqual(saved, [["a".repeat(64)]]);
  });
});
