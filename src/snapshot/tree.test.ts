import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isRempartError } from "../errors.js";
import { decodeName } from "./filename.js";
import { compareNames, decodeTree, encodeTree, sameNode, type TreeNode } from "./tree.js";
import { fileNode } from "./tree-test-support.js";

const LATIN1_CAFE = decodeName(Buffer.from("caf\xe9", "latin1"));

function link(name: string, target: string): TreeNode {
  const { size: _size, content: _content, ...rest } = fileNode(name);
  return { ...rest, type: "symlink", target };
}

/** A tree blob as a forger writes it: raw JSON, in the given order. */
function rawTree(nodes: TreeNode[]): Uint8Array {
  return Buffer.from(JSON.stringify({ nodes }));
}

function assertCorrupt(bytes: Uint8Array, why: RegExp): void {
  assert.throws(
    () => decodeTree(bytes, "f".repeat(64)),
    (error: unknown) =>
      isRempartError(error) && error.code === "RepositoryCorrupt" && why.test(error.message),
  );
}

describe("tree names as bytes", () => {
  it("keeps a Latin-1 name and link target through encode and decode", () => {
    const nodes = [fileNode("café"), fileNode(LATIN1_CAFE), link("l", `../${LATIN1_CAFE}`)].sort(
      (a, b) => compareNames(a.name, b.name),
    );
    const bytes = encodeTree({ nodes });
    // JSON.stringify writes the lone surrogate as an ASCII escape: the blob stays valid UTF-8.
    assert.match(Buffer.from(bytes).toString("latin1"), /caf\\udce9/);
    assert.deepEqual(decodeTree(bytes, "t").nodes, nodes);
  });

  it("sorts escaped bytes by their UTF-16 code unit, after every BMP character but U+E000 up", () => {
    const names = ["\ue000", LATIN1_CAFE, "café", "caf\u{1f600}", "cafz"].sort(compareNames);
    assert.deepEqual(names, ["cafz", "café", "caf\u{1f600}", LATIN1_CAFE, "\ue000"]);
    decodeTree(rawTree(names.map((name) => fileNode(name))), "t");
  });

  it("accepts a name of 255 bytes that are not UTF-8", () => {
    // The old check counted each escaped byte as the 3 bytes of U+FFFD, refusing this name.
    const name = decodeName(Buffer.alloc(255, 0xe9));
    assert.equal(decodeTree(rawTree([fileNode(name)]), "t").nodes[0]?.name, name);
  });

  it("refuses a name over 255 bytes, counted as bytes", () => {
    assertCorrupt(rawTree([fileNode("a".repeat(256))]), /unsafe entry name/);
    assertCorrupt(rawTree([fileNode(decodeName(Buffer.alloc(256, 0xe9)))]), /unsafe entry name/);
  });

  it("refuses a second spelling of a name: escapes that spell valid UTF-8", () => {
    // "\udcc3\udca9" would be written to disk as the bytes c3 a9, which is "é": two entries of
    // one tree would then be one file.
    assertCorrupt(rawTree([fileNode("\udcc3\udca9"), fileNode("é")]), /unsafe entry name/);
  });

  it("refuses surrogates no byte sequence decodes to", () => {
    assertCorrupt(rawTree([fileNode("a\ud800")]), /unsafe entry name/);
    assertCorrupt(rawTree([fileNode("a\udc41")]), /unsafe entry name/);
  });

  it("refuses a link target that is not canonical or longer than PATH_MAX", () => {
    assertCorrupt(rawTree([link("l", "\udcc3\udca9")]), /target/);
    assertCorrupt(rawTree([link("l", "a".repeat(4096))]), /target/);
    decodeTree(rawTree([link("l", "a".repeat(4095))]), "t");
  });
});

describe("sameNode", () => {
  const xattr = { name: "user.tag", value: "a2VwdA==" };
  const node = fileNode("f", { content: ["a".repeat(64), "b".repeat(64)], xattrs: [xattr] });

  it("holds for a node and its decoded copy, whatever order the fields come in", () => {
    const [decoded] = decodeTree(encodeTree({ nodes: [node] }), "t").nodes;
    assert.ok(decoded && sameNode(decoded, node));
    const reordered = Object.fromEntries(Object.entries(node).reverse()) as unknown as TreeNode;
    assert.ok(sameNode(reordered, node));
  });

  it("fails on any field that differs, is missing or is added", () => {
    const { xattrs: _xattrs, ...withoutXattrs } = node;
    const others: TreeNode[] = [
      { ...node, mode: 0o600 },
      { ...node, atimeMs: 2 },
      { ...node, links: 2 },
      { ...node, content: ["b".repeat(64), "a".repeat(64)] },
      { ...node, content: ["a".repeat(64)] },
      { ...node, xattrs: [{ ...xattr, value: "" }] },
      { ...node, xattrs: [xattr, xattr] },
      withoutXattrs,
      { ...node, target: "t" },
      { ...node, type: "dir", subtree: "c".repeat(64) },
    ];
    for (const other of others) {
      assert.equal(sameNode(other, node), false, JSON.stringify(other));
      assert.equal(sameNode(node, other), false, JSON.stringify(other));
    }
  });
});
