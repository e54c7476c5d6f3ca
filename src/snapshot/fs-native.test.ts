/**
 * Extended attributes through Rempart's binding on a real filesystem, names that are not UTF-8
 * included. What the binding writes is read back independently, with Python's os.getxattr on the
 * byte path (follow_symlinks=False, as the binding).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, type TestContext, test } from "node:test";
import { decodeName, encodeName } from "./filename.js";
import { applyMetadata, captureMetadata } from "./fs-metadata.js";
import { getXattr, listXattrNames, makeNode, setXattr } from "./fs-native.js";
import { userXattrDir } from "./fs-native-test-support.js";

const latin1 = (text: string): Buffer => Buffer.from(text, "latin1");
/** What an old Samba share in ISO-8859-1 holds, and what Samba stores on every file. */
const DIR_LATIN1 = latin1("r\xe9pertoire");
const CAFE_LATIN1 = latin1("caf\xe9.txt");
const DOS_ATTRIBUTES = Buffer.from("0x20");

function under(dir: string, ...parts: Buffer[]): Buffer {
  return Buffer.concat([Buffer.from(dir), ...parts.flatMap((part) => [Buffer.from("/"), part])]);
}

/** The decoded path of bytes under dir: what the walker builds. */
function decoded(dir: string, ...parts: Buffer[]): string {
  return [dir, ...parts.map(decodeName)].join("/");
}

/** os.getxattr of a byte path and name, without following a final symlink; undefined if none. */
function pythonXattr(path: Buffer, name: Buffer): Buffer | undefined {
  const script = [
    "import os, sys",
    "try:",
    "    v = os.getxattr(bytes.fromhex(sys.argv[1]), bytes.fromhex(sys.argv[2]), follow_symlinks=False)",
    "    print(v.hex())",
    "except OSError:",
    "    print('none')",
  ].join("\n");
  const run = spawnSync("python3", ["-c", script, path.toString("hex"), name.toString("hex")], {
    encoding: "utf8",
  });
  assert.equal(run.status, 0, run.stderr);
  const out = run.stdout.trim();
  return out === "none" ? undefined : Buffer.from(out, "hex");
}

function skipWithoutXattrs(t: TestContext): string | undefined {
  const dir = userXattrDir(t);
  if (dir === undefined) t.skip("no user xattrs in the temp dir, /tmp, /dev/shm or /var/tmp");
  return dir;
}

describe("extended attributes by byte path", () => {
  test("set, listed and read on a file and a directory whose names are not UTF-8", (t) => {
    const dir = skipWithoutXattrs(t);
    if (dir === undefined) return;
    fs.mkdirSync(under(dir, DIR_LATIN1));
    fs.writeFileSync(under(dir, DIR_LATIN1, CAFE_LATIN1), "menu");
    const filePath = decoded(dir, DIR_LATIN1, CAFE_LATIN1);
    const dirPath = decoded(dir, DIR_LATIN1);

    setXattr(filePath, "user.DOSATTRIB", DOS_ATTRIBUTES);
    setXattr(dirPath, "user.DOSATTRIB", Buffer.from("0x10"));

    assert.deepEqual(
      pythonXattr(under(dir, DIR_LATIN1, CAFE_LATIN1), Buffer.from("user.DOSATTRIB")),
      DOS_ATTRIBUTES,
    );
    assert.deepEqual(
      pythonXattr(under(dir, DIR_LATIN1), Buffer.from("user.DOSATTRIB")),
      Buffer.from("0x10"),
    );
    assert.deepEqual(listXattrNames(filePath), ["user.DOSATTRIB"]);
    assert.deepEqual(getXattr(filePath, "user.DOSATTRIB"), DOS_ATTRIBUTES);
    assert.equal(getXattr(filePath, "user.absent"), undefined);
    assert.deepEqual(
      fs.readdirSync(under(dir, DIR_LATIN1), { encoding: "buffer" }),
      [CAFE_LATIN1],
      "nothing created beside the file",
    );
  });

  test("an attribute name that is not UTF-8 comes back byte-exact", (t) => {
    const dir = skipWithoutXattrs(t);
    if (dir === undefined) return;
    const path = join(dir, "plain.txt");
    fs.writeFileSync(path, "");
    const nameBytes = latin1("user.r\xe9sum\xe9");
    const name = decodeName(nameBytes);
    setXattr(path, name, Buffer.from("v"));
    assert.deepEqual(listXattrNames(path), [name]);
    assert.deepEqual(encodeName(name), nameBytes);
    assert.deepEqual(pythonXattr(Buffer.from(path), nameBytes), Buffer.from("v"));
  });

  test("a backup's capture and a restore's apply keep them on a Latin-1 file", (t) => {
    const dir = skipWithoutXattrs(t);
    if (dir === undefined) return;
    fs.writeFileSync(under(dir, CAFE_LATIN1), "menu");
    const source = decoded(dir, CAFE_LATIN1);
    setXattr(source, "user.DOSATTRIB", DOS_ATTRIBUTES);
    setXattr(source, "user.empty", Buffer.alloc(0));
    const node = captureMetadata(
      source,
      decodeName(CAFE_LATIN1),
      fs.lstatSync(under(dir, CAFE_LATIN1)),
    );
    assert.deepEqual(node.xattrs, [
      { name: "user.DOSATTRIB", value: DOS_ATTRIBUTES.toString("base64") },
      { name: "user.empty", value: "" },
    ]);

    fs.mkdirSync(join(dir, "restored"));
    const restored = under(dir, Buffer.from("restored"), CAFE_LATIN1);
    fs.writeFileSync(restored, "menu");
    assert.deepEqual(
      applyMetadata(decoded(`${dir}/restored`, CAFE_LATIN1), node, { owner: false }),
      [],
    );
    assert.deepEqual(pythonXattr(restored, Buffer.from("user.DOSATTRIB")), DOS_ATTRIBUTES);
    assert.deepEqual(pythonXattr(restored, Buffer.from("user.empty")), Buffer.alloc(0));
    assert.deepEqual(fs.readdirSync(join(dir, "restored"), { encoding: "buffer" }), [CAFE_LATIN1]);
  });

  test("a symlink's own attributes are read, never its target's", (t) => {
    const dir = skipWithoutXattrs(t);
    if (dir === undefined) return;
    fs.writeFileSync(join(dir, "target"), "");
    setXattr(join(dir, "target"), "user.tag", Buffer.from("target's"));
    fs.symlinkSync("target", under(dir, latin1("lien-\xe9")));
    const link = decoded(dir, latin1("lien-\xe9"));
    assert.deepEqual(listXattrNames(link), []);
    assert.equal(getXattr(link, "user.tag"), undefined);
    // The kernel takes no user.* attribute on a symlink itself; its target stays untouched.
    assert.throws(() => setXattr(link, "user.tag", Buffer.from("x")), { code: "EPERM" });
    assert.deepEqual(getXattr(join(dir, "target"), "user.tag"), Buffer.from("target's"));
  });

  test("values past the first 4 KiB buffer, up to the kernel's 64 KiB, round-trip", (t) => {
    // ext4 keeps a file's attributes in one block; tmpfs takes the kernel's largest.
    const places = [tmpdir(), "/dev/shm"].filter((place) => fs.existsSync(place));
    const sizes = [65536, 4097];
    for (const place of places) {
      const dir = fs.mkdtempSync(join(place, "rempart-xattr-"));
      t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
      const path = join(dir, "large");
      fs.writeFileSync(path, "");
      for (const size of sizes) {
        const value = Buffer.alloc(size, size % 251);
        try {
          setXattr(path, `user.v${size}`, value);
        } catch {
          continue; // the filesystem's limit, not the binding's
        }
        assert.deepEqual(getXattr(path, `user.v${size}`), value);
        if (size === sizes[0]) return;
      }
    }
    t.skip(`no filesystem here took a ${sizes[0]}-byte value`);
  });

  test("errors carry Node's errno codes", (t) => {
    const dir = fs.mkdtempSync(join(tmpdir(), "rempart-xattr-"));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    assert.throws(() => listXattrNames(join(dir, "missing")), { code: "ENOENT" });
    assert.throws(() => getXattr(join(dir, "missing"), "user.a"), { code: "ENOENT" });
    assert.throws(() => setXattr(join(dir, "missing"), "user.a", Buffer.from("")), {
      code: "ENOENT",
    });
    // A forged tree's name that no bytes spell (a lone surrogate outside the escapes).
    assert.throws(() => setXattr(dir, "user.\ud800", Buffer.from("")), { code: "EINVAL" });
  });
});

describe("special files by byte path", () => {
  test("a FIFO is made under a name that is not UTF-8, never over an existing entry", (t) => {
    const dir = fs.mkdtempSync(join(tmpdir(), "rempart-fs-native-"));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const name = latin1("tube-\xe9");
    makeNode(decoded(dir, name), "fifo");
    const stats = fs.lstatSync(under(dir, name));
    assert.ok(stats.isFIFO());
    assert.equal(stats.mode & 0o777, 0o600 & ~process.umask());
    assert.deepEqual(fs.readdirSync(dir, { encoding: "buffer" }), [name]);
    assert.throws(() => makeNode(decoded(dir, name), "fifo"), { code: "EEXIST" });
  });
});
