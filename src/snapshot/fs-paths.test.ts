/**
 * Names that are not UTF-8 on a real filesystem: listed, captured and applied byte-exact. Fixtures
 * are made with Buffer paths (a string path would be re-encoded as UTF-8), and checked against
 * what the kernel lists as bytes.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, type TestContext, test } from "node:test";
import { decodeName, encodeName } from "./filename.js";
import {
  applyMetadata,
  captureMetadata,
  createSpecialNode,
  metadataEqual,
  type NodeMetadata,
} from "./fs-metadata.js";
import { createSymlink, readDirectory } from "./fs-paths.js";

const latin1 = (text: string): Buffer => Buffer.from(text, "latin1");
/** `caf\xe9.txt`: what an old Samba share in ISO-8859-1 holds. */
const CAFE_LATIN1 = latin1("caf\xe9.txt");
const FF_FE = Buffer.from([0x66, 0xff, 0xfe]);
/** A valid UTF-8 name holding U+FFFD, the character Node substitutes for undecodable bytes. */
const CAFE_FFFD = Buffer.from("caf\ufffd.txt");
const DIR_LATIN1 = latin1("r\xe9pertoire");

function tempDir(t: TestContext): string {
  const dir = fs.mkdtempSync(join(tmpdir(), "rempart-fs-paths-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A byte path under a string directory. */
function under(dir: string, ...parts: Buffer[]): Buffer {
  return Buffer.concat([Buffer.from(dir), ...parts.flatMap((part) => [Buffer.from("/"), part])]);
}

/** The decoded path of bytes under dir: what the walker builds. */
function decoded(dir: string, ...parts: Buffer[]): string {
  return [dir, ...parts.map(decodeName)].join("/");
}

function capture(path: string): NodeMetadata {
  const name = path.slice(path.lastIndexOf("/") + 1);
  return captureMetadata(path, name, fs.lstatSync(encodeName(path) ?? path));
}

function sortedBytes(names: Buffer[]): string[] {
  return names.map((name) => name.toString("hex")).sort();
}

describe("names that are not UTF-8 on disk", () => {
  test("a directory listing gives every name, decoded losslessly", (t) => {
    const dir = tempDir(t);
    const names = [CAFE_LATIN1, FF_FE, CAFE_FFFD, Buffer.from("plain.txt")];
    for (const name of names) fs.writeFileSync(under(dir, name), name);
    fs.mkdirSync(under(dir, DIR_LATIN1));

    const listed = readDirectory(dir);
    assert.equal(new Set(listed).size, 5, "no two names merged");
    assert.deepEqual(
      sortedBytes(listed.map((name) => encodeName(name) as Buffer)),
      sortedBytes(fs.readdirSync(dir, { encoding: "buffer" })),
    );
    assert.ok(listed.includes("caf\ufffd.txt"), "the UTF-8 name with U+FFFD stays as it is");
  });

  test("a directory whose own name is not UTF-8 lists, and its files read", (t) => {
    const dir = tempDir(t);
    fs.mkdirSync(under(dir, DIR_LATIN1));
    fs.writeFileSync(under(dir, DIR_LATIN1, latin1("\xe0 faire.txt")), "todo");
    fs.writeFileSync(under(dir, DIR_LATIN1, Buffer.from("notes.txt")), "notes");
    const path = decoded(dir, DIR_LATIN1);
    assert.deepEqual(readDirectory(path).sort(), ["notes.txt", "\udce0 faire.txt"]);
    const file = capture(`${path}/\udce0 faire.txt`);
    assert.equal(file.type, "file");
    assert.equal(file.size, 4);
  });

  test("a symlink's target that is not UTF-8 is captured byte-exact and recreated", async (t) => {
    const dir = tempDir(t);
    const target = Buffer.concat([latin1("../"), DIR_LATIN1, latin1("/caf\xe9.txt")]);
    fs.symlinkSync(target, under(dir, latin1("lien-\xe9")));
    const node = capture(decoded(dir, latin1("lien-\xe9")));
    assert.equal(node.type, "symlink");
    assert.deepEqual(encodeName(node.target ?? ""), target);

    const copy = decoded(dir, latin1("copie-\xe9"));
    await createSymlink(node.target ?? "", copy);
    assert.deepEqual(
      fs.readlinkSync(under(dir, latin1("copie-\xe9")), { encoding: "buffer" }),
      target,
    );
  });

  test("metadata is captured and applied on a file whose name is not UTF-8", (t) => {
    const dir = tempDir(t);
    fs.writeFileSync(under(dir, CAFE_LATIN1), "latin-1");
    fs.chmodSync(under(dir, CAFE_LATIN1), 0o640);
    fs.utimesSync(under(dir, CAFE_LATIN1), 1_600_000_000.25, 1_600_000_000.5);
    const source = capture(decoded(dir, CAFE_LATIN1));
    assert.equal(source.name, decodeName(CAFE_LATIN1));

    fs.mkdirSync(join(dir, "restored"));
    fs.writeFileSync(under(dir, Buffer.from("restored"), CAFE_LATIN1), "latin-1");
    const restoredPath = decoded(`${dir}/restored`, CAFE_LATIN1);
    assert.deepEqual(applyMetadata(restoredPath, source, { owner: false }), []);
    assert.deepEqual(metadataEqual(source, capture(restoredPath)), []);
  });

  test("a FIFO whose name and directory are not UTF-8 is recreated under its bytes", (t) => {
    const dir = tempDir(t);
    fs.mkdirSync(under(dir, DIR_LATIN1));
    const path = decoded(dir, DIR_LATIN1, latin1("tube-\xe9"));
    const node: NodeMetadata = { ...capture(dir), name: "tube-\udce9", type: "fifo", mode: 0o600 };
    assert.equal(createSpecialNode(path, node), undefined);
    assert.deepEqual(fs.readdirSync(under(dir, DIR_LATIN1), { encoding: "buffer" }), [
      latin1("tube-\xe9"),
    ]);
    assert.ok(fs.lstatSync(under(dir, DIR_LATIN1, latin1("tube-\xe9"))).isFIFO());
  });
});
