import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { isRempartError } from "../errors.js";
import { blobId, fromHex, toHex } from "./blob-id.js";

describe("blob ids", () => {
  it("are HMAC-SHA256 of the data under the id key (RFC 4231 test case 2)", () => {
    const id = blobId(Buffer.from("Jefe"), Buffer.from("what do ya want for nothing?"));
    assert.equal(toHex(id), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  });

  it("are stable under one key and differ under another", () => {
    const data = randomBytes(4096);
    const key = randomBytes(32);
    assert.deepEqual(blobId(key, data), blobId(Uint8Array.from(key), Uint8Array.from(data)));
    assert.notDeepEqual(blobId(key, data), blobId(randomBytes(32), data));
    assert.notDeepEqual(blobId(key, data), blobId(key, randomBytes(4096)));
  });

  it("round-trip through lowercase hex", () => {
    const id = blobId(randomBytes(32), randomBytes(10));
    const hex = toHex(id);
    assert.match(hex, /^[0-9a-f]{64}$/);
    assert.deepEqual(fromHex(hex), new Uint8Array(id));
  });

  it("refuse hex that is not exactly 64 lowercase digits", () => {
    const hex = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
    for (const bad of [
      "",
      hex.slice(1),
      `${hex}0`,
      hex.toUpperCase(),
      `${hex.slice(1)}g`,
      ` ${hex.slice(1)}`,
    ]) {
      assert.throws(
        () => fromHex(bad),
        (error: unknown) => isRempartError(error, "InvalidArgument"),
        JSON.stringify(bad),
      );
    }
  });

  it("refuse to print a value that is not 32 bytes as an id", () => {
    assert.throws(
      () => toHex(new Uint8Array(31)),
      (error: unknown) => isRempartError(error, "InvalidArgument"),
    );
  });
});
