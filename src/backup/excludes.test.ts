import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compileExcludes } from "./excludes.js";

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

  it("ignore blank lines and comments and treat regex characters literally", () => {
    const excluded = compileExcludes(["", "  # a comment", "a+b(1).txt"]);
    assert.equal(excluded("/x/a+b(1).txt", "a+b(1).txt"), true);
    assert.equal(excluded("/x/aab1.txt", "aab1.txt"), false);
    assert.equal(compileExcludes(["# only"])("/x", "x"), false);
  });
});
