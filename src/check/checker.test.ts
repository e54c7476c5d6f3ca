/**
 * check in process, against a real filesystem store: each kind of damage is reported once,
 * precisely (kind, pack, blob, the files that need it), and never hides what is intact.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  backupPaths,
  firstBlobLocation,
  newRepository,
  reopen,
  type TestRepository,
  writeSourceTree,
} from "../backup/archiver-test-support.js";
import type { BlobLocation } from "../repository/repository.js";
import { flipByte, tempDir } from "../testing/cli.js";
import { check } from "./checker.js";

interface Fixture extends TestRepository {
  readonly snapshotId: string;
  /** "snapshot:/path" of docs/other.bin, as check names files */
  readonly file: string;
  /** where the first blob of docs/other.bin is stored */
  readonly location: BlobLocation;
}

/**
 * A backed-up source tree, and where docs/other.bin's first blob is. In a version 1 repository
 * by default, where each blob is stored alone: damage to one costs that blob (frames.test.ts has
 * a damaged frame).
 */
async function backedUp(
  label: string,
  owner: Parameters<typeof tempDir>[0],
  formatVersion = 1,
): Promise<Fixture> {
  const base = tempDir(owner, label);
  const src = join(base, "src");
  writeSourceTree(src);
  const created = await newRepository(join(base, "repo"), { formatVersion });
  const { id, snapshot } = await backupPaths(created.repo, [src]);
  const path = `${src}/docs/other.bin`;
  const location = await firstBlobLocation(created.repo, snapshot, path);
  assert.ok(location, "other.bin's first blob is indexed");
  return { ...created, snapshotId: id, file: `${id.slice(0, 8)}:${path}`, location };
}

function packPath(root: string, pack: string): string {
  return join(root, "data", pack.slice(0, 2), pack);
}

describe("check", () => {
  it("finds nothing wrong in a fresh backup, structure and data", async (t) => {
    for (const version of [1, 2]) {
      const { repo } = await backedUp(`check-clean-${version}`, t, version);
      const report = await check(repo, { readDataFraction: 1 });
      assert.deepEqual(report.problems, [], `format version ${version}`);
      assert.equal(report.packsRead, report.packs);
      assert.deepEqual(report.unindexedPacks, []);
    }
    const { repo } = await backedUp("check-clean", t);
    const report = await check(repo, { readDataFraction: 1 });
    assert.deepEqual(report.problems, []);
    assert.equal(report.packsRead, report.packs);
    assert.deepEqual(report.unindexedPacks, []);
  });

  it("names a damaged blob, its pack and the file that needs it, and no other blob", async (t) => {
    const { root, location, file } = await backedUp("check-damaged", t);
    flipByte(packPath(root, location.pack), location.offset + 20);
    const structure = await check((await reopen(root)).repo, { readDataFraction: 0 });
    assert.deepEqual(structure.problems, [], "the structure check does not read blobs");

    const report = await check((await reopen(root)).repo, { readDataFraction: 1 });
    const blobs = report.problems.filter((p) => p.kind === "blob");
    assert.deepEqual(
      blobs.map(({ pack, blob, files }) => ({ pack, blob, files })),
      [{ pack: location.pack, blob: location.id, files: [file] }],
    );
    assert.match(blobs[0]?.message ?? "", new RegExp(location.id));
    assert.deepEqual(
      report.problems.filter((p) => p.kind === "pack").map((p) => p.pack),
      [location.pack],
      "the pack no longer hashes to its name",
    );
    assert.equal(report.problems.length, 2);
  });

  it("names a missing blob with the pack it was in and the file that needs it", async (t) => {
    const { root, store, location, file } = await backedUp("check-missing", t);
    await store.delete({ kind: "data", name: location.pack });
    const report = await check((await reopen(root)).repo, { readDataFraction: 1 });
    const missing = report.problems.find((p) => p.blob === location.id);
    assert.deepEqual(missing && { kind: missing.kind, pack: missing.pack, files: missing.files }, {
      kind: "missing-blob",
      pack: location.pack,
      files: [file],
    });
    assert.match(missing?.message ?? "", /no longer stored/);
    assert.ok(report.problems.every((p) => p.kind === "missing-blob"));
  });

  it("names an index that lies about where a pack's blobs are, and uses none of it", async (t) => {
    const { root, repo, location } = await backedUp("check-lying-index", t);
    const entries = (await repo.indexedPacks()).get(location.pack) ?? [];
    const lying = await repo.saveIndex([
      {
        pack: location.pack,
        blobs: entries.map((entry) => ({ ...entry, offset: entry.offset + 1 })),
      },
    ]);
    const report = await check((await reopen(root)).repo, { readDataFraction: 1 });
    assert.deepEqual(
      report.problems.map(({ kind, object }) => ({ kind, object })),
      [{ kind: "index", object: lying }],
    );
  });
});
