/**
 * The archiver in process, against a real filesystem store: what it stores once, what it reuses
 * from the parent snapshot, and how the next backup takes over what a killed one left.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { check } from "../check/checker.js";
import type { RempartError } from "../errors.js";
import { Repository } from "../repository/repository.js";
import type { ObjectStore } from "../storage/object-store.js";
import { tempDir } from "../testing/cli.js";
import {
  backupPaths,
  newRepository,
  objectNames,
  reopen,
  TEST_PASSWORD,
  writeSourceTree,
} from "./archiver-test-support.js";
import type { ScanTotals } from "./scan-worker.js";

const KiB = 1024;
/** big.bin, note.txt, other.bin: copy.bin holds big.bin's bytes again */
const DISTINCT_BYTES = 600 * KiB + 2100 + 70 * KiB;

/** A store whose index uploads fail: a backup killed after its packs, before its index. */
function killedBeforeIndex(inner: ObjectStore): ObjectStore {
  return new Proxy(inner, {
    get(target, property) {
      if (property === "put")
        return (ref: Parameters<ObjectStore["put"]>[0], body: Uint8Array) => {
          if (ref.kind === "index") throw new Error("killed before the index was stored");
          return target.put(ref, body);
        };
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** Packs holding file data (reading a file changes its atime, so trees are stored anew). */
async function dataPacks(repo: Repository): Promise<string[]> {
  const packs = [...(await repo.indexedPacks())].filter(([, blobs]) => blobs[0]?.type === "data");
  return packs.map(([pack]) => pack).sort();
}

describe("archiver", () => {
  it("stores each distinct blob once, however many files hold it", async (t) => {
    const base = tempDir(t, "archiver-dedup");
    const src = join(base, "src");
    writeSourceTree(src);
    const { repo } = await newRepository(join(base, "repo"));
    const { snapshot } = await backupPaths(repo, [src]);
    assert.equal(snapshot.summary.filesNew, 4);
    assert.equal(snapshot.summary.bytesRead, DISTINCT_BYTES + 600 * KiB);
    assert.equal(snapshot.summary.bytesAdded, DISTINCT_BYTES);
    const stored = [...(await repo.indexedPacks()).values()].flat().map((blob) => blob.id);
    assert.equal(new Set(stored).size, stored.length, "no blob is in two packs");
  });

  it("reuses unchanged files from the parent: nothing read, nothing stored", async (t) => {
    const base = tempDir(t, "archiver-unchanged");
    const src = join(base, "src");
    writeSourceTree(src);
    const { root, store, repo } = await newRepository(join(base, "repo"));
    const first = await backupPaths(repo, [src]);
    const before = await dataPacks(repo);
    const again = await reopen(root);
    const parent = await again.repo.findSnapshot(first.id);
    const { snapshot } = await backupPaths(again.repo, [src], { parent });
    assert.equal(snapshot.summary.filesUnchanged, 4);
    assert.equal(snapshot.summary.bytesRead, 0);
    assert.equal(snapshot.summary.bytesAdded, 0);
    assert.deepEqual(await dataPacks((await reopen(root)).repo), before);
    assert.equal((await objectNames(store, "snapshots")).length, 2);
  });

  it("estimates an incremental backup's work from the parent's totals instead of a scan", async (t) => {
    const base = tempDir(t, "archiver-estimate");
    const src = join(base, "src");
    writeSourceTree(src);
    const { repo } = await newRepository(join(base, "repo"));
    const first = await backupPaths(repo, [src]);
    writeFileSync(join(src, "added.txt"), "one more file\n");
    const parent = await repo.findSnapshot(first.id);
    const seen: (ScanTotals | undefined)[] = [];
    await backupPaths(repo, [src], { parent, onProgress: (p) => seen.push(p.scanned) });
    const { totalFiles, totalBytes } = first.snapshot.summary;
    assert.ok(seen.length > 0);
    for (const scanned of seen) assert.deepEqual(scanned, { files: totalFiles, bytes: totalBytes });
  });

  it("reads an unchanged file again when its blobs are no longer stored", async (t) => {
    const base = tempDir(t, "archiver-gone");
    const src = join(base, "src");
    writeSourceTree(src);
    const { root, store, repo } = await newRepository(join(base, "repo"));
    const first = await backupPaths(repo, [src]);
    // The server collected the data packs (say): the parent's trees still name their blobs.
    for (const [pack, blobs] of await repo.indexedPacks())
      if (blobs[0]?.type === "data") await store.delete({ kind: "data", name: pack });
    const again = await reopen(root);
    const parent = await again.repo.findSnapshot(first.id);
    const { snapshot } = await backupPaths(again.repo, [src], { parent });
    assert.equal(snapshot.summary.filesUnchanged, 0);
    assert.equal(snapshot.summary.filesChanged, 4);
    assert.equal(snapshot.summary.bytesAdded, DISTINCT_BYTES);
    const report = await check((await reopen(root)).repo, { readDataFraction: 1 });
    assert.deepEqual(report.problems, []);
  });

  it("after a backup killed before its index, the next adopts its packs and uploads nothing twice", async (t) => {
    const base = tempDir(t, "archiver-resume");
    const src = join(base, "src");
    writeSourceTree(src);
    const { root, store } = await newRepository(join(base, "repo"));
    const killed = await reopen(root);
    const dying = await Repository.open(killedBeforeIndex(killed.store), {
      password: TEST_PASSWORD,
    });
    await assert.rejects(backupPaths(dying, [src]), /killed before the index/);
    const leftovers = await objectNames(store, "data");
    assert.ok(leftovers.length >= 2, "a data pack and a tree pack were stored");
    // No index lists them yet: their own headers tell which hold data.
    const reader = (await reopen(root)).repo;
    const leftoverData: string[] = [];
    for (const info of await reader.listPacks())
      if ((await reader.readPackHeader(info))[0]?.type === "data") leftoverData.push(info.name);
    leftoverData.sort();
    assert.ok(leftoverData.length > 0);
    assert.deepEqual(await objectNames(store, "index"), []);
    assert.deepEqual(await objectNames(store, "snapshots"), []);

    const resumed: { adopted: number; damaged: readonly RempartError[] }[] = [];
    const { repo } = await reopen(root);
    const { snapshot } = await backupPaths(repo, [src], {
      onResume: (adopted, damaged) => resumed.push({ adopted, damaged }),
    });
    assert.deepEqual(resumed, [{ adopted: leftovers.length, damaged: [] }]);
    assert.equal(snapshot.summary.bytesAdded, 0, "every data blob came from the adopted packs");
    assert.deepEqual(await dataPacks(repo), leftoverData, "no data pack stored twice");
    for (const pack of leftovers) assert.ok((await repo.statPack(pack)) !== undefined, pack);
    assert.equal((await objectNames(store, "index")).length, 1, "adopted and new packs: one index");

    const after = await reopen(root);
    assert.deepEqual(await after.repo.unindexedPacks(), [], "the new index lists every pack");
    const report = await check(after.repo, { readDataFraction: 1 });
    assert.deepEqual(report.problems, []);
    assert.equal(report.snapshots, 1);
  });
});
