/**
 * Issue 7, end to end through the real CLI: a share whose names and link targets are not UTF-8
 * (Latin-1 names from an old Samba share, stray bytes, a UTF-8 name holding U+FFFD beside the
 * Latin-1 one Node would turn into it) is backed up whole, listed and diffed with the names
 * escaped, read back with cat from the escaped spelling, excluded by pattern, and restored with
 * every name and target byte-exact. Fixtures are made with Buffer paths and checked as bytes:
 * a string path would be re-encoded as UTF-8 and hide the very bug.
 */
import assert from "node:assert/strict";
import {
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { forgedSnapshot, openAsAttacker } from "../repository/forge-test-support.js";
import { PackBuilder } from "../repository/pack.js";
import { decodeName } from "../snapshot/filename.js";
import { getXattr, setXattr } from "../snapshot/fs-native.js";
import { fileNode } from "../snapshot/tree-test-support.js";
import { FsObjectStore } from "../storage/fs/fs-store.js";
import { backupSummary, expectExit, jsonLines, PASSWORD, runCli, tempDir } from "../testing/cli.js";

const latin1 = (text: string): Buffer => Buffer.from(text, "latin1");
const utf8 = (text: string): Buffer => Buffer.from(text, "utf8");

const CAFE_LATIN1 = latin1("caf\xe9.txt");
const CAFE_FFFD = utf8("caf\ufffd.txt");
const CAFE_UTF8 = utf8("café.txt");
const FF_FE = Buffer.from([0xff, 0xfe]);
const DIR_LATIN1 = latin1("r\xe9pertoire");
const TODO_LATIN1 = latin1("\xe0 faire.txt");
const LINK_TO_LATIN1 = utf8("lien");
const LINK_LATIN1 = latin1("lien-\xe9");

/** Each entry's type and content (or link target) by its path relative to root, all as bytes. */
type ByteTree = Map<string, string>;

function byteTree(root: Buffer): ByteTree {
  const entries: ByteTree = new Map();
  const visit = (dir: Buffer, relative: Buffer): void => {
    for (const name of readdirSync(dir, { encoding: "buffer" })) {
      const path = Buffer.concat([dir, utf8("/"), name]);
      const rel = relative.length === 0 ? name : Buffer.concat([relative, utf8("/"), name]);
      const stats = lstatSync(path);
      const key = rel.toString("hex");
      if (stats.isDirectory()) {
        entries.set(key, "dir");
        visit(path, rel);
      } else if (stats.isSymbolicLink())
        entries.set(key, `link ${readlinkSync(path, { encoding: "buffer" }).toString("hex")}`);
      else entries.set(key, `file ${readFileSync(path).toString("hex")}`);
    }
  };
  visit(root, Buffer.alloc(0));
  return entries;
}

/** What ls shows for a path made of a string directory and byte names. */
function shown(dir: string, ...parts: Buffer[]): string {
  const escaped = parts.map((part) =>
    [...part].map((b) => (b < 0x80 ? String.fromCharCode(b) : `\\x${b.toString(16)}`)).join(""),
  );
  return `"${[dir, ...escaped].join("/")}"`;
}

function at(dir: string, ...parts: Buffer[]): Buffer {
  return Buffer.concat([utf8(dir), ...parts.flatMap((part) => [utf8("/"), part])]);
}

describe("file names that are not UTF-8, end to end", () => {
  const work = tempDir({ after }, "names");
  const src = join(work, "share");
  const repo = join(work, "repo");
  let first: string;

  before(async () => {
    mkdirSync(src);
    writeFileSync(at(src, CAFE_LATIN1), "Latin-1 name\n");
    writeFileSync(at(src, CAFE_FFFD), "UTF-8 name holding U+FFFD\n");
    writeFileSync(at(src, CAFE_UTF8), "UTF-8 name\n");
    writeFileSync(at(src, FF_FE), "two stray bytes\n");
    mkdirSync(at(src, DIR_LATIN1));
    writeFileSync(at(src, DIR_LATIN1, TODO_LATIN1), "in a Latin-1 directory\n");
    writeFileSync(at(src, DIR_LATIN1, utf8("notes.txt")), "plain name, Latin-1 parent\n");
    symlinkSync(CAFE_LATIN1, at(src, LINK_TO_LATIN1));
    symlinkSync(Buffer.concat([DIR_LATIN1, utf8("/"), TODO_LATIN1]), at(src, LINK_LATIN1));
    expectExit(await runCli(["init", "--repo", repo]), 0, "init");
  });

  it("backs up every name, and exits 0", async () => {
    // Before: the Latin-1 names were unreadable (exit 3), and listed as U+FFFD they collided
    // with the real U+FFFD name into a tree no reader would open.
    const summary = backupSummary(
      expectExit(await runCli(["backup", "--repo", repo, "--json", src]), 0, "backup"),
    );
    assert.equal(summary.files_new, 6);
    assert.equal(summary.files_unreadable, 0);
    first = summary.snapshot_id;
  });

  it("lists the names escaped, and their exact bytes in JSON", async () => {
    const text = expectExit(await runCli(["ls", "--repo", repo, first]), 0, "ls").stdout;
    const lines = text.split("\n");
    const line = (path: string) =>
      lines.find((l) => l.endsWith(` ${path}`) || l.includes(` ${path} -> `));
    assert.ok(line(shown(src, CAFE_LATIN1)), text);
    assert.ok(line(shown(src, FF_FE)), text);
    assert.ok(line(shown(src, DIR_LATIN1, TODO_LATIN1)), text);
    assert.ok(line(`${src}/caf\ufffd.txt`), "a UTF-8 name is shown as it is");
    assert.ok(line(`${src}/café.txt`), text);
    assert.match(line(`${src}/lien`) ?? "", / -> "caf\\xe9\.txt"$/);

    const entries = jsonLines(
      expectExit(await runCli(["ls", "--repo", repo, first, "--json"]), 0, "ls --json").stdout,
    ) as { path: string; path_bytes?: string; target?: string; target_bytes?: string }[];
    const byBytes = new Map(
      entries.map((e) => [
        (e.path_bytes === undefined ? utf8(e.path) : Buffer.from(e.path_bytes, "base64")).toString(
          "hex",
        ),
        e,
      ]),
    );
    for (const path of [at(src, CAFE_LATIN1), at(src, FF_FE), at(src, DIR_LATIN1, TODO_LATIN1)]) {
      const entry = byBytes.get(path.toString("hex"));
      assert.ok(entry?.path_bytes, `${path.toString("latin1")} has path_bytes`);
      assert.equal(entry.path, decodeName(path), "path is the decoded string");
    }
    const plain = byBytes.get(at(src, CAFE_FFFD).toString("hex"));
    assert.ok(plain, "the U+FFFD name is listed");
    assert.equal(plain.path_bytes, undefined, "no path_bytes for a UTF-8 path");
    const link = byBytes.get(at(src, LINK_TO_LATIN1).toString("hex"));
    assert.deepEqual(Buffer.from(link?.target_bytes ?? "", "base64"), CAFE_LATIN1);
  });

  it("cats a file given as ls shows it, quoted or not", async () => {
    const unquoted = `${src}/caf\\xe9.txt`;
    const cat = expectExit(await runCli(["cat", "--repo", repo, first, unquoted]), 0, "cat");
    assert.equal(cat.stdout, "Latin-1 name\n");
    const quoted = shown(src, DIR_LATIN1, TODO_LATIN1);
    const inside = expectExit(await runCli(["cat", "--repo", repo, first, quoted]), 0, "cat");
    assert.equal(inside.stdout, "in a Latin-1 directory\n");
    const fffd = expectExit(
      await runCli(["cat", "--repo", repo, first, `${src}/caf\ufffd.txt`]),
      0,
    );
    assert.equal(fffd.stdout, "UTF-8 name holding U+FFFD\n");
  });

  it("diffs added and removed names escaped", async () => {
    writeFileSync(at(src, latin1("nouveau-\xe9.txt")), "new\n");
    rmSync(at(src, FF_FE));
    const second = backupSummary(
      expectExit(await runCli(["backup", "--repo", repo, "--json", src]), 0, "second backup"),
    ).snapshot_id;
    const diff = expectExit(await runCli(["diff", "--repo", repo, first, second]), 0, "diff");
    assert.match(
      diff.stdout,
      new RegExp(`^\\+  ${escapeRegExp(shown(src, latin1("nouveau-\xe9.txt")))}  `, "m"),
    );
    assert.match(diff.stdout, new RegExp(`^-  ${escapeRegExp(shown(src, FF_FE))}  `, "m"));
    assert.match(diff.stdout, /1 added, 1 removed, 0 modified/);
    const { changes } = JSON.parse(
      expectExit(await runCli(["diff", "--repo", repo, first, second, "--json"]), 0).stdout,
    ) as { changes: { change: string; path_bytes?: string }[] };
    assert.deepEqual(
      changes.map((c) => [c.change, Buffer.from(c.path_bytes ?? "", "base64").toString("hex")]),
      [
        ["added", at(src, latin1("nouveau-\xe9.txt")).toString("hex")],
        ["removed", at(src, FF_FE).toString("hex")],
      ].sort((a, b) => (a[1] as string).localeCompare(b[1] as string)),
    );
  });

  it("backs up a directory given on the command line as ls shows it", async () => {
    const summary = backupSummary(
      expectExit(
        await runCli(["backup", "--repo", repo, "--json", `${src}/r\\xe9pertoire`]),
        0,
        "backup of an escaped path",
      ),
    );
    assert.equal(summary.files_new + summary.files_unchanged, 2);
    const snapshot = JSON.parse(
      expectExit(await runCli(["cat", "--repo", repo, "snapshot", summary.snapshot_id]), 0).stdout,
    ) as { paths: string[] };
    assert.deepEqual(snapshot.paths, [decodeName(at(src, DIR_LATIN1))]);
  });

  it("excludes a Latin-1 name written as \\xNN, and only that name", async () => {
    const summary = backupSummary(
      expectExit(
        await runCli(["backup", "--repo", repo, "--json", "--exclude", "caf\\xe9.txt", src]),
        0,
        "backup --exclude",
      ),
    );
    const entries = jsonLines(
      expectExit(await runCli(["ls", "--repo", repo, summary.snapshot_id, "--json"]), 0).stdout,
    ) as { path: string }[];
    const paths = new Set(entries.map((e) => e.path));
    assert.equal(paths.has(decodeName(at(src, CAFE_LATIN1))), false, "excluded");
    assert.equal(paths.has(`${src}/café.txt`), true, "the UTF-8 name is another name");
    assert.equal(paths.has(`${src}/caf\ufffd.txt`), true);
  });
});

describe("file names that are not UTF-8, restored", () => {
  const work = tempDir({ after }, "names-restore");
  const src = join(work, "share");
  const repo = join(work, "repo");

  const DOS = "user.DOSATTRIB";
  const XATTR_FIXTURES: ReadonlyArray<readonly [Buffer[], Buffer]> = [
    [[CAFE_LATIN1], utf8("0x20")],
    [[DIR_LATIN1], utf8("0x10")],
    [[DIR_LATIN1, TODO_LATIN1], utf8("0x21")],
  ];
  let xattrsKept = false;

  before(async () => {
    mkdirSync(src);
    writeFileSync(at(src, CAFE_LATIN1), "Latin-1 name\n");
    writeFileSync(at(src, CAFE_FFFD), "UTF-8 name holding U+FFFD\n");
    writeFileSync(at(src, FF_FE), "two stray bytes\n");
    mkdirSync(at(src, DIR_LATIN1));
    writeFileSync(at(src, DIR_LATIN1, TODO_LATIN1), "in a Latin-1 directory\n");
    mkdirSync(at(src, DIR_LATIN1, latin1("sous-r\xe9pertoire")));
    writeFileSync(at(src, DIR_LATIN1, latin1("sous-r\xe9pertoire"), utf8("x")), "deep\n");
    symlinkSync(CAFE_LATIN1, at(src, LINK_TO_LATIN1));
    symlinkSync(Buffer.concat([DIR_LATIN1, utf8("/"), TODO_LATIN1]), at(src, LINK_LATIN1));
    try {
      // What Samba stores on every file and directory it serves (`store dos attributes`).
      for (const [path, value] of XATTR_FIXTURES)
        setXattr(decodeName(at(src, ...path)), DOS, value);
      xattrsKept = true;
    } catch {
      xattrsKept = false;
    }
    expectExit(await runCli(["init", "--repo", repo]), 0, "init");
    expectExit(await runCli(["backup", "--repo", repo, "--json", src]), 0, "backup");
  });

  it("restores every name and link target byte-exact", async () => {
    const target = join(work, "restored");
    expectExit(await runCli(["restore", "--repo", repo, "latest", "--target", target]), 0);
    assert.deepEqual(byteTree(at(join(target, src))), byteTree(at(src)));
  });

  it("restores the extended attributes of entries whose names are not UTF-8", async (t) => {
    if (!xattrsKept) {
      t.skip("no user.* xattrs on this filesystem");
      return;
    }
    const target = join(work, "restored-xattrs");
    expectExit(await runCli(["restore", "--repo", repo, "latest", "--target", target]), 0);
    for (const [path, value] of XATTR_FIXTURES)
      assert.deepEqual(getXattr(decodeName(at(join(target, src), ...path)), DOS), value);
  });

  it("restores only the Latin-1 directory given to --include as \\xNN", async () => {
    const target = join(work, "included");
    const include = `${src}/r\\xe9pertoire`;
    expectExit(
      await runCli(["restore", "--repo", repo, "latest", "--target", target, "--include", include]),
      0,
    );
    const restored = byteTree(at(join(target, src)));
    const expected = new Map(
      [...byteTree(at(src))].filter(([key]) =>
        Buffer.from(key, "hex").subarray(0, DIR_LATIN1.length).equals(DIR_LATIN1),
      ),
    );
    assert.deepEqual(restored, expected);
  });

  it("restores the latest snapshot of a Latin-1 path given to --path as \\xNN", async () => {
    const dir = `${src}/r\\xe9pertoire`;
    expectExit(
      await runCli(["backup", "--repo", repo, "--json", dir]),
      0,
      "backup of the directory",
    );
    // The latest snapshot overall is of another path: only --path can select the directory's.
    expectExit(await runCli(["backup", "--repo", repo, "--json", src]), 0, "backup of the parent");
    const target = join(work, "by-path");
    expectExit(
      await runCli(["restore", "--repo", repo, "latest", "--path", dir, "--target", target]),
      0,
    );
    const expected = new Map(
      [...byteTree(at(src))].filter(([key]) =>
        Buffer.from(key, "hex").subarray(0, DIR_LATIN1.length).equals(DIR_LATIN1),
      ),
    );
    assert.deepEqual(byteTree(at(join(target, src))), expected);
  });
});

describe("forged trees with names that are not canonical", () => {
  it("are refused when read: two spellings of one name, a 256-byte name, a forged target", async (t) => {
    const work = tempDir(t, "names-forged");
    const repoPath = join(work, "repo");
    expectExit(await runCli(["init", "--repo", repoPath]), 0, "init");
    const { repo, store, key } = await openAsAttacker(await FsObjectStore.open(repoPath), PASSWORD);
    const builder = new PackBuilder(key.encryption, 64 * 1024);
    const tree = (nodes: unknown[]): string => {
      const bytes = Buffer.from(JSON.stringify({ nodes }));
      const id = repo.keyedId(bytes);
      builder.add("tree", Buffer.from(id, "hex"), bytes, bytes.length, false);
      return id;
    };
    const base = fileNode("");
    const roots = [
      // "\udcc3\udca9" is the bytes c3 a9, which is "é": restored, both entries are one file.
      tree([
        { ...base, name: "é" },
        { ...base, name: "\udcc3\udca9" },
      ]),
      tree([{ ...base, name: decodeName(Buffer.alloc(256, 0xe9)) }]),
      tree([{ ...base, name: "l", type: "symlink", target: "a\ud800b", size: undefined }]),
    ];
    const pack = builder.finish();
    await store.put({ kind: "data", name: pack.name }, pack.bytes);
    await repo.saveIndex([{ pack: pack.name, blobs: pack.entries }]);
    for (const [i, root] of roots.entries()) {
      const id = await repo.saveSnapshot(
        forgedSnapshot({
          time: new Date(Date.UTC(2000, 0, 1, 0, 0, i)).toISOString(),
          tree: root,
        }),
        pack.entries.map((entry) => entry.id),
      );
      const ls = expectExit(await runCli(["ls", "--repo", repoPath, id]), 11, `ls forged ${i}`);
      assert.match(ls.stderr, /is malformed: (unsafe entry name|entry "l" target)/);
    }
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
