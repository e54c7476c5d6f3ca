/**
 * The restorer in process, against a real filesystem store (restore.test.ts drives the CLI): a
 * snapshot comes back bit-exact, and a damaged blob costs exactly the files that need it.
 */

const MiB = 1024 * 1024;

import assert from "node:assert/strict";
import { chmodSync, chownSync, existsSync, linkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  backupPaths,
  firstBlobLocation,
  newRepository,
  reopen,
  writeSourceTree,
} from "../backup/archiver-test-support.js";
import { findNode } from "../snapshot/walk.js";
import { assertSameTree, flipByte, tempDir } from "../testing/cli.js";
import { restore } from "./restorer.js";
import { smallFiles } from "./test-support.js";

const OPTIONS = { include: [], owner: false } as const;

describe("restorer", () => {
  it("restores a snapshot bit-exact, without being told to load the index", async (t) => {
    const base = tempDir(t, "restorer-exact");
    const src = join(base, "src");
    writeSourceTree(src);
    const { root, repo } = await newRepository(join(base, "repo"));
    const { id } = await backupPaths(repo, [src]);
    const reader = (await reopen(root)).repo;
    const target = join(base, "target");
    const result = await restore(reader, await reader.findSnapshot(id), { ...OPTIONS, target });
    assert.deepEqual(result.damaged, []);
    assert.equal(result.files, 4);
    await assertSameTree(src, join(target, src));
  });

  it("a damaged blob costs the files that need it, and only those", async (t) => {
    const base = tempDir(t, "restorer-damaged");
    const src = join(base, "src");
    writeSourceTree(src);
    // Each blob alone (version 1): frames.test.ts has a damaged frame, which costs its blobs.
    const { root, repo } = await newRepository(join(base, "repo"), { formatVersion: 1 });
    const { id, snapshot } = await backupPaths(repo, [src]);
    const path = `${src}/docs/other.bin`;
    const location = await firstBlobLocation(repo, snapshot, path);
    assert.ok(location);
    flipByte(join(root, "data", location.pack.slice(0, 2), location.pack), location.offset + 20);

    const reader = (await reopen(root)).repo;
    const target = join(base, "target");
    const result = await restore(reader, await reader.findSnapshot(id), { ...OPTIONS, target });
    assert.deepEqual(
      result.damaged.map((d) => d.path),
      [path],
      "named by its path in the snapshot",
    );
    assert.match(result.damaged[0]?.error ?? "", new RegExp(location.id));
    assert.equal(existsSync(join(target, path)), false, "a damaged file is not left behind");
    await assertSameTree(src, join(target, src), {
      exclude: (relative) => relative === "docs/other.bin",
    });
  });

  it("a damaged directory listing costs that directory, and only it", async (t) => {
    const base = tempDir(t, "restorer-damaged-tree");
    const src = join(base, "src");
    writeSourceTree(src);
    const { root, repo } = await newRepository(join(base, "repo"));
    const { id, snapshot } = await backupPaths(repo, [src]);
    const docs = await findNode((tree) => repo.readTree(tree), snapshot.tree, `${src}/docs`);
    const [location] = await repo.blobLocations(docs?.subtree ?? "");
    assert.ok(location);
    flipByte(join(root, "data", location.pack.slice(0, 2), location.pack), location.offset + 20);

    const reader = (await reopen(root)).repo;
    const target = join(base, "target");
    const result = await restore(reader, await reader.findSnapshot(id), { ...OPTIONS, target });
    assert.deepEqual(
      result.damaged.map((d) => d.path),
      [`${src}/docs`],
    );
    assert.match(result.damaged[0]?.error ?? "", /listing cannot be read.*nothing below it/);
    assert.equal(existsSync(join(target, src, "docs")), false);
    await assertSameTree(src, join(target, src), {
      exclude: (relative) => relative === "docs" || relative.startsWith("docs/"),
    });
  });

  it("several batches, written while the next is collected, come back with their metadata", async (t) => {
    const base = tempDir(t, "restorer-batches");
    const src = join(base, "src");
    // More files than two batches hold, so batches are written while later ones are collected.
    for (const dir of ["a", "b", "c/deep"]) smallFiles(join(src, dir), 1800, dir);
    // A file ending in a chunk of zeros: its size is set after its last byte, its times after that.
    writeFileSync(
      join(src, "a", "trailing-hole.bin"),
      Buffer.concat([Buffer.from("head ".repeat(20_000)), Buffer.alloc(3 * MiB)]),
    );
    // Bigger than a part: completed by the main thread, not by one worker.
    writeFileSync(
      join(src, "b", "parts.bin"),
      Buffer.from(Array.from({ length: 5 * MiB }, (_, i) => (i * 7919) % 251)),
    );
    writeFileSync(join(src, "c", "empty"), "");
    chmodSync(join(src, "a", "f000001"), 0o444);
    chmodSync(join(src, "b", "f000002"), 0o4755);
    linkSync(join(src, "a", "f000003"), join(src, "c", "deep", "linked"));
    utimesSync(
      join(src, "b", "f000004"),
      new Date("1999-12-31T23:59:59.123Z"),
      new Date(-86_400_123),
    );
    // Owner is set as root only; then give files away, as a server's shares have them.
    const root = process.getuid?.() === 0;
    if (root) {
      chownSync(join(src, "a", "f000005"), 1234, 5678);
      chownSync(join(src, "b", "parts.bin"), 4321, 8765);
    }
    // A read-only directory: its files are written before its mode is set.
    chmodSync(join(src, "c", "deep"), 0o555);
    const { root: repoRoot, repo } = await newRepository(join(base, "repo"));
    const { id } = await backupPaths(repo, [src]);
    const reader = (await reopen(repoRoot)).repo;
    const target = join(base, "target");
    const result = await restore(reader, await reader.findSnapshot(id), {
      ...OPTIONS,
      owner: root,
      target,
    });
    assert.deepEqual(result.damaged, []);
    assert.equal(result.warnings, 0);
    assert.equal(result.files, 3 * 1800 + 4);
    await assertSameTree(src, join(target, src));
    chmodSync(join(src, "c", "deep"), 0o755);
    chmodSync(join(target, src, "c", "deep"), 0o755);
  });
});
