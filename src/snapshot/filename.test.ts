import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { decodeName, displayName, encodeName, fsPath, nameByteLength } from "./filename.js";

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
});
