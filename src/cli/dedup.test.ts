/**
 * Deduplication as a user sees it: the same data costs nothing the second time, a small edit in a
 * large file costs a few chunks, and many small files share a few pack objects.
 */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { DEFAULT_CHUNKER_PARAMS } from "../chunker/fastcdc.js";
import { DEFAULT_PACK_SIZE } from "../repository/config.js";
import {
  backupSummary,
  expectExit,
  hashFile,
  initAndBackup,
  insertIntoFile,
  listObjects,
  pseudoRandomBytes,
  repositoryBytes,
  runCli,
  tempDir,
  writePseudoRandomFile,
} from "../testing/cli.js";

const KiB = 1024;
const MiB = 1024 * KiB;
const { maxSize } = DEFAULT_CHUNKER_PARAMS;

test("backing up the same data again adds no data and almost no bytes", async (t) => {
  const base = tempDir(t, "dedup-same");
  const src = join(base, "src");
  const repo = join(base, "repo");
  mkdirSync(join(src, "nested"), { recursive: true });
  writePseudoRandomFile(join(src, "large.bin"), 12 * MiB + 321, "same large");
  for (let i = 0; i < 20; i++)
    writePseudoRandomFile(
      join(src, "nested", `file-${i}`),
      (i * 37_813) % (600 * KiB),
      `same ${i}`,
    );
  const first = await initAndBackup(repo, [src]);
  assert.ok(first.bytes_added >= 12 * MiB, `first backup added ${first.bytes_added}`);

  // With the parent: nothing is read.
  const sizeBefore = repositoryBytes(repo);
  const second = backupSummary(
    expectExit(await runCli(["backup", "--repo", repo, "--json", src]), 0, "second backup"),
  );
  assert.equal(second.parent, first.snapshot_id);
  assert.equal(second.bytes_read, 0);
  assert.equal(second.bytes_added, 0);
  assert.equal(second.files_unchanged, first.total_files);
  const growthWithParent = repositoryBytes(repo) - sizeBefore;
  t.diagnostic(`repository growth with the parent: ${growthWithParent} bytes`);
  // A snapshot object and at most a pack of re-encoded trees (atimes moved) with its index.
  assert.ok(growthWithParent <= 16 * KiB, `repository grew by ${growthWithParent} bytes`);

  // Without a parent (another host name): every byte is read and chunked, and all of it is known.
  const sizeBeforeThird = repositoryBytes(repo);
  const third = backupSummary(
    expectExit(
      await runCli(["backup", "--repo", repo, "--json", "--host", "elsewhere", src]),
      0,
      "backup without parent",
    ),
  );
  assert.equal(third.parent, null);
  assert.equal(third.files_new, first.total_files);
  assert.equal(third.bytes_read, first.total_bytes);
  assert.equal(third.bytes_added, 0);
  const growthWithoutParent = repositoryBytes(repo) - sizeBeforeThird;
  t.diagnostic(`repository growth without a parent: ${growthWithoutParent} bytes`);
  assert.ok(growthWithoutParent <= 16 * KiB, `repository grew by ${growthWithoutParent} bytes`);
});

test("inserting a few bytes in the middle of a large file stores only a few chunks", async (t) => {
  const base = tempDir(t, "dedup-insert");
  const src = join(base, "src");
  const repo = join(base, "repo");
  const big = join(src, "big.bin");
  mkdirSync(src);
  writePseudoRandomFile(big, 64 * MiB, "insertion");
  const first = await initAndBackup(repo, [src]);
  assert.equal(first.bytes_added, 64 * MiB);

  const inserted = Buffer.from("a few inserted bytes");
  insertIntoFile(big, 32 * MiB + 12_345, inserted);
  const sizeBefore = repositoryBytes(repo);
  const second = backupSummary(
    expectExit(await runCli(["backup", "--repo", repo, "--json", src]), 0, "second backup"),
  );
  assert.equal(second.files_changed, 1);
  assert.equal(second.bytes_read, 64 * MiB + inserted.length);
  assert.ok(second.bytes_added > 0, "the changed chunk is new");
  // The chunk holding the insertion and, at worst, a neighbour re-cut around it.
  assert.ok(
    second.bytes_added < 3 * maxSize,
    `added ${second.bytes_added} bytes for a ${inserted.length}-byte insertion (max chunk ${maxSize})`,
  );
  const growth = repositoryBytes(repo) - sizeBefore;
  t.diagnostic(`${second.bytes_added} bytes added, repository grew by ${growth} bytes`);
  assert.ok(growth < 3 * maxSize + 64 * KiB, `repository grew by ${growth} bytes`);

  // The file made of old and new chunks restores bit-exact.
  const target = join(base, "restore");
  expectExit(
    await runCli(["restore", "--repo", repo, "latest", "--target", target, "--include", big]),
    0,
    "restore",
  );
  assert.equal(await hashFile(join(target, big)), await hashFile(big));
});

test("thousands of small files are stored in a few pack objects", async (t) => {
  const base = tempDir(t, "dedup-small");
  const src = join(base, "src");
  const repo = join(base, "repo");
  const count = 3000;
  let bytes = 0;
  for (let d = 0; d < 30; d++) mkdirSync(join(src, `dir-${d}`), { recursive: true });
  const seed = pseudoRandomBytes("small files", count * 2);
  for (let i = 0; i < count; i++) {
    // Text, as most small files are: distinct per file, so nothing dedups away. (Small
    // incompressible files trip a compressor bug, tested on its own below.)
    const size = seed.readUInt16LE(i * 2) % (4 * KiB);
    const line = `small file ${i}, ${seed.toString("hex", i * 2, i * 2 + 2)}: some text\n`;
    writeFileSync(join(src, `dir-${i % 30}`, `small-${i}.txt`), line.repeat(size).slice(0, size));
    bytes += size;
  }
  const summary = await initAndBackup(repo, [src]);
  assert.equal(summary.files_new, count);
  assert.equal(summary.total_bytes, bytes);
  const packs = listObjects(repo, "data");
  t.diagnostic(`${count} files in ${packs.length} packs`);
  // Full packs, then what each blob worker (the CLI runs at most two) holds open when the backup
  // ends: a data pack and a tree pack, kept apart so reading trees never touches file data.
  const expected = Math.ceil(bytes / DEFAULT_PACK_SIZE) + 2 * 2;
  assert.ok(
    packs.length <= expected,
    `${count} files (${bytes} bytes) became ${packs.length} packs`,
  );
  assert.ok(listObjects(repo, "index").length <= 1, "one index for one backup");

  // And they are all there: a sample read back byte for byte.
  const sample = join(src, "dir-7", "small-2017.txt");
  const cat = expectExit(await runCli(["cat", "--repo", repo, "latest", sample]), 0, "cat");
  assert.ok(cat.stdoutBytes.equals(readFileSync(sample)));
  assert.equal(statSync(sample).size, cat.stdoutBytes.length);
});

test("small incompressible files of growing sizes back up", async (t) => {
  const base = tempDir(t, "dedup-incompressible");
  const src = join(base, "src");
  const repo = join(base, "repo");
  mkdirSync(src);
  // Random bytes do not compress; each size is a little above the previous one, as happens
  // with any set of small encrypted or already-compressed files. Given as paths, they are read
  // in this order whatever the directory order.
  const paths = Array.from({ length: 40 }, (_, i) => join(src, `f${String(i).padStart(3, "0")}`));
  paths.forEach((path, i) => {
    writePseudoRandomFile(path, 1000 + 30 * i, `incompressible ${i}`);
  });
  const summary = await initAndBackup(repo, paths);
  assert.equal(summary.files_new, paths.length);
  assert.equal(summary.files_unreadable, 0);
  const target = join(base, "restore");
  expectExit(await runCli(["restore", "--repo", repo, "latest", "--target", target]), 0, "restore");
  for (const path of paths) assert.equal(await hashFile(join(target, path)), await hashFile(path));
});
