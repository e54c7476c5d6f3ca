import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isRempartError } from "../errors.js";
import {
  decodeMasterKey,
  encodeMasterKey,
  generateMasterKey,
  MASTER_KEY_BYTES,
} from "./master-key.js";

describe("master key", () => {
  it("generates two independent random 32-byte keys", () => {
    const key = generateMasterKey();
    assert.equal(key.encryption.length, 32);
    assert.equal(key.id.length, 32);
    assert.notDeepEqual(key.encryption, key.id);
    assert.notDeepEqual(generateMasterKey().encryption, key.encryption);
  });

  it("encodes as encryption || id and decodes back", () => {
    const key = generateMasterKey();
    const bytes = encodeMasterKey(key);
    assert.equal(bytes.length, MASTER_KEY_BYTES);
    assert.deepEqual(bytes.subarray(0, 32), new Uint8Array(key.encryption));
    assert.deepEqual(bytes.subarray(32), new Uint8Array(key.id));
    const decoded = decodeMasterKey(bytes);
    assert.deepEqual(decoded.encryption, new Uint8Array(key.encryption));
    assert.deepEqual(decoded.id, new Uint8Array(key.id));
  });

  it("decodes into copies that do not change when the input buffer is wiped", () => {
    const bytes = Buffer.from(encodeMasterKey(generateMasterKey()));
    const decoded = decodeMasterKey(bytes);
    const expected = Uint8Array.from(decoded.encryption);
    bytes.fill(0);
    assert.deepEqual(decoded.encryption, expected);
  });

  it("refuses an encoding of the wrong length as corrupt", () => {
    for (const length of [0, 63, 65]) {
      assert.throws(
        () => decodeMasterKey(new Uint8Array(length)),
        (error: unknown) => isRempartError(error, "RepositoryCorrupt"),
      );
    }
  });
});
