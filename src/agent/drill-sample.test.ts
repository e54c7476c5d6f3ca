/**
 * What a restore drill restores and how it checks it: the sample's size and byte cap, a sample
 * drawn uniformly (every file as likely as any other), and a restored file compared blob by blob
 * with the snapshot (a real repository on disk, written by the real CLI).
 */
import assert from "node:assert/strict";
import { randomInt } from "node:crypto";
import { appendFileSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { TreeNode } from "../snapshot/tree.js";
import {
  type Cleanup,
  flipByte,
  initAndBackup,
  openRepository,
  tempDir,
  writePseudoRandomFile,
} from "../testing/cli.js";
import { verifyRestoredFile } from "./drill.js";
import {
  chooseSample,
  Reservoir,
  type SampledFile,
  sampleSize,
  sampleSnapshot,
} from "./drill-sample.js";

const cleanups: (() => unknown)[] = [];
const suite: Cleanup = { after: (fn) => cleanups.push(fn) };
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

const limits = { percent: 1, maxFiles: 200, maxBytes: 1000 };
const file = (path: string, size: number): SampledFile => ({
  path,
  node: { name: path, type: "file", size } as TreeNode,
});

describe("a drill's sample", () => {
  it("takes 1 % of the files, at least one and at most 200", () => {
    assert.equal(sampleSize(0, limits), 0);
    assert.equal(sampleSize(1, limits), 1);
    assert.equal(sampleSize(150, limits), 2);
    assert.equal(sampleSize(10_000, limits), 100);
    assert.equal(sampleSize(1_000_000, limits), 200);
    assert.equal(sampleSize(30, { ...limits, percent: 100 }), 30);
  });

  it("keeps within the byte cap by skipping files that would pass it", () => {
    const files = [file("/a", 600), file("/b", 600), file("/c", 300), file("/d", 2000)];
    const chosen = chooseSample(files, 4, 1000, () => 0);
    assert.ok(chosen.reduce((sum, f) => sum + (f.node.size ?? 0), 0) <= 1000);
    assert.equal(chosen.length, 2);
    assert.deepEqual(
      chooseSample([file("/huge", 5000)], 1, 1000, () => 0),
      [],
    );
  });

  it("draws every file with the same chance, whatever its place in the walk", () => {
    const counts = new Array<number>(50).fill(0);
    const rounds = 4000;
    for (let round = 0; round < rounds; round++) {
      const reservoir = new Reservoir<number>(5, randomInt);
      for (let i = 0; i < 50; i++) reservoir.offer(i);
      for (const i of reservoir.items) counts[i] = (counts[i] ?? 0) + 1;
    }
    // Each file is expected in 10 % of the rounds (400); the bounds are over 6 standard deviations.
    for (const count of counts) assert.ok(count > 280 && count < 520, `count ${count}`);
  });
});

describe("a drill's verification", () => {
  it("accepts a file equal to its snapshot and finds a changed byte, a missing tail, an extra byte and a missing file", async () => {
    const base = tempDir(suite, "drill-verify");
    const src = join(base, "src");
    mkdirSync(src);
    // Several blobs, so that a change in the middle is found in its own blob.
    writePseudoRandomFile(join(src, "big.bin"), 3 * 1024 * 1024, "verify");
    const repoDir = join(base, "repo");
    await initAndBackup(repoDir, [src]);
    const repo = await openRepository(repoDir);
    const [snapshot] = await repo.listSnapshots();
    assert.ok(snapshot);
    const sample = await sampleSnapshot(
      repo,
      snapshot.snapshot.tree,
      { ...limits, maxBytes: 1e9 },
      randomInt,
    );
    const [big] = sample.files;
    assert.ok(big);
    assert.ok((big.node.content?.length ?? 0) > 1);
    const path = join(src, "big.bin");

    assert.equal(await verifyRestoredFile(repo, path, big), undefined);
    flipByte(path, 2 * 1024 * 1024);
    assert.match(
      (await verifyRestoredFile(repo, path, big)) ?? "",
      /differs from the snapshot in blob \d+ of \d+/,
    );
    rmSync(path);
    writePseudoRandomFile(path, 3 * 1024 * 1024, "verify");
    appendFileSync(path, "x");
    assert.match(
      (await verifyRestoredFile(repo, path, big)) ?? "",
      /is 3145729 bytes, the snapshot says 3145728/,
    );
    writeFileSync(path, "short");
    assert.match((await verifyRestoredFile(repo, path, big)) ?? "", /differs/);
    assert.equal(
      await verifyRestoredFile(repo, join(src, "gone"), big),
      "is missing after the restore",
    );
  });
});
