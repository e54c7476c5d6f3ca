/**
 * Backup then restore through the real CLI must give back every byte and every piece of metadata
 * of a tree built to hold what real file servers hold and naive tools get wrong: odd names, deep
 * nesting, holes, links of all kinds, special permission bits, owners, fine-grained times,
 * extended attributes and FIFOs. The read-only commands (ls, cat, diff, stats) are checked
 * against the same tree, and a second backup against its parent.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  appendFileSync,
  chmodSync,
  closeSync,
  lchownSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { captureMetadata, metadataEqual } from "../snapshot/fs-metadata.js";
import { setXattr } from "../snapshot/fs-native.js";
import { userXattrsWork } from "../snapshot/fs-native-test-support.js";
import {
  assertSameTree,
  type BackupSummary,
  backupSummary,
  captureTree,
  expectExit,
  hashFile,
  IS_ROOT,
  jsonLines,
  jsonOutput,
  listObjects,
  NOBODY,
  pseudoRandomBytes,
  repositoryBytes,
  runCli,
  tempDir,
  writePseudoRandomFile,
  zerosHash,
} from "../testing/cli.js";

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const DEPTH = 60;
/** 127 two-byte "é" and one "x": the longest name ext4 and the tree format allow. */
const LONG_NAME = `${"é".repeat(127)}x`;
const LONG_ASCII_DIR = "d".repeat(255);

const NEWLINE_FILE = "names/new\nline";
const RANDOM_FILE = "regular/random-3MiB.bin";
const SPARSE_FILE = "sparse/one-gib.img";
const PARTIAL_SPARSE_FILE = "sparse/partial.img";

/** The relative paths below the deep chain, "deep/d00/…/d59/leaf.txt". */
function deepPath(levels: number): string {
  return [
    "deep",
    ...Array.from({ length: levels }, (_, i) => `d${String(i).padStart(2, "0")}`),
  ].join("/");
}

/** Sets atime and mtime to the nanosecond with GNU touch (Node's utimes stops at microseconds). */
function touch(path: string, seconds: string): void {
  const result = spawnSync("touch", ["-h", "-d", `@${seconds}`, "--", path], { encoding: "utf8" });
  assert.equal(result.status, 0, result.stderr);
}

function mkfifo(path: string): void {
  const result = spawnSync("mkfifo", ["--", path], { encoding: "utf8" });
  assert.equal(result.status, 0, result.stderr);
}

/** Builds the tree; returns whether user.* xattrs were set (the filesystem may refuse them). */
function buildTree(src: string): boolean {
  const at = (relative: string) => join(src, relative);
  const dir = (relative: string) => mkdirSync(at(relative), { recursive: true });
  const file = (relative: string, content: string | Uint8Array) => {
    mkdirSync(dirname(at(relative)), { recursive: true });
    writeFileSync(at(relative), content);
  };

  file("regular/plain.txt", "plain text\n");
  writePseudoRandomFile(at(RANDOM_FILE), 3 * MiB + 12_345, "round-trip random");
  // Same bytes under another name: stored once, restored twice.
  writePseudoRandomFile(at("regular/copy-of-random.bin"), 3 * MiB + 12_345, "round-trip random");

  dir("unicode/ Ünïcødé dir");
  file("unicode/café-crème.txt", "accents\n");
  file("unicode/日本語のファイル.txt", "CJK\n");
  file("unicode/emoji-🎉🦀.bin", pseudoRandomBytes("emoji", 7777));
  file("unicode/ Ünïcødé dir/ń", "combining\n");
  // NFC and NFD spellings of "café" are two different names: a normalizing tool would merge them.
  file("unicode/caf\u00e9", "precomposed\n");
  file("unicode/cafe\u0301", "decomposed\n");

  dir("names");
  file("names/with space.txt", "spaces\n");
  file("names/  leading and trailing  ", "padded\n");
  file(NEWLINE_FILE, "a newline in the name\n");
  file("names/tab\there", "tab\n");
  file("names/back\\slash", "backslash\n");
  file("names/*glob?[x]", "glob\n");
  file("names/-starts-with-dash", "dash\n");
  file("names/.hidden", "hidden\n");
  file(`names/${LONG_NAME}`, "255 bytes of name\n");
  dir(`names/${LONG_ASCII_DIR}`);
  file(`names/${LONG_ASCII_DIR}/inside`, "inside a 255-byte directory\n");

  dir(deepPath(DEPTH));
  file(`${deepPath(DEPTH)}/leaf.txt`, `${DEPTH} levels down\n`);

  dir("zero");
  file("zero/empty.txt", "");
  file("zero/empty-private", "");
  dir("empty/one");
  dir("empty/two/three");

  dir("sparse");
  writeFileSync(at(SPARSE_FILE), "");
  truncateSync(at(SPARSE_FILE), GiB);
  // Data islands in a sea of holes: the holes must come back as holes, the data as data.
  const fd = openSync(at(PARTIAL_SPARSE_FILE), "w");
  writeSync(fd, pseudoRandomBytes("island 1", 4096), 0, 4096, 0);
  writeSync(fd, pseudoRandomBytes("island 2", 4096), 0, 4096, 5 * MiB + 17);
  closeSync(fd);
  truncateSync(at(PARTIAL_SPARSE_FILE), 9 * MiB);

  dir("links/sub");
  symlinkSync("../regular/plain.txt", at("links/relative"));
  symlinkSync("/etc/hostname", at("links/absolute"));
  symlinkSync("nowhere/missing-target", at("links/dangling"));
  symlinkSync("../regular", at("links/to-directory"));
  file("links/original", "hard-linked content\n");
  linkSync(at("links/original"), at("links/sub/second"));
  linkSync(at("links/original"), at("links/third"));
  file("links/empty-a", "");
  linkSync(at("links/empty-a"), at("links/empty-b"));

  dir("special");
  mkfifo(at("special/fifo"));

  dir("perms/sticky");
  dir("perms/setgid-dir");
  dir("perms/read-only-dir");
  file("perms/read-only-dir/inside", "in a read-only directory\n");
  dir("perms/private-dir");
  file("perms/private", "0600\n");
  file("perms/executable", "#!/bin/sh\n");
  file("perms/setuid", "#!/bin/sh\n");
  file("perms/setgid", "#!/bin/sh\n");
  // Root reads it anyway; anyone else could not back it up (errors.test.ts covers that case).
  if (IS_ROOT) file("perms/no-permissions", "0000\n");

  dir("times");
  file("times/before-1970", "old\n");
  file("times/year-2100", "future\n");
  file("times/whole-second", "round\n");

  const xattrs = userXattrsWork(src);
  if (xattrs) {
    file("xattrs/tagged", "has extended attributes\n");
    setXattr(at("xattrs/tagged"), "user.rempart.text", Buffer.from("hello"));
    setXattr(at("xattrs/tagged"), "user.rempart.binary", Buffer.from([0, 1, 255, 0, 7]));
    setXattr(at("xattrs"), "user.rempart.dir", Buffer.from("on a directory"));
  }

  // Owners before modes: chown clears setuid and setgid.
  if (IS_ROOT) {
    lchownSync(at("regular/plain.txt"), 1234, 5678);
    lchownSync(at("unicode"), 4321, 8765);
    lchownSync(at("links/original"), 2000, 2001);
    lchownSync(at("links/relative"), 3000, 3001);
    lchownSync(at("special/fifo"), 4000, 4001);
    lchownSync(at("perms/setuid"), 4242, 4243);
    lchownSync(at("perms/setgid"), 0, 50);
    lchownSync(at("perms/private-dir"), NOBODY, NOBODY);
    lchownSync(at(`${deepPath(DEPTH)}/leaf.txt`), 65_000, 65_001);
  }
  chmodSync(at("special/fifo"), 0o640);
  chmodSync(at("perms/sticky"), 0o1777);
  chmodSync(at("perms/setgid-dir"), 0o2775);
  chmodSync(at("perms/read-only-dir/inside"), 0o444);
  chmodSync(at("perms/read-only-dir"), 0o555);
  chmodSync(at("perms/private-dir"), 0o700);
  chmodSync(at("perms/private"), 0o600);
  chmodSync(at("perms/executable"), 0o755);
  chmodSync(at("perms/setuid"), 0o4755);
  chmodSync(at("perms/setgid"), 0o2755);
  if (IS_ROOT) chmodSync(at("perms/no-permissions"), 0o000);
  chmodSync(at("zero/empty-private"), 0o600);

  // Times last and children before parents: creating an entry moves its directory's mtime.
  const entries = [...captureTree(src).keys()].sort(
    (a, b) => b.split("/").length - a.split("/").length || (a < b ? -1 : 1),
  );
  const fixed = new Map([
    ["times/before-1970", "-123456789.987654321"],
    ["times/year-2100", "4102444800.5"],
    ["times/whole-second", "1600000000"],
  ]);
  entries.forEach((relative, i) => {
    const nanos = String((i * 7_919_423 + 123_456_789) % 1e9).padStart(9, "0");
    touch(at(relative), fixed.get(relative) ?? `${1_500_000_000 + i * 86_413}.${nanos}`);
  });
  return xattrs;
}

/** Sum of sizes and count of regular files, each hard-link name counted, as a snapshot counts. */
function fileTotals(root: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  for (const node of captureTree(root).values())
    if (node.type === "file") {
      files++;
      bytes += node.size ?? 0;
    }
  return { files, bytes };
}

describe("backup and restore round trip", () => {
  const base = tempDir({ after }, "round-trip");
  const src = join(base, "src");
  const repo = join(base, "repo");
  const restoredRoot = join(base, "restore");
  /** Where the snapshot of `src` lands inside a restore target: the full path, as restic does. */
  const inTarget = (target: string, relative = "") => join(target, src, relative);
  let xattrs = false;
  let first: BackupSummary;

  before(async () => {
    xattrs = buildTree(src);
    expectExit(await runCli(["init", "--repo", repo]), 0, "init");
    first = backupSummary(
      expectExit(await runCli(["backup", "--repo", repo, "--json", src]), 0, "backup"),
    );
  });

  it("backs up every file, and holes cost no space in the repository", () => {
    const totals = fileTotals(src);
    assert.equal(first.files_new, totals.files);
    assert.equal(first.total_files, totals.files);
    assert.equal(first.total_bytes, totals.bytes);
    assert.equal(first.files_unreadable, 0);
    assert.equal(first.parent, null);
    // 1 GiB of zeros and two copies of the random file dedup to a few MiB.
    assert.ok(first.bytes_added < 16 * MiB, `bytes_added ${first.bytes_added}`);
    assert.ok(repositoryBytes(repo) < 16 * MiB, `repository is ${repositoryBytes(repo)} bytes`);
  });

  it("restores every byte and every piece of metadata, directory times included", async (t) => {
    const result = expectExit(
      await runCli(["restore", "--repo", repo, "latest", "--target", restoredRoot, "--json"]),
      0,
      "restore",
    );
    const report = jsonOutput<{ damaged: unknown[]; warnings: number }>(result);
    assert.deepEqual(report.damaged, []);
    assert.equal(report.warnings, 0, result.stderr);
    assert.equal(result.stderr, "");
    await assertSameTree(src, inTarget(restoredRoot));
    if (!xattrs) t.diagnostic("the temp filesystem refuses user.* xattrs: not tested");
    if (xattrs) {
      const tagged = captureTree(inTarget(restoredRoot, "xattrs")).get("tagged");
      assert.equal(tagged?.xattrs?.length, 2, "the xattrs were compared, so they must be there");
    }
  });

  it("restores special files as what they were", () => {
    const at = (relative: string) => inTarget(restoredRoot, relative);
    assert.ok(lstatSync(at("special/fifo")).isFIFO());
    assert.equal(readlinkOf(at("links/absolute")), "/etc/hostname");
    assert.equal(readlinkOf(at("links/dangling")), "nowhere/missing-target");
    const inodes = ["links/original", "links/sub/second", "links/third"].map(
      (p) => lstatSync(at(p)).ino,
    );
    assert.equal(new Set(inodes).size, 1, "hard links restored as one inode");
    assert.equal(lstatSync(at("links/empty-a")).ino, lstatSync(at("links/empty-b")).ino);
    assert.equal(lstatSync(at("perms/setuid")).mode & 0o7777, 0o4755);
    assert.equal(lstatSync(at("perms/sticky")).mode & 0o7777, 0o1777);
    assert.equal(readFileSync(at(NEWLINE_FILE), "utf8"), "a newline in the name\n");
    assert.ok(lstatSync(at(`${deepPath(DEPTH)}/leaf.txt`)).isFile());
  });

  it("restores a 1 GiB sparse file sparse, as zeros", async () => {
    const restored = inTarget(restoredRoot, SPARSE_FILE);
    const stats = statSync(restored);
    assert.equal(stats.size, GiB);
    assert.ok(stats.blocks * 512 <= MiB, `${stats.blocks} blocks allocated for a sparse file`);
    assert.equal(await hashFile(restored), zerosHash(GiB));
    const partial = statSync(inTarget(restoredRoot, PARTIAL_SPARSE_FILE));
    assert.equal(partial.size, 9 * MiB);
    assert.ok(partial.blocks * 512 <= 2 * MiB, `${partial.blocks} blocks for two 4 KiB islands`);
  });

  it("restores only the included paths", async () => {
    const target = join(base, "partial");
    const id = first.snapshot_id.slice(0, 10);
    expectExit(
      await runCli([
        "restore",
        "--repo",
        repo,
        id,
        "--target",
        target,
        "--include",
        join(src, "unicode"),
        "--include",
        join(src, "regular/plain.txt"),
      ]),
      0,
      "restore --include",
    );
    assert.deepEqual(readdirSync(inTarget(target)).sort(), ["regular", "unicode"]);
    assert.deepEqual(readdirSync(inTarget(target, "regular")), ["plain.txt"]);
    await assertSameTree(join(src, "unicode"), inTarget(target, "unicode"));
    const name = "plain.txt";
    const original = join(src, "regular", name);
    const copy = inTarget(target, `regular/${name}`);
    assert.deepEqual(
      metadataEqual(
        captureMetadata(original, name, lstatSync(original)),
        captureMetadata(copy, name, lstatSync(copy)),
      ),
      [],
    );
    assert.equal(readFileSync(copy, "utf8"), "plain text\n");
  });

  it("lists the snapshot as it was, with ls", async () => {
    const listed = jsonLines(
      expectExit(await runCli(["ls", "--repo", repo, "latest", "--json"]), 0, "ls").stdout,
    ) as { path: string; type: string; size: number; mode: number; uid: number; gid: number }[];
    const ours = listed.filter((e) => e.path === src || e.path.startsWith(`${src}/`));
    const expected = captureTree(src);
    assert.deepEqual(
      ours.map((e) => e.path).sort(),
      [...expected.keys()].map((relative) => (relative === "" ? src : join(src, relative))).sort(),
    );
    for (const entry of ours) {
      const node = expected.get(entry.path === src ? "" : entry.path.slice(src.length + 1));
      assert.ok(node);
      assert.deepEqual(
        {
          type: entry.type,
          size: entry.size,
          mode: entry.mode,
          uid: entry.uid,
          gid: entry.gid,
        },
        {
          type: node.type,
          size: node.size ?? 0,
          mode: node.mode,
          uid: node.uid,
          gid: node.gid,
        },
        entry.path,
      );
    }
    // The ancestors of the backed-up path are in the snapshot too, as directories.
    assert.ok(listed.some((e) => e.path === base && e.type === "dir"));

    const deep = jsonLines(
      expectExit(
        await runCli(["ls", "--repo", repo, "latest", join(src, "deep"), "--json"]),
        0,
        "ls PATH",
      ).stdout,
    ) as { path: string }[];
    assert.equal(deep.length, DEPTH + 2, "deep, its 60 levels and the leaf");
    assert.ok(deep.every((e) => e.path.startsWith(join(src, "deep"))));
  });

  it("prints a file's exact bytes with cat", async () => {
    for (const relative of [RANDOM_FILE, NEWLINE_FILE, PARTIAL_SPARSE_FILE]) {
      const result = expectExit(
        await runCli(["cat", "--repo", repo, "latest", join(src, relative)]),
        0,
        `cat ${relative}`,
      );
      assert.ok(result.stdoutBytes.equals(readFileSync(join(src, relative))), relative);
    }
  });

  it("reports repository statistics that add up", async () => {
    const stats = jsonOutput<{
      snapshots: number;
      files: number;
      logical_bytes: number;
      unique_bytes: number;
      unique_stored_bytes: number;
      repository_pack_bytes: number;
      dedup_ratio: number;
    }>(expectExit(await runCli(["stats", "--repo", repo, "--json"]), 0, "stats"));
    const totals = fileTotals(src);
    assert.equal(stats.snapshots, 1);
    assert.equal(stats.files, totals.files);
    assert.equal(stats.logical_bytes, totals.bytes);
    // The random file is stored once; everything else is smaller than 1 MiB or zeros.
    assert.ok(stats.unique_bytes >= 3 * MiB + 12_345, `unique ${stats.unique_bytes}`);
    assert.ok(stats.unique_bytes < 8 * MiB, `unique ${stats.unique_bytes}`);
    assert.ok(stats.unique_stored_bytes <= stats.repository_pack_bytes);
    assert.equal(
      stats.repository_pack_bytes,
      listObjects(repo, "data").reduce((sum, pack) => sum + pack.size, 0),
    );
    assert.ok(Math.abs(stats.dedup_ratio - stats.logical_bytes / stats.unique_bytes) < 1e-9);
    assert.ok(stats.dedup_ratio > 100, "1 GiB of holes dedups");
  });

  it("backs up only what changed since the parent, and diff tells what that was", async () => {
    const totals = fileTotals(src);
    const second = backupSummary(
      expectExit(await runCli(["backup", "--repo", repo, "--json", src]), 0, "second backup"),
    );
    assert.equal(second.parent, first.snapshot_id);
    assert.deepEqual(
      {
        new: second.files_new,
        changed: second.files_changed,
        unchanged: second.files_unchanged,
        read: second.bytes_read,
        added: second.bytes_added,
      },
      { new: 0, changed: 0, unchanged: totals.files, read: 0, added: 0 },
    );

    // Metadata only (the file is read again: its ctime moved), content, a new file, a removal.
    chmodSync(join(src, "regular/plain.txt"), 0o640);
    appendFileSync(join(src, "names/with space.txt"), "more\n");
    writeFileSync(join(src, "regular/new-file.txt"), "new\n");
    rmSync(join(src, "zero/empty.txt"));
    const third = backupSummary(
      expectExit(await runCli(["backup", "--repo", repo, "--json", src]), 0, "third backup"),
    );
    assert.equal(third.parent, second.snapshot_id);
    const size = (relative: string) => statSync(join(src, relative)).size;
    assert.deepEqual(
      {
        new: third.files_new,
        changed: third.files_changed,
        unchanged: third.files_unchanged,
        read: third.bytes_read,
        total: third.total_files,
      },
      {
        new: 1,
        changed: 2,
        unchanged: totals.files - 3,
        read: size("regular/plain.txt") + size("names/with space.txt") + 4,
        total: totals.files,
      },
    );

    const { changes } = jsonOutput<{ changes: unknown[] }>(
      expectExit(
        await runCli([
          "diff",
          "--repo",
          repo,
          second.snapshot_id.slice(0, 12),
          third.snapshot_id,
          "--json",
        ]),
        0,
        "diff",
      ),
    );
    assert.deepEqual(changes, [
      {
        change: "modified",
        path: join(src, "names/with space.txt"),
        size: "spaces\nmore\n".length,
        previous_size: "spaces\n".length,
      },
      { change: "added", path: join(src, "regular/new-file.txt"), size: 4 },
      { change: "removed", path: join(src, "zero/empty.txt"), size: 0 },
    ]);

    // The snapshot built from the parent's reused content restores as the tree is now.
    const target = join(base, "third");
    expectExit(
      await runCli(["restore", "--repo", repo, "latest", "--target", target]),
      0,
      "restore of the third snapshot",
    );
    await assertSameTree(src, inTarget(target));
  });
});

function readlinkOf(path: string): string {
  assert.ok(lstatSync(path).isSymbolicLink(), `${path} is a symlink`);
  return readlinkSync(path);
}
