import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import {
  decodeName,
  displayName,
  encodeName,
  fsPath,
  isCanonicalName,
  nameByteLength,
  unescapeName,
} from "./filename.js";

describe("file names as bytes", () => {
  it("keeps valid UTF-8 names as ordinary strings", () => {
    assert.equal(decodeName(Buffer.from("café.txt")), "café.txt");
    assert.equal(fsPath("/srv/café.txt"), "/srv/café.txt");
    assert.equal(displayName("café.txt"), "café.txt");
  });

  it("round-trips a Latin-1 name byte-exact and shows it escaped", () => {
    const bytes = Buffer.from("caf\xe9.txt", "latin1");
    const name = decodeName(bytes);
    assert.deepEqual(encodeName(name), bytes);
    assert.equal(nameByteLength(name), 8);
    assert.equal(displayName(name), '"caf\\xe9.txt"');
    assert.deepEqual(fsPath(`/srv/${name}`), Buffer.concat([Buffer.from("/srv/"), bytes]));
  });

  it("round-trips any byte sequence", () => {
    for (let i = 0; i < 2000; i++) {
      const bytes = randomBytes(1 + (i % 40));
      assert.deepEqual(encodeName(decodeName(bytes)), bytes);
    }
  });

  it("refuses strings no byte sequence decodes to", () => {
    // é spelled as two escaped bytes: a second spelling of a valid UTF-8 name.
    assert.equal(encodeName("\udcc3\udca9"), undefined);
    assert.equal(encodeName("a\ud800b"), undefined);
    assert.equal(encodeName("\udc10"), undefined);
  });

  it("quotes names that would print ambiguously", () => {
    assert.equal(displayName('a"b'), '"a\\"b"');
    assert.equal(displayName("a\nb"), '"a\\x0ab"');
    assert.equal(displayName("a\\xe9"), '"a\\\\xe9"');
  });

  it("escapes invisible and reordering characters as their UTF-8 bytes", () => {
    assert.equal(displayName("invoice\u202efdp.exe"), '"invoice\\xe2\\x80\\xaefdp.exe"');
    assert.equal(displayName("a\u200bb"), '"a\\xe2\\x80\\x8bb"');
    assert.equal(displayName("a\u0085b"), '"a\\xc2\\x85b"');
    assert.equal(displayName("Facture\u00a0: mars.pdf"), "Facture\u00a0: mars.pdf");
  });

  it("reads back every displayed name, quoted or not", () => {
    const samples = [
      "café.txt",
      "caf\udce9.txt",
      'a"b',
      "a\\xe9",
      "a\\",
      "new\nline",
      "rtl\u202eexe.pdf",
      "\udcff\udcfe",
      "caf\ufffd.txt",
    ];
    for (const name of samples) {
      assert.equal(unescapeName(displayName(name), true), name, displayName(name));
    }
    for (let i = 0; i < 2000; i++) {
      const name = decodeName(randomBytes(1 + (i % 40)));
      assert.equal(unescapeName(displayName(name), true), name);
    }
  });

  it("reads \\xNN as bytes decoded together, and other backslashes as themselves", () => {
    assert.equal(unescapeName("caf\\xe9.txt"), decodeName(Buffer.from("caf\xe9.txt", "latin1")));
    assert.equal(unescapeName("caf\\xc3\\xa9.txt"), "café.txt");
    assert.equal(unescapeName("a\\b\\x4"), "a\\b\\x4");
    assert.equal(unescapeName('"quoted"'), '"quoted"');
    assert.equal(unescapeName('"quoted"', true), "quoted");
    // An exclude file read as bytes already holds escaped bytes: they are kept.
    assert.equal(unescapeName("caf\udce9\\x2a"), "caf\udce9*");
  });

  it("tells canonical names from forged spellings", () => {
    assert.equal(isCanonicalName("café"), true);
    assert.equal(isCanonicalName("caf\udce9"), true);
    assert.equal(isCanonicalName("\ud83d\ude00"), true);
    assert.equal(isCanonicalName("\udcc3\udca9"), false);
    assert.equal(isCanonicalName("a\ud800"), false);
  });
});
