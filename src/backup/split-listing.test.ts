/**
 * A directory whose listing outgrows one tree blob (hundreds of thousands of entries in the
 * field; here long names make 10,000 enough) is stored as pieces, restored whole, and when an
 * incremental backup reuses it unchanged, the packs of every piece are named at commit: the
 * server's GC keeps exactly the packs commits name.
 */
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { Repository } from "../repository/repository.js";
import { restore } from "../restore/restorer.js";
import { findNode } from "../snapshot/walk.js";
import { assertSameTree, tempDir } from "../testing/cli.js";
import { backupPaths, newRepository, reopen } from "./archiver-test-support.js";

const FILES = 10_000;

/** Records the packs each commit names. */
function recordCommits(repo: Repository): string[][] {
  const commits: string[][] = [];
  const commit = repo.commitSnapshot.bind(repo);
  repo.commitSnapshot = (snapshot, packs) => {
    commits.push([...packs]);
    return commit(snapshot, packs);
  };
  return commits;
}

describe("a directory listing split into pieces", () => {
  it("is backed up, restored whole, and kept whole by the next backup's commit", async (t) => {
    const base = tempDir(t, "split-listing");
    const src = join(base, "src");
    const big = join(src, "big");
    mkdirSync(big, { recursive: true });
    // Access times an hour ahead, after the modification and change times: the backup's reads
    // do not move them (relatime), so Tuesday's entries are Monday's.
    const later = Date.now() / 1000 + 3600;
    for (let i = 0; i < FILES; i++) {
      const file = join(big, `${String(i).padStart(6, "0")}-${"x".repeat(240)}`);
      writeFileSync(file, `${i}\n`);
      utimesSync(file, later, later - 7200);
    }
    utimesSync(big, later, later - 7200);
    writeFileSync(join(src, "small.txt"), "monday\n");

    const { root, repo } = await newRepository(join(base, "repo"));
    const first = await backupPaths(repo, [src]);
    const node = await findNode((id) => repo.readTree(id), first.snapshot.tree, big);
    const subtree = node?.subtree as string;
    const listing = await repo.readTree(subtree);
    assert.equal(listing.nodes.length, FILES);
    assert.ok((listing.continuations?.length ?? 0) >= 1, "stored in more than one blob");

    // Tuesday, before anything reads the source (a read moves access times): only small.txt
    // changes, so the big directory's tree is the parent's, reused.
    writeFileSync(join(src, "small.txt"), "tuesday\n");
    const next = (await reopen(root)).repo;
    const commits = recordCommits(next);
    const second = await backupPaths(next, [src], { parent: await next.findSnapshot(first.id) });
    const again = await findNode((id) => next.readTree(id), second.snapshot.tree, big);
    assert.equal(again?.subtree, subtree, "the parent's listing is reused");
    const named = new Set(commits[0]);
    for (const piece of [subtree, ...(listing.continuations ?? [])])
      for (const location of await next.blobLocations(piece))
        assert.ok(named.has(location.pack), `the commit names the pack of piece ${piece}`);

    const reader = (await reopen(root)).repo;
    const target = join(base, "target");
    const restored = await restore(reader, await reader.findSnapshot(second.id), {
      target,
      include: [],
      owner: false,
    });
    assert.deepEqual(restored.damaged, []);
    assert.equal(readdirSync(join(target, big)).length, FILES);
    await assertSameTree(src, join(target, src));
  });
});
