import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { type TestContext, test } from "node:test";
import { isRempartError } from "../errors.js";
import {
  applyMetadata,
  captureMetadata,
  createSpecialNode,
  metadataEqual,
  type NodeMetadata,
} from "./fs-metadata.js";
import { getXattr, setXattr } from "./fs-native.js";
import { userXattrDir } from "./fs-native-test-support.js";

const asRoot = process.getuid?.() === 0;
const needsRoot = asRoot ? false : "needs root";

function tempDir(t: TestContext, parent = tmpdir()): string {
  const dir = fs.mkdtempSync(join(parent, "rempart-fs-metadata-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function capture(path: string): NodeMetadata {
  return captureMetadata(path, basename(path), fs.lstatSync(path));
}

/** GNU touch sets nanoseconds, which Node's utimes cannot: sources get real kernel precision. */
function touch(path: string, seconds: string): void {
  const result = spawnSync("touch", ["-h", "-d", `@${seconds}`, path], { encoding: "utf8" });
  assert.equal(result.status, 0, result.stderr);
}

/** Does what the restorer does: recreate the entry under targetDir, then apply its metadata. */
function restore(
  sourcePath: string,
  targetDir: string,
  owner = asRoot,
): { source: NodeMetadata; restored: NodeMetadata; warnings: string[] } {
  const source = capture(sourcePath);
  const target = join(targetDir, source.name);
  if (source.type === "file") fs.copyFileSync(sourcePath, target);
  else if (source.type === "dir") fs.mkdirSync(target);
  else if (source.type === "symlink") fs.symlinkSync(source.target ?? "", target);
  else assert.equal(createSpecialNode(target, source), undefined);
  const warnings = applyMetadata(target, source, { owner });
  return { source, restored: capture(target), warnings };
}

function assertRestored(sourcePath: string, targetDir: string): NodeMetadata {
  const { source, restored, warnings } = restore(sourcePath, targetDir);
  assert.deepEqual(warnings, []);
  assert.deepEqual(metadataEqual(source, restored), []);
  return restored;
}

test("keeps setuid, setgid, sticky and plain permission bits", { skip: needsRoot }, (t) => {
  const source = tempDir(t);
  const target = tempDir(t);
  const cases: [string, number][] = [
    ["setuid-file", 0o4750],
    ["private-file", 0o600],
    ["sticky-dir", 0o1777],
    ["setgid-dir", 0o2750],
  ];
  for (const [name, mode] of cases) {
    const path = join(source, name);
    if (name.endsWith("dir")) fs.mkdirSync(path);
    else fs.writeFileSync(path, "content");
    // Owned by someone else, so restoring has to chown, which clears setuid unless chmod follows.
    fs.chownSync(path, 1234, 5678);
    fs.chmodSync(path, mode);
    assert.equal(assertRestored(path, target).mode, mode, name);
  }
});

test("restores ownership only when asked to", { skip: needsRoot }, (t) => {
  const source = join(tempDir(t), "owned");
  fs.writeFileSync(source, "");
  fs.chownSync(source, 1234, 5678);

  const owned = assertRestored(source, tempDir(t));
  assert.equal(owned.uid, 1234);
  assert.equal(owned.gid, 5678);

  const { source: original, restored } = restore(source, tempDir(t), false);
  assert.equal(restored.uid, 0);
  assert.deepEqual(metadataEqual(original, restored), ["uid 1234 != 0", "gid 5678 != 0"]);
});

/**
 * Node sets times through a double of seconds: half a microsecond is the best it can promise.
 * Reading a symlink moves its atime, so links are only held to their mtime.
 */
function assertSameTimes(sourcePath: string, targetPath: string, atimeToo = true): void {
  const source = fs.lstatSync(sourcePath, { bigint: true });
  const target = fs.lstatSync(targetPath, { bigint: true });
  const drifts: [string, bigint][] = [["mtime", target.mtimeNs - source.mtimeNs]];
  if (atimeToo) drifts.push(["atime", target.atimeNs - source.atimeNs]);
  for (const [what, drift] of drifts) {
    assert.ok(drift >= -500n && drift <= 500n, `${what} of ${targetPath} is ${drift} ns off`);
  }
}

test("restores times to half a microsecond, sub-millisecond fractions included", (t) => {
  const source = tempDir(t);
  const target = tempDir(t);
  // Node 20 stores a plain utimes(mtimeMs / 1000) of 1700000000.000001 as .000000.
  const times = [
    "1700000000.123456789",
    "1700000000.000001",
    "1700000000.999999999",
    "-100.1234567",
  ];
  for (const [index, seconds] of times.entries()) {
    const path = join(source, `file${index}`);
    fs.writeFileSync(path, "");
    touch(path, seconds);
    assertRestored(path, target);
    assertSameTimes(path, join(target, `file${index}`));
  }
});

test("sets a symlink's own times and leaves its target alone, dangling links too", (t) => {
  const source = tempDir(t);
  const target = tempDir(t);
  fs.writeFileSync(join(target, "pointee"), "");
  touch(join(target, "pointee"), "1000000000");
  for (const [name, pointsTo] of [
    ["link", "pointee"],
    ["dangling", "nowhere/at/all"],
  ] as const) {
    fs.symlinkSync(pointsTo, join(source, name));
    touch(join(source, name), "1600000000.5000016");
    const restored = assertRestored(join(source, name), target);
    assert.equal(restored.type, "symlink");
    assert.equal(restored.target, pointsTo);
    assertSameTimes(join(source, name), join(target, name), false);
  }
  assert.equal(fs.statSync(join(target, "pointee")).mtimeMs, 1000000000000);
});

test("recreates a FIFO", (t) => {
  const source = join(tempDir(t), "pipe");
  const result = spawnSync("mkfifo", ["-m", "0640", source]);
  assert.equal(result.status, 0);
  touch(source, "1700000000.25");
  const restored = assertRestored(source, tempDir(t));
  assert.equal(restored.type, "fifo");
  assert.equal(restored.mode, 0o640);
});

test("recreates character and block devices with their numbers", { skip: needsRoot }, (t) => {
  const source = tempDir(t);
  const target = tempDir(t);
  // Both numbers overflow the 8-bit fields of the old dev_t layout; minor 70000 reaches bits 20-31.
  for (const [name, args] of [
    ["chardev", ["c", "300", "70000"]],
    ["blockdev", ["b", "7", "3"]],
  ] as const) {
    const result = spawnSync("mknod", [join(source, name), ...args], { encoding: "utf8" });
    assert.equal(result.status, 0, result.stderr);
    const restored = assertRestored(join(source, name), target);
    assert.equal(restored.type, name);
    assert.equal(restored.rdev, fs.lstatSync(join(source, name)).rdev);
  }
});

test("does not recreate a socket and says why", async (t) => {
  const path = join(tempDir(t), "sock");
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(path, resolve));
  t.after(() => server.close());
  const node = capture(path);
  assert.equal(node.type, "socket");
  const target = join(tempDir(t), "sock");
  assert.equal(
    createSpecialNode(target, node),
    `socket ${target} not restored: sockets cannot be recreated`,
  );
  assert.equal(fs.existsSync(target), false);
});

test("carries user extended attributes, binary and empty values included", (t) => {
  const dir = userXattrDir(t);
  if (dir === undefined) {
    t.skip("no user xattr support in the temp dir, /tmp, /dev/shm or /var/tmp");
    return;
  }
  const source = join(dir, "tagged");
  fs.writeFileSync(source, "");
  setXattr(source, "user.b", Buffer.from([0, 255, 1]));
  setXattr(source, "user.a", Buffer.from("hello"));
  setXattr(source, "user.empty", Buffer.alloc(0));

  assert.deepEqual(capture(source).xattrs, [
    { name: "user.a", value: Buffer.from("hello").toString("base64") },
    { name: "user.b", value: "AP8B" },
    { name: "user.empty", value: "" },
  ]);
  const target = tempDir(t, dir);
  assertRestored(source, target);
  assert.deepEqual(getXattr(join(target, "tagged"), "user.b"), Buffer.from([0, 255, 1]));
});

test("leaves the xattrs field out when an entry has none", (t) => {
  const path = join(tempDir(t), "plain");
  fs.writeFileSync(path, "");
  assert.equal("xattrs" in capture(path), false);
});

test("keeps file capabilities although changing the owner drops them", { skip: needsRoot }, (t) => {
  const source = join(tempDir(t), "ping");
  fs.writeFileSync(source, "");
  fs.chownSync(source, 1234, 5678);
  // What `setcap cap_net_raw+ep` writes.
  const netRaw = "AQAAAgAgAAAAAAAAAAAAAAAAAAA=";
  setXattr(source, "security.capability", Buffer.from(netRaw, "base64"));

  const restored = assertRestored(source, tempDir(t));
  assert.deepEqual(restored.xattrs, [{ name: "security.capability", value: netRaw }]);
});

test("reports an attribute it cannot set as a warning and applies the rest", (t) => {
  const source = join(tempDir(t), "link");
  fs.symlinkSync("anywhere", source);
  touch(source, "1500000000");
  // Linux refuses user.* attributes on symlinks, whatever the filesystem.
  const node = { ...capture(source), xattrs: [{ name: "user.x", value: "eA==" }] };
  const target = join(tempDir(t), "link");
  fs.symlinkSync("anywhere", target);

  const warnings = applyMetadata(target, node, { owner: false });
  assert.deepEqual(warnings, [`could not set xattr user.x on ${target}: EPERM`]);
  assert.equal(fs.lstatSync(target).mtimeMs, 1500000000000);
});

test("fails with an Io error when the entry is not there", (t) => {
  const source = join(tempDir(t), "file");
  fs.writeFileSync(source, "");
  assert.throws(
    () => applyMetadata(join(tempDir(t), "missing"), capture(source), { owner: false }),
    (error) => isRempartError(error, "Io") && /ENOENT/.test(error.message),
  );
});

test("metadataEqual names a mode, a time and an xattr difference", (t) => {
  const path = join(tempDir(t), "file");
  fs.writeFileSync(path, "");
  fs.chmodSync(path, 0o600);
  touch(path, "1700000000.123456");
  const node = capture(path);
  const changed = {
    ...node,
    mode: 0o644,
    mtimeMs: node.mtimeMs + 0.001,
    xattrs: [{ name: "user.a", value: "eA==" }],
  };
  assert.deepEqual(metadataEqual(node, changed), [
    "mode 0o600 != 0o644",
    "mtimeMs 1700000000123.456ms != 1700000000123.457ms",
    'xattr user.a absent != "eA=="',
  ]);
  assert.deepEqual(metadataEqual(node, { ...node, mtimeMs: node.mtimeMs + 0.0002 }), []);
});

test("metadataEqual skips what a restore cannot keep unless told otherwise", (t) => {
  const dir = tempDir(t);
  const original = capture(dir);
  const restored = { ...original, inode: original.inode + 1, links: original.links + 1 };
  // Directory link counts count subdirectories on some filesystems only.
  assert.deepEqual(metadataEqual(original, restored), []);
  assert.deepEqual(metadataEqual(original, restored, { ignore: [] }), [
    `inode ${original.inode} != ${original.inode + 1}`,
  ]);

  const file = { ...original, type: "file" as const, links: 1 };
  assert.deepEqual(metadataEqual(file, { ...file, links: 2 }), ["links 1 != 2"]);
});
