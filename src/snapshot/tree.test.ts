import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isRempartError } from "../errors.js";
import { decodeName } from "./filename.js";
import {
  compareNames,
  decodeTree,
  encodeTree,
  sameNode,
  storeListing,
  TREE_PIECE_BYTES,
  type TreeNode,
} from "./tree.js";
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

describe("listings split into pieces", () => {
  const names = (count: number): TreeNode[] =>
    Array.from({ length: count }, (_, i) =>
      fileNode(`${String(i).padStart(7, "0")}-${"n".repeat(180)}`),
    );

  /** storeListing into a map, ids numbered in the order blobs were stored. */
  function stored(nodes: readonly TreeNode[]): { first: string; blobs: Map<string, Uint8Array> } {
    const blobs = new Map<string, Uint8Array>();
    const first = storeListing(nodes, (plaintext) => {
      const id = String(blobs.size).padStart(64, "0");
      blobs.set(id, plaintext);
      return id;
    });
    return { first, blobs };
  }

  it("stores a listing under the piece size as one blob, byte for byte what it always was", () => {
    const nodes = names(100);
    const { first, blobs } = stored(nodes);
    assert.equal(blobs.size, 1);
    assert.deepEqual(blobs.get(first), encodeTree({ nodes }));
    assert.deepEqual(decodeTree(blobs.get(first) as Uint8Array, first), { nodes, piece: false });
  });

  it("splits a larger one into pieces of at most the piece size, each naming the next", () => {
    const nodes = names(30_000); // ~ 13 MB of entries
    const { first, blobs } = stored(nodes);
    assert.ok(blobs.size >= 3, `${blobs.size} pieces`);
    const read: TreeNode[] = [];
    for (let id: string | undefined = first; id !== undefined; ) {
      const bytes = blobs.get(id) as Uint8Array;
      assert.ok(bytes.length <= TREE_PIECE_BYTES, `piece of ${bytes.length} bytes`);
      const piece = decodeTree(bytes, id);
      assert.equal(piece.piece, true);
      read.push(...piece.nodes);
      id = piece.next;
    }
    assert.deepEqual(read, nodes);
    // A reader that knows only whole listings finds no node list in a piece: it fails, it does
    // not take the first piece for the whole directory.
    const head = JSON.parse(Buffer.from(blobs.get(first) as Uint8Array).toString()) as object;
    assert.equal("nodes" in head, false);
  });

  it("refuses a whole listing that claims a continuation, and a malformed one", () => {
    const nodes = [fileNode("a")];
    assertCorrupt(
      Buffer.from(JSON.stringify({ nodes, next: "a".repeat(64) })),
      /malformed continuation/,
    );
    assertCorrupt(Buffer.from(JSON.stringify({ entries: nodes, next: "../x" })), /continuation/);
  });
});
