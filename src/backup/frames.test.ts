/**
 * Frames, end to end (repository format version 2, docs/FORMAT.md "Frames"): a share of small
 * files and larger ones is stored in frames and restored bit-exact, whatever closes a frame (the
 * next blob not fitting, a pack filling up, the end of the backup with one blob pending); a
 * version 1 repository is still written without them; a damaged frame costs its files and no
 * other.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { check } from "../check/checker.js";
import { FRAME_BYTES } from "../repository/frame.js";
import type { BlobLocation, Repository } from "../repository/repository.js";
import { restore } from "../restore/restorer.js";
import { findNode } from "../snapshot/walk.js";
import { assertSameTree, flipByte, tempDir, writePseudoRandomFile } from "../testing/cli.js";
import { backupPaths, firstBlobLocation, newRepository, reopen } from "./archiver-test-support.js";

const OPTIONS = { include: [], owner: false } as const;

/**
 * 600 small files (~2.6 MB: frames close on size), some incompressible, some empty, and files
 * larger than a frame takes.
 */
function writeShare(src: string): void {
  for (let dir = 0; dir < 6; dir++) {
    const path = join(src, `dir${dir}`);
    mkdirSync(path, { recursive: true });
    for (let i = 0; i < 100; i++) {
      const name = join(path, `page${i}.html`);
      if (i % 10 === 0) writePseudoRandomFile(name, 1000 + i * 37, `noise ${dir}/${i}`);
      else if (i % 33 === 0) writeFileSync(name, "");
      else writeFileSync(name, `<p>${dir}/${i}</p>${"<li>the same line</li>\n".repeat(i * 3)}`);
    }
  }
  writePseudoRandomFile(join(src, "big.bin"), 300 * 1024, "big");
  writePseudoRandomFile(join(src, "just-under.bin"), 64 * 1024 - 1, "just under");
}

async function entries(repo: Repository): Promise<BlobLocation[]> {
  return [...(await repo.indexedPacks())].flatMap(([pack, list]) =>
    list.map((entry) => ({ ...entry, pack })),
  );
}

/** The frames of the repository: sealed places shared by several entries. */
function frames(all: readonly BlobLocation[]): Map<string, BlobLocation[]> {
  const found = new Map<string, BlobLocation[]>();
  for (const entry of all.filter((e) => e.framed)) {
    const key = `${entry.pack}:${entry.offset}`;
    found.set(key, [...(found.get(key) ?? []), entry]);
  }
  return found;
}

async function restoreAll(root: string, id: string, target: string) {
  const reader = (await reopen(root)).repo;
  return restore(reader, await reader.findSnapshot(id), { ...OPTIONS, target });
}

/** Restores snapshot `id` of `src` into `base`/target: nothing damaged, every file bit-exact. */
async function restoresBitExact(root: string, id: string, src: string, base: string) {
  const target = join(base, "target");
  assert.deepEqual((await restoreAll(root, id, target)).damaged, []);
  await assertSameTree(src, join(target, src));
}

describe("frames of small files", () => {
  it("a share of small files is stored in frames and restored bit-exact", async (t) => {
    const base = tempDir(t, "frames");
    const src = join(base, "src");
    writeShare(src);
    // A small pack size: packs close while a frame is pending, as on a real share.
    const { root, repo } = await newRepository(join(base, "repo"), { packSize: 256 * 1024 });
    const { id } = await backupPaths(repo, [src]);
    const all = await entries((await reopen(root)).repo);
    const found = frames(all);
    assert.ok(found.size >= 2, `several frames (${found.size})`);
    for (const members of found.values()) {
      assert.ok(members.length >= 2, "a frame holds blobs");
      const plaintext = members.reduce((sum, e) => sum + e.rawLength + 36, 4);
      assert.ok(plaintext <= FRAME_BYTES, `a frame holds at most ${FRAME_BYTES} bytes`);
    }
    const data = all.filter((e) => e.type === "data");
    // Alone: only a blob left by itself when its pack closed or the backup ended.
    assert.ok(data.filter((e) => !e.framed).length <= 4, "data blobs share frames");
    await restoresBitExact(root, id, src, base);
  });

  it("one small file alone, at the end of a backup, is stored alone and restored", async (t) => {
    const base = tempDir(t, "frames-lone");
    const src = join(base, "src");
    mkdirSync(src);
    writeFileSync(join(src, "note.txt"), "a note\n".repeat(50));
    const { root, repo } = await newRepository(join(base, "repo"));
    const { id } = await backupPaths(repo, [src]);
    const data = (await entries((await reopen(root)).repo)).filter((e) => e.type === "data");
    assert.equal(data.length, 1);
    assert.equal(data[0]?.framed, undefined, "a frame of one would be a blob with a table");
    await restoresBitExact(root, id, src, base);
  });

  it("a version 1 repository is written without frames, as the programs that made it read it", async (t) => {
    const base = tempDir(t, "frames-v1");
    const src = join(base, "src");
    writeShare(src);
    const { root, repo } = await newRepository(join(base, "repo"), { formatVersion: 1 });
    assert.equal(repo.config.version, 1);
    const { id } = await backupPaths(repo, [src]);
    const reader = (await reopen(root)).repo;
    assert.equal(reader.config.version, 1, "reopened as it was made");
    assert.ok((await entries(reader)).every((e) => !e.framed));
    await restoresBitExact(root, id, src, base);
  });

  it("a damaged frame costs the files whose blobs it holds, and only those", async (t) => {
    const base = tempDir(t, "frames-damaged");
    const src = join(base, "src");
    writeShare(src);
    const { root, repo } = await newRepository(join(base, "repo"));
    const { id, snapshot } = await backupPaths(repo, [src]);
    const path = `${src}/dir2/page5.html`;
    const location = await firstBlobLocation(repo, snapshot, path);
    assert.ok(location?.framed, "the file's blob is in a frame");
    const inFrame = (await entries(repo)).filter(
      (e) => e.framed && e.pack === location.pack && e.offset === location.offset,
    );
    flipByte(join(root, "data", location.pack.slice(0, 2), location.pack), location.offset + 40);

    const target = join(base, "target");
    const result = await restoreAll(root, id, target);
    const damaged = result.damaged.map((d) => d.path);
    assert.ok(damaged.includes(path));
    // Every damaged file is one whose blob the frame held (files with equal bytes share one).
    const heldIds = new Set(inFrame.map((e) => e.id));
    for (const file of damaged) {
      const content = (await findNode((tree) => repo.readTree(tree), snapshot.tree, file))?.content;
      assert.ok(
        content?.some((blob) => heldIds.has(blob)),
        `${file} needs the damaged frame`,
      );
      assert.equal(existsSync(join(target, file)), false);
    }
    const lost = new Set(damaged.map((file) => file.slice(src.length + 1)));
    await assertSameTree(src, join(target, src), { exclude: (relative) => lost.has(relative) });

    // check --read-data names every blob of the frame, with the files that need it, and no other.
    const report = await check((await reopen(root)).repo, { readDataFraction: 1 });
    const named = report.problems.filter((p) => p.kind === "blob");
    assert.deepEqual(named.map((p) => p.blob).sort(), [...heldIds].sort());
    const needing = new Set(named.flatMap((p) => p.files ?? []).map((f) => f.slice(9)));
    assert.deepEqual([...needing].sort(), [...damaged].sort());
  });
});
