/**
 * What the CLI does when things are wrong: the user's mistakes get a sentence and exit code, never
 * a stack trace; damage to the repository is found, named (pack and file) and contained; and a
 * repository written by an attacker cannot make a restore write outside its target.
 */
import assert from "node:assert/strict";
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { isRempartError } from "../errors.js";
import { forgedSnapshot, openAsAttacker } from "../repository/forge-test-support.js";
import { PackBuilder } from "../repository/pack.js";
import { decodeTree, type TreeNode } from "../snapshot/tree.js";
import { findNode, walkTree } from "../snapshot/walk.js";
import { FsObjectStore } from "../storage/fs/fs-store.js";
import {
  assertCleanFailure,
  assertSameTree,
  type BackupSummary,
  backupSummary,
  describeResult,
  expectExit,
  flipByte,
  IS_ROOT,
  initAndBackup,
  jsonOutput,
  listObjects,
  NOBODY,
  openRepository,
  PASSWORD,
  pseudoRandomBytes,
  resizeFilesystem,
  runCli,
  smallFilesystem,
  tempDir,
  writePseudoRandomFile,
} from "../testing/cli.js";

const KiB = 1024;
const MiB = 1024 * KiB;
const VICTIM = "victim.bin";

/** A small tree whose files are all distinct, so a damaged blob belongs to exactly one file. */
function buildSource(src: string): void {
  mkdirSync(join(src, "docs"), { recursive: true });
  mkdirSync(join(src, "data"));
  writePseudoRandomFile(join(src, VICTIM), 200 * KiB, "victim");
  writePseudoRandomFile(join(src, "data", "other.bin"), 2 * MiB + 77, "other");
  writeFileSync(join(src, "docs", "readme.txt"), "read me\n".repeat(100));
  writeFileSync(join(src, "docs", "notes.txt"), "some notes\n");
  writeFileSync(join(src, "data", "empty"), "");
}

interface BlobOnDisk {
  readonly pack: string;
  readonly packPath: string;
  readonly offset: number;
  readonly length: number;
  /** snapshot paths of the files with any blob in the same pack */
  readonly filesInPack: readonly string[];
  /**
   * snapshot paths of the files with any blob in the same sealed bytes: the file alone, or
   * every file with a blob in the same frame (docs/FORMAT.md), since damage there costs them all
   */
  readonly filesSharing: readonly string[];
}

/** Where a file's first data blob sits, in which pack file, and what else that pack holds. */
async function locateFirstBlob(repo: string, path: string): Promise<BlobOnDisk> {
  const opened = await openRepository(repo);
  const snapshot = await opened.findSnapshot("latest");
  const readTree = (id: string) => opened.readTree(id);
  const node = await findNode(readTree, snapshot.snapshot.tree, path);
  const blob = node?.content?.[0];
  assert.ok(blob, `${path} has content in the snapshot`);
  const [location] = await opened.blobLocations(blob);
  assert.ok(location, `${path}'s first blob is indexed`);
  const filesInPack = new Set<string>();
  const filesSharing = new Set<string>();
  for await (const entry of walkTree(readTree, snapshot.snapshot.tree))
    for (const id of entry.node.content ?? []) {
      const [where] = await opened.blobLocations(id);
      if (where?.pack !== location.pack) continue;
      filesInPack.add(entry.path);
      if (where.offset === location.offset) filesSharing.add(entry.path);
    }
  return {
    pack: location.pack,
    packPath: join(repo, "data", location.pack.slice(0, 2), location.pack),
    offset: location.offset,
    length: location.length,
    filesInPack: [...filesInPack].sort(),
    filesSharing: [...filesSharing].sort(),
  };
}

/** Every path under root whose last component is `name`. */
function findNamed(root: string, name: string): string[] {
  if (!existsSync(root)) return [];
  const found: string[] = [];
  const visit = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.name === name) found.push(path);
      if (entry.isDirectory()) visit(path);
    }
  };
  visit(root);
  return found;
}

describe("CLI errors and damaged repositories", () => {
  const base = tempDir({ after }, "errors");
  const src = join(base, "src");
  const fixture = join(base, "fixture-repo");
  let backup: BackupSummary;
  let copies = 0;
  /** A private copy of the fixture repository, for a test that damages it. */
  const copyRepository = (): string => {
    const copy = join(base, `repo-copy-${++copies}`);
    cpSync(fixture, copy, { recursive: true });
    return copy;
  };

  before(async () => {
    buildSource(src);
    backup = await initAndBackup(fixture, [src]);
  });

  it("a wrong password exits 10 with a clear message", async () => {
    const fromEnv = await runCli(["snapshots", "--repo", fixture], {
      password: "not the password",
    });
    expectExit(fromEnv, 10);
    assertCleanFailure(fromEnv);
    assert.match(fromEnv.stderr, /wrong password/i);

    const file = join(base, "wrong-password");
    writeFileSync(file, "also wrong\n");
    const fromFile = await runCli(["snapshots", "--repo", fixture, "--password-file", file], {
      password: null,
    });
    expectExit(fromFile, 10);
    assertCleanFailure(fromFile);
    assert.match(fromFile.stderr, /wrong password/i);
  });

  it("a missing repository exits 1 and names what is missing", async () => {
    const nowhere = join(base, "no-such-repository");
    const missing = await runCli(["snapshots", "--repo", nowhere]);
    expectExit(missing, 1);
    assertCleanFailure(missing);
    assert.ok(missing.stderr.includes(nowhere), missing.stderr);

    // The layout without a config: an init that never finished.
    const unfinished = join(base, "unfinished");
    for (const dir of ["keys", "data", "index", "snapshots", "tmp"])
      mkdirSync(join(unfinished, dir), { recursive: true });
    const noConfig = await runCli(["snapshots", "--repo", unfinished]);
    expectExit(noConfig, 1);
    assertCleanFailure(noConfig);
    assert.match(noConfig.stderr, /no repository/i);

    const noRepoGiven = await runCli(["snapshots"]);
    expectExit(noRepoGiven, 1);
    assertCleanFailure(noRepoGiven);
    assert.match(noRepoGiven.stderr, /--repo/);
  });

  it("init refuses a directory that already holds a repository, and leaves it intact", async () => {
    const repo = copyRepository();
    const config = readFileSync(join(repo, "config"));
    const keys = listObjects(repo, "keys");
    const again = await runCli(["init", "--repo", repo], { password: "another password" });
    expectExit(again, 1);
    assertCleanFailure(again);
    assert.match(again.stderr, /already exists/i);
    assert.ok(readFileSync(join(repo, "config")).equals(config), "config untouched");
    assert.deepEqual(listObjects(repo, "keys"), keys, "no key slot added");
    const snapshots = jsonOutput<{ id: string }[]>(
      expectExit(await runCli(["snapshots", "--repo", repo, "--json"]), 0),
    );
    assert.deepEqual(
      snapshots.map((s) => s.id),
      [backup.snapshot_id],
    );
  });

  it("a garbage config is reported as damage, not as a crash or a wrong password", async () => {
    const repo = copyRepository();
    const config = join(repo, "config");
    const variants: [string, Uint8Array][] = [
      ["random bytes", pseudoRandomBytes("garbage config", 300)],
      ["an empty file", new Uint8Array(0)],
      ["plain JSON", Buffer.from('{"version":1}')],
    ];
    for (const [what, bytes] of variants) {
      chmodSync(config, 0o600);
      writeFileSync(config, bytes);
      const result = await runCli(["snapshots", "--repo", repo]);
      assertCleanFailure(result);
      assert.notEqual(
        result.code,
        10,
        `${what}: not a password problem\n${describeResult(result)}`,
      );
      assert.match(result.stderr, /config/i, what);
    }
  });

  it("garbled key slots are reported as damage, not as a wrong password", async () => {
    const repo = copyRepository();
    for (const key of listObjects(repo, "keys")) {
      chmodSync(key.path, 0o600);
      writeFileSync(key.path, pseudoRandomBytes("garbage key", 200));
    }
    const result = await runCli(["snapshots", "--repo", repo]);
    expectExit(result, 11);
    assertCleanFailure(result);
    assert.match(result.stderr, /key slot/i);
  });

  describe("a flipped byte in a pack", () => {
    let repo: string;
    let pack: string;
    /** the victim, and the files whose blobs share its frame, if it is in one */
    let lost: readonly string[];

    before(async () => {
      repo = copyRepository();
      const location = await locateFirstBlob(repo, join(src, VICTIM));
      pack = location.pack;
      lost = location.filesSharing;
      assert.ok(lost.includes(join(src, VICTIM)));
      flipByte(location.packPath, location.offset + Math.floor(location.length / 2));
    });

    it("check --read-data exits 11 and names the pack and the file", async () => {
      const result = await runCli(["check", "--repo", repo, "--read-data"]);
      expectExit(result, 11);
      assertCleanFailure(result, "stdout");
      assert.ok(result.stdout.includes(pack), `the pack is named\n${describeResult(result)}`);
      const affected = result.stdout
        .split("\n")
        .filter((line) => line.trim().startsWith("affects "))
        .map((line) => line.trim().slice("affects ".length));
      // Each damaged blob names its files: a file with two blobs in the frame is named twice.
      assert.deepEqual(
        [...new Set(affected)].sort(),
        lost.map((path) => `${backup.snapshot_id.slice(0, 8)}:${path}`),
      );
    });

    it("restore exits 11, leaves the damaged file out and restores the rest bit-exact", async () => {
      const target = join(base, "restore-damaged");
      const result = await runCli([
        "restore",
        "--repo",
        repo,
        "latest",
        "--target",
        target,
        "--json",
      ]);
      expectExit(result, 11);
      assert.ok(result.stderr.includes(join(src, VICTIM)), result.stderr);
      const report = jsonOutput<{ damaged: { path: string }[] }>(result);
      assert.deepEqual(report.damaged.map((d) => d.path).sort(), lost);
      assert.equal(existsSync(join(target, src, VICTIM)), false, "no half-written file");
      await assertSameTree(src, join(target, src), {
        exclude: (path) => lost.includes(join(src, path)),
      });
    });
  });

  it("a truncated pack fails check without --read-data, which names it", async () => {
    const repo = copyRepository();
    const largest = listObjects(repo, "data").sort((a, b) => b.size - a.size)[0];
    assert.ok(largest);
    chmodSync(largest.path, 0o600);
    truncateSync(largest.path, largest.size - 1000);
    const result = await runCli(["check", "--repo", repo]);
    expectExit(result, 11);
    assertCleanFailure(result, "stdout");
    assert.ok(result.stdout.includes(largest.name), describeResult(result));
  });

  it("a deleted data pack: check names it, restore reports the files and exits 11", async () => {
    const repo = copyRepository();
    const location = await locateFirstBlob(repo, join(src, VICTIM));
    rmSync(location.packPath);
    const checked = await runCli(["check", "--repo", repo]);
    expectExit(checked, 11);
    assert.ok(checked.stdout.includes(location.pack), describeResult(checked));

    // Every file with a blob in the lost pack is reported and left out; the others come back.
    const lost = location.filesInPack;
    assert.ok(lost.includes(join(src, VICTIM)));
    const target = join(base, "restore-missing-pack");
    const restored = await runCli([
      "restore",
      "--repo",
      repo,
      "latest",
      "--target",
      target,
      "--json",
    ]);
    expectExit(restored, 11);
    assertCleanFailure(restored);
    const report = jsonOutput<{ damaged: { path: string }[] }>(restored);
    assert.deepEqual(report.damaged.map((d) => d.path).sort(), lost);
    for (const path of lost) {
      assert.ok(restored.stderr.includes(path), restored.stderr);
      assert.equal(existsSync(join(target, path)), false, `${path} is not restored`);
    }
    const lostRelative = new Set(lost.map((path) => path.slice(src.length + 1)));
    await assertSameTree(src, join(target, src), { exclude: (path) => lostRelative.has(path) });
  });

  it("a deleted tree pack makes restore exit 11 (objects missing), not 1", async () => {
    const repo = copyRepository();
    const opened = await openRepository(repo);
    const treePacks = new Set(
      [...(await opened.indexedPacks())]
        .filter(([, blobs]) => blobs.some((b) => b.type === "tree"))
        .map(([pack]) => pack),
    );
    for (const pack of treePacks) rmSync(join(repo, "data", pack.slice(0, 2), pack));
    const result = await runCli([
      "restore",
      "--repo",
      repo,
      "latest",
      "--target",
      join(base, "restore-no-trees"),
    ]);
    assertCleanFailure(result);
    expectExit(result, 11);
  });

  it("lost index files: check exits 11, the next backup adopts the packs, then all is well", async () => {
    const repo = copyRepository();
    const packs = listObjects(repo, "data").map((p) => p.name);
    for (const index of listObjects(repo, "index")) rmSync(index.path);

    const checked = await runCli(["check", "--repo", repo, "--json"]);
    expectExit(checked, 11);
    const report = jsonOutput<{ unindexedPacks: string[]; problems: unknown[] }>(checked);
    assert.deepEqual([...report.unindexedPacks].sort(), packs);
    assert.ok(report.problems.length > 0);

    const recovered = await runCli(["backup", "--repo", repo, "--json", src]);
    expectExit(recovered, 0, "backup after losing the index");
    assert.ok(
      recovered.stderr.includes(`resuming: reused ${packs.length} pack(s)`),
      recovered.stderr,
    );
    const summary = backupSummary(recovered);
    assert.equal(summary.bytes_added, 0, "every blob was found in the adopted packs");

    expectExit(await runCli(["check", "--repo", repo, "--read-data"]), 0, "check after recovery");
    const target = join(base, "restore-after-recovery");
    expectExit(
      await runCli(["restore", "--repo", repo, backup.snapshot_id, "--target", target]),
      0,
      "restore of the snapshot whose index was lost",
    );
    await assertSameTree(src, join(target, src));
  });

  it("unknown commands, bad options and missing arguments exit 1 with usage", async () => {
    const cases: [string[], RegExp][] = [
      [["frobnicate"], /unknown command "frobnicate"[\s\S]*usage: rempart COMMAND/],
      [["snapshots", "--repo", fixture, "--frobnicate"], /frobnicate[\s\S]*usage: rempart/],
      [["restore", "--repo", fixture, "latest"], /usage: rempart restore/],
      [["backup", "--repo", fixture], /nothing to back up[\s\S]*usage: rempart backup/],
      [["diff", "--repo", fixture, "latest"], /usage: rempart diff/],
      [["check", "--repo", fixture, "--read-data-subset", "150%"], /percentage/],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(args);
      expectExit(result, 1, args.join(" "));
      assertCleanFailure(result);
      assert.match(result.stderr, message, args.join(" "));
    }
    const bare = await runCli([]);
    expectExit(bare, 1);
    assert.match(bare.stdout, /usage: rempart COMMAND/);

    const noPassword = await runCli(["snapshots", "--repo", fixture], { password: null });
    expectExit(noPassword, 1);
    assertCleanFailure(noPassword);
    assert.match(noPassword.stderr, /password is needed/);
  });

  describe("a hostile repository", () => {
    const arena = join(base, "hostile");
    const outside = join(arena, "outside");
    let repo: string;
    const forged = new Map<string, string>();

    before(async () => {
      repo = copyRepository();
      mkdirSync(outside, { recursive: true });
      forged.clear();
      for (const [name, id] of await forgeSnapshots(repo, outside)) forged.set(name, id);
    });

    const restoreForged = (name: string, target: string) => {
      const id = forged.get(name);
      assert.ok(id, name);
      return runCli(["restore", "--repo", repo, id, "--target", target]);
    };

    for (const name of ["../escape", "a/b", ".", "nested .."]) {
      it(`refuses a tree entry named ${JSON.stringify(name)} and writes nothing`, async () => {
        const target = join(arena, `target-${forged.get(name)?.slice(0, 8)}`, "inner");
        const result = await restoreForged(name, target);
        expectExit(result, 11);
        assertCleanFailure(result);
        assert.match(result.stderr, /unsafe entry name/);
        assert.deepEqual(findNamed(arena, "escape"), [], "nothing named escape anywhere");
        assert.deepEqual(findNamed(arena, "b"), []);
        assert.deepEqual(existsSync(target) ? readdirSync(target) : [], [], "nothing restored");
        assert.deepEqual(readdirSync(outside), []);
      });
    }

    it("never writes through a symlink restored earlier into the same target", async () => {
      const target = join(arena, "symlink-then-dir");
      expectExit(await restoreForged("symlink x", target), 0, "restoring the symlink");
      assert.ok(lstatSync(join(target, "x")).isSymbolicLink());
      const result = await restoreForged("dir x", target);
      assertCleanFailure(result);
      assert.deepEqual(readdirSync(outside), [], "nothing written through the symlink");
    });

    it("replaces, never writes through, links planted in the target", async () => {
      const target = join(arena, "planted");
      mkdirSync(target, { recursive: true });
      const victims = join(arena, "victims");
      mkdirSync(victims);
      writeFileSync(join(victims, "symlinked"), "original\n");
      writeFileSync(join(victims, "hard-linked"), "original\n");
      symlinkSync(join(victims, "symlinked"), join(target, "y"));
      linkSync(join(victims, "hard-linked"), join(target, "z"));
      expectExit(await restoreForged("files y z", target), 0, "restore over planted links");
      assert.equal(readFileSync(join(victims, "symlinked"), "utf8"), "original\n");
      assert.equal(readFileSync(join(victims, "hard-linked"), "utf8"), "original\n");
      for (const name of ["y", "z"]) {
        assert.ok(lstatSync(join(target, name)).isFile());
        assert.equal(readFileSync(join(target, name), "utf8"), "pwned\n");
      }
      assert.notEqual(statSync(join(target, "z")).ino, statSync(join(victims, "hard-linked")).ino);
    });
  });

  it("decodeTree rejects every unsafe entry name", () => {
    const node = (name: string) => ({ ...fileNode(name, []), size: 0 });
    const encode = (nodes: unknown[]) => Buffer.from(JSON.stringify({ nodes }));
    for (const name of ["../escape", "a/b", ".", "..", "", "nul\0byte", "x".repeat(256)])
      assert.throws(
        () => decodeTree(encode([node(name)]), "t"),
        (error: unknown) => isRempartError(error, "RepositoryCorrupt"),
        JSON.stringify(name),
      );
    assert.equal(decodeTree(encode([node("ok ..")]), "t").nodes.length, 1);
    // Duplicates would let a second entry replace the first: rejected as unsorted.
    assert.throws(() => decodeTree(encode([node("same"), node("same")]), "t"));
  });

  it("an unreadable file: backup exits 3, counts it, names it and backs up the rest", {
    skip: IS_ROOT ? false : "needs root to run the backup as another user",
  }, async () => {
    const area = join(base, "as-nobody");
    const tree = join(area, "src");
    const repo = join(area, "repo");
    mkdirSync(join(tree, "docs"), { recursive: true });
    mkdirSync(join(tree, "locked"));
    writeFileSync(join(tree, "readable.txt"), "fine\n");
    writeFileSync(join(tree, "docs", "also-readable.txt"), "also fine\n");
    writeFileSync(join(tree, "secret.txt"), "no one may read this\n");
    writeFileSync(join(tree, "locked", "inside.txt"), "behind a closed door\n");
    chownRecursive(area, NOBODY);
    chmodSync(base, 0o755);
    chmodSync(join(tree, "secret.txt"), 0o000);
    chmodSync(join(tree, "locked"), 0o000);
    const asNobody = { asUser: NOBODY } as const;
    expectExit(await runCli(["init", "--repo", repo], asNobody), 0, "init as nobody");

    const result = await runCli(["backup", "--repo", repo, "--json", tree], asNobody);
    expectExit(result, 3, "backup with unreadable entries");
    const summary = backupSummary(result);
    assert.equal(summary.files_unreadable, 2, "the file and the directory");
    assert.equal(summary.files_new, 2);
    assert.equal(summary.total_files, 2);
    assert.match(
      result.stderr,
      new RegExp(`cannot read ${escapeRegExp(join(tree, "secret.txt"))}`),
    );
    assert.match(result.stderr, new RegExp(`cannot read ${escapeRegExp(join(tree, "locked"))}`));
    assert.doesNotMatch(result.stderr, /internal error/);

    const target = join(area, "restore");
    expectExit(
      await runCli(["restore", "--repo", repo, "latest", "--target", target]),
      0,
      "restore",
    );
    await assertSameTree(tree, join(target, tree), {
      exclude: (path) => path === "secret.txt" || path === "locked/inside.txt",
    });
    assert.equal(existsSync(join(target, tree, "secret.txt")), false);
  });

  it("a full disk under the repository: backup says where and why, loses nothing, and the next one completes", {
    skip: IS_ROOT ? false : "needs root to mount a size-limited tmpfs",
  }, async (t) => {
    const disk = smallFilesystem(t, "backup-full", 8);
    const repo = join(disk, "repo");
    const area = tempDir(t, "backup-full-src");
    writePseudoRandomFile(join(area, "large.bin"), 24 * MiB, "full disk");
    writeFileSync(join(area, "small.txt"), "small\n");
    expectExit(await runCli(["init", "--repo", repo]), 0, "init");

    const full = await runCli(["backup", "--repo", repo, area]);
    expectExit(full, 1, "backup onto a full filesystem");
    assertCleanFailure(full);
    assert.match(full.stderr, /no space left to write a pack in .*ENOSPC/);
    assert.ok(full.stderr.includes(join(repo, "tmp")), full.stderr);
    // The packs' writer failed, not the file being read when it did.
    assert.doesNotMatch(full.stderr, /cannot read/);
    expectExit(await runCli(["check", "--repo", repo]), 0, "check after the failed backup");

    resizeFilesystem(disk, 64);
    expectExit(await runCli(["backup", "--repo", repo, area]), 0, "backup once there is room");
    const target = join(tempDir(t, "backup-full-restored"), "target");
    expectExit(await runCli(["restore", "--repo", repo, "latest", "--target", target]), 0);
    await assertSameTree(area, join(target, area));
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function chownRecursive(path: string, id: number): void {
  chownSync(path, id, id);
  if (lstatSync(path).isDirectory())
    for (const name of readdirSync(path)) chownRecursive(join(path, name), id);
}

function baseNode(name: string, type: TreeNode["type"]) {
  return {
    name,
    type,
    mode: type === "dir" ? 0o755 : 0o644,
    uid: 0,
    gid: 0,
    mtimeMs: 1_600_000_000_000,
    atimeMs: 1_600_000_000_000,
    ctimeMs: 1_600_000_000_000,
    inode: 1,
    device: 1,
    links: 1,
  };
}

function fileNode(name: string, content: string[], size = 0) {
  return { ...baseNode(name, "file"), size, content };
}

function dirNode(name: string, subtree: string) {
  return { ...baseNode(name, "dir"), subtree };
}

/**
 * Writes, with the repository's key (an attacker who has it, or a compromised client), snapshots
 * whose trees name entries that must never be restored, plus the pieces of link attacks. The
 * trees are raw JSON, so nothing on the writing side stops a hostile name.
 */
async function forgeSnapshots(repoPath: string, outside: string): Promise<Map<string, string>> {
  const { repo, store, key } = await openAsAttacker(await FsObjectStore.open(repoPath), PASSWORD);
  const builder = new PackBuilder(key.encryption, 64 * 1024);
  const added = new Set<string>();
  const blob = (type: "tree" | "data", bytes: Buffer): string => {
    const id = repo.keyedId(bytes);
    if (!added.has(id)) builder.add(type, Buffer.from(id, "hex"), bytes, bytes.length, false);
    added.add(id);
    return id;
  };
  const tree = (nodes: unknown[]) => blob("tree", Buffer.from(JSON.stringify({ nodes })));
  const pwned = Buffer.from("pwned\n");
  const pwnedId = blob("data", pwned);
  const leaf = tree([fileNode("escape", [pwnedId], pwned.length)]);
  const roots = new Map<string, string>([
    ["../escape", tree([fileNode("../escape", [pwnedId], pwned.length)])],
    ["a/b", tree([fileNode("a/b", [pwnedId], pwned.length)])],
    [".", tree([dirNode(".", leaf)])],
    ["nested ..", tree([dirNode("ok", tree([dirNode("..", leaf)]))])],
    ["symlink x", tree([{ ...baseNode("x", "symlink"), target: outside }])],
    ["dir x", tree([dirNode("x", leaf)])],
    [
      "files y z",
      tree([fileNode("y", [pwnedId], pwned.length), fileNode("z", [pwnedId], pwned.length)]),
    ],
  ]);
  const pack = builder.finish();
  await store.put({ kind: "data", name: pack.name }, pack.bytes);
  await repo.saveIndex([{ pack: pack.name, blobs: pack.entries }]);
  const snapshots = new Map<string, string>();
  let second = 0;
  for (const [name, root] of roots) {
    const id = await repo.saveSnapshot(
      forgedSnapshot({
        // Distinct times keep the forged snapshots from becoming anyone's "latest" by accident.
        time: new Date(Date.UTC(2000, 0, 1, 0, 0, second++)).toISOString(),
        tree: root,
      }),
      pack.entries.map((entry) => entry.id),
    );
    snapshots.set(name, id);
  }
  return snapshots;
}
