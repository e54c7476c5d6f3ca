/**
 * The trees of an incremental backup: a directory in which nothing changed keeps its parent
 * snapshot's tree, a change anywhere gives new trees up to the root, and a change of metadata
 * alone (mode, times, xattrs) is a change.
 */
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import { check } from "../check/checker.js";
import type { Repository } from "../repository/repository.js";
import { setXattr } from "../snapshot/fs-native.js";
import { userXattrsWork } from "../snapshot/fs-native-test-support.js";
import { findNode, walkTree } from "../snapshot/walk.js";
import { tempDir } from "../testing/cli.js";
import { backupPaths, newRepository, reopen } from "./archiver-test-support.js";

const DIRS = ["a", "a/b", "a/b/c", "a/side", "empty", "other"];
const FILES = ["top.txt", "a/b/c/deep.txt", "a/side/s.txt", "other/o.txt"];

/**
 * A source tree whose times a backup does not move: under relatime, reading a file or listing a
 * directory updates its access time when that is not after its modification *and* change times.
 * The change time is the kernel's coarse clock at the utimes call, which can be a few ms before or
 * after `Date.now()`: an access time of "now" was moved by the first backup's reads now and then
 * (a flaky "nothing changed" test). An hour ahead is after both.
 */
function writeStillTree(src: string): void {
  for (const dir of DIRS) mkdirSync(join(src, dir), { recursive: true });
  for (const file of FILES) writeFileSync(join(src, file), `${file}\n`.repeat(50));
  const now = Date.now() / 1000;
  for (const entry of [...FILES, ...DIRS.slice().reverse(), "."])
    utimesSync(join(src, entry), now + 3600, now - 3600);
}

async function subtreeOf(repo: Repository, root: string, path: string): Promise<string> {
  const node = await findNode((id) => repo.readTree(id), root, path);
  assert.ok(node?.subtree, `${path} is a directory in the snapshot`);
  return node.subtree;
}

async function backUpTwice(t: TestContext, label: string, change: (src: string) => void) {
  const base = tempDir(t, label);
  const src = join(base, "src");
  writeStillTree(src);
  const { root, repo } = await newRepository(join(base, "repo"));
  const first = await backupPaths(repo, [src]);
  change(src);
  const again = (await reopen(root)).repo;
  const parent = await again.findSnapshot(first.id);
  const second = await backupPaths(again, [src], { parent });
  const subtrees = async (snapshotTree: string) => {
    const ids = new Map<string, string>();
    for (const dir of [".", ...DIRS]) {
      const path = dir === "." ? src : join(src, dir);
      ids.set(dir, await subtreeOf(again, snapshotTree, path));
    }
    return ids;
  };
  return {
    src,
    root,
    repo: again,
    before: await subtrees(first.snapshot.tree),
    after: await subtrees(second.snapshot.tree),
    node: (path: string) =>
      findNode((id) => again.readTree(id), second.snapshot.tree, join(src, path)),
  };
}

describe("archiver trees", () => {
  it("keeps the parent's tree for every directory in which nothing changed", async (t) => {
    const { before, after } = await backUpTwice(t, "trees-same", () => {});
    assert.deepEqual(after, before);
  });

  it("gives new trees from a changed file up to the root, and keeps the others", async (t) => {
    const { before, after, node } = await backUpTwice(t, "trees-deep", (src) => {
      writeFileSync(join(src, "a/b/c/deep.txt"), "changed\n");
    });
    for (const dir of [".", "a", "a/b", "a/b/c"])
      assert.notEqual(after.get(dir), before.get(dir), `${dir} has a new tree`);
    for (const dir of ["a/side", "empty", "other"])
      assert.equal(after.get(dir), before.get(dir), `${dir} keeps its tree`);
    assert.equal((await node("a/b/c/deep.txt"))?.size, "changed\n".length);
  });

  it("records a change of mode, of times or of an xattr alone", async (t) => {
    const xattrs = canSetUserXattrs(t);
    const { before, after, node, repo } = await backUpTwice(t, "trees-meta", (src) => {
      chmodSync(join(src, "a/side/s.txt"), 0o600);
      chmodSync(join(src, "empty"), 0o700);
      // Times alone: the same content and size, an older modification time.
      utimesSync(join(src, "other/o.txt"), Date.now() / 1000, 1_000_000);
      if (xattrs) {
        setXattr(join(src, "a/b/c/deep.txt"), "user.tag", Buffer.from("kept"));
        setXattr(join(src, "a/b"), "user.tag", Buffer.from("dir"));
      }
    });
    assert.equal((await node("a/side/s.txt"))?.mode, 0o600);
    assert.equal((await node("empty"))?.mode, 0o700);
    assert.equal((await node("other/o.txt"))?.mtimeMs, 1_000_000_000);
    // A directory's own metadata is in its parent's tree: "empty" still lists nothing.
    for (const dir of [".", "a", "a/side", "other"])
      assert.notEqual(after.get(dir), before.get(dir), `${dir} has a new tree`);
    assert.equal(after.get("empty"), before.get("empty"));
    if (xattrs) {
      assert.deepEqual((await node("a/b/c/deep.txt"))?.xattrs, [
        { name: "user.tag", value: Buffer.from("kept").toString("base64") },
      ]);
      assert.deepEqual((await node("a/b"))?.xattrs, [
        { name: "user.tag", value: Buffer.from("dir").toString("base64") },
      ]);
      assert.notEqual(after.get("a/b/c"), before.get("a/b/c"));
    }
    assert.deepEqual((await check(repo, { readDataFraction: 1 })).problems, []);
  });

  it("writes the trees again when the parent's cannot be read", async (t) => {
    const base = tempDir(t, "trees-lost");
    const src = join(base, "src");
    writeStillTree(src);
    const { root, store, repo } = await newRepository(join(base, "repo"));
    const first = await backupPaths(repo, [src]);
    for (const [pack, blobs] of await repo.indexedPacks())
      if (blobs[0]?.type === "tree") await store.delete({ kind: "data", name: pack });
    const again = (await reopen(root)).repo;
    const parent = await again.findSnapshot(first.id);
    const { snapshot } = await backupPaths(again, [src], { parent });
    assert.equal(snapshot.summary.filesNew, FILES.length, "nothing to compare with: all read");
    // Every tree of the new snapshot is stored (the first's are gone, so check would flag those).
    const after = (await reopen(root)).repo;
    const paths: string[] = [];
    for await (const entry of walkTree((id) => after.readTree(id), snapshot.tree, ""))
      if (entry.path.startsWith(`${src}/`)) paths.push(entry.path.slice(src.length + 1));
    assert.deepEqual(paths.sort(), [...DIRS, ...FILES].sort());
  });
});

/** Whether the test directory's filesystem takes user.* attributes (tmpfs before 6.6 does not). */
function canSetUserXattrs(t: TestContext): boolean {
  if (userXattrsWork(tempDir(t, "xattr-probe"))) return true;
  t.diagnostic("user.* xattrs not supported here: the xattr case is left out");
  return false;
}
