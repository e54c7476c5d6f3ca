/**
 * The restorer in process, against a real filesystem store (restore.test.ts drives the CLI): a
 * snapshot comes back bit-exact, and a damaged blob costs exactly the files that need it.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  backupPaths,
  newRepository,
  reopen,
  writeSourceTree,
} from "../backup/archiver-test-support.js";
import { findNode } from "../snapshot/walk.js";
import { assertSameTree, flipByte, tempDir } from "../testing/cli.js";
import { restore } from "./restorer.js";

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
    const { root, repo } = await newRepository(join(base, "repo"));
    const { id, snapshot } = await backupPaths(repo, [src]);
    const path = `${src}/docs/other.bin`;
    const node = await findNode((tree) => repo.readTree(tree), snapshot.tree, path);
    const [location] = await repo.blobLocations(node?.content?.[0] ?? "");
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
});
