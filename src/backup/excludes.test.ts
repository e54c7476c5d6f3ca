import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { decodeName } from "../snapshot/filename.js";
import { compileExcludes, readExcludeFile } from "./excludes.js";

/** `caf\xe9.txt` as the walker decodes it from a Latin-1 directory entry. */
const LATIN1_NAME = decodeName(Buffer.from("caf\xe9.txt", "latin1"));

describe("exclude patterns", () => {
  it("match a single component by name anywhere in the tree", () => {
    const excluded = compileExcludes(["*.tmp", "node_modules"]);
    assert.equal(excluded("/srv/a/b.tmp", "b.tmp"), true);
    assert.equal(excluded("/srv/x/node_modules", "node_modules"), true);
    assert.equal(excluded("/srv/a/b.tmpx", "b.tmpx"), false);
    assert.equal(excluded("/srv/node_modules_old", "node_modules_old"), false);
  });

  it("anchor absolute patterns at the root and relative ones at a component boundary", () => {
    const excluded = compileExcludes(["/srv/cache", "logs/*.log"]);
    assert.equal(excluded("/srv/cache", "cache"), true);
    assert.equal(excluded("/data/srv/cache", "cache"), false);
    assert.equal(excluded("/data/logs/app.log", "app.log"), true);
    assert.equal(excluded("/data/mylogs/app.log", "app.log"), false);
    assert.equal(excluded("/data/logs/sub/app.log", "app.log"), false);
  });

  it("let ** span directories, including none", () => {
    const excluded = compileExcludes(["/srv/**/build"]);
    assert.equal(excluded("/srv/build", "build"), true);
    assert.equal(excluded("/srv/a/b/build", "build"), true);
    assert.equal(excluded("/opt/a/build", "build"), false);
  });

  // The examples of restic's manual ("Excluding Files").
  it("match whole components only, as restic's manual shows", () => {
    const excluded = compileExcludes(["foo", "b*ash"]);
    assert.equal(excluded("/dir/foo", "foo"), true);
    assert.equal(excluded("/dir/foobar", "foobar"), false);
    assert.equal(excluded("/dir/barfoo", "barfoo"), false);
    assert.equal(excluded("/bin/bash", "bash"), true);
    assert.equal(excluded("/bin/ash", "ash"), false, "* does not cross a /");
  });

  it("match foo/**/bar below any foo, at any depth, as restic's manual shows", () => {
    const excluded = compileExcludes(["foo/**/bar"]);
    assert.equal(excluded("/dir1/foo/dir2/bar", "bar"), true);
    assert.equal(excluded("/foo/bar", "bar"), true);
    assert.equal(excluded("/tmp/foo/bar", "bar"), true);
    assert.equal(excluded("/tmp/foo/bar2", "bar2"), false);
    assert.equal(excluded("/tmp/xfoo/bar", "bar"), false);
  });

  it("ignore a trailing slash and keep * within one directory", () => {
    assert.equal(compileExcludes(["cache/"])("/x/cache", "cache"), true);
    const excluded = compileExcludes(["/srv/*/build", "src/**"]);
    assert.equal(excluded("/srv/a/build", "build"), true);
    assert.equal(excluded("/srv/a/b/build", "build"), false);
    assert.equal(excluded("/x/src/a/b", "b"), true);
  });

  it("ignore blank lines and comments and treat regex characters literally", () => {
    const excluded = compileExcludes(["", "  # a comment", "a+b(1).txt"]);
    assert.equal(excluded("/x/a+b(1).txt", "a+b(1).txt"), true);
    assert.equal(excluded("/x/aab1.txt", "aab1.txt"), false);
    assert.equal(compileExcludes(["# only"])("/x", "x"), false);
  });

  it("exclude a name that is not UTF-8 written as ls shows it, \\xNN", () => {
    const excluded = compileExcludes(["caf\\xe9.txt", "/srv/r\\xe9pertoire/**"]);
    assert.equal(excluded(`/srv/${LATIN1_NAME}`, LATIN1_NAME), true);
    assert.equal(excluded("/srv/café.txt", "café.txt"), false, "the UTF-8 name is another name");
    assert.equal(excluded("/srv/r\udce9pertoire/a/b", "b"), true);
    // Bytes that spell UTF-8 are that character.
    assert.equal(compileExcludes(["caf\\xc3\\xa9.txt"])("/srv/café.txt", "café.txt"), true);
    assert.equal(compileExcludes(["caf?.txt"])(`/srv/${LATIN1_NAME}`, LATIN1_NAME), true);
  });

  it("read exclude files as bytes, so a Latin-1 line names the Latin-1 file", () => {
    const dir = mkdtempSync(join(tmpdir(), "rempart-excludes-"));
    try {
      const file = join(dir, "excludes.txt");
      writeFileSync(file, Buffer.from("# comment\ncaf\xe9.txt\r\n*.tmp\n", "latin1"));
      const excluded = compileExcludes(readExcludeFile(file));
      assert.equal(excluded(`/srv/${LATIN1_NAME}`, LATIN1_NAME), true);
      assert.equal(excluded("/srv/café.txt", "café.txt"), false);
      assert.equal(excluded("/srv/x.tmp", "x.tmp"), true);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});
