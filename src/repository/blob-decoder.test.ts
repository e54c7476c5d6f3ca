/**
 * A restore worker decodes from an id's bytes and an entry's numbers (decodeFields), the
 * repository from a location (decode): both must accept exactly the same blobs and name a bad one
 * the same way, by its id and its pack.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { seal } from "../crypto/aead.js";
import { blobId } from "../crypto/blob-id.js";
import { generateMasterKey } from "../crypto/master-key.js";
import { isRempartError } from "../errors.js";
import { BlobDecoder, type BlobLocation, storageOf } from "./blob-decoder.js";
import { BlobCompressor } from "./compression.js";
import { blobAad } from "./pack.js";

const key = generateMasterKey();
const PACK = "ab".repeat(32);

/** A compressed data blob sealed as a pack holds it, and where an index would place it. */
function sealedBlob(plain: Uint8Array): { location: BlobLocation; sealed: Uint8Array } {
  const id = blobId(key.id, plain);
  const compressed = new BlobCompressor().compress(plain);
  assert.ok(compressed, "the test blob compresses");
  const sealed = seal(key.encryption, compressed, blobAad(id, "data", true));
  const location: BlobLocation = {
    type: "data",
    id: Buffer.from(id).toString("hex"),
    offset: 0,
    length: sealed.length,
    rawLength: plain.length,
    compressed: true,
    pack: PACK,
  };
  return { location, sealed };
}

function decodeBoth(location: BlobLocation, sealed: Uint8Array, id = location.id) {
  const decoder = new BlobDecoder(key);
  const run = (decode: () => Uint8Array) => {
    try {
      return { plain: Buffer.from(decode()) };
    } catch (error) {
      if (!isRempartError(error, "RepositoryCorrupt")) throw error;
      return { error: error.message };
    }
  };
  return {
    byLocation: run(() => decoder.decode({ ...location, id }, sealed)),
    byFields: run(() =>
      decoder.decodeFields(
        Buffer.from(id, "hex"),
        location.type,
        storageOf(location),
        location.rawLength,
        location.pack,
        sealed,
      ),
    ),
  };
}

describe("BlobDecoder", () => {
  const plain = Buffer.from("a paragraph of an office document ".repeat(400));
  const { location, sealed } = sealedBlob(plain);

  it("decodes a blob the same from a location and from its fields", () => {
    const { byLocation, byFields } = decodeBoth(location, sealed);
    assert.deepEqual(byLocation, { plain });
    assert.deepEqual(byFields, byLocation);
  });

  it("names the blob and its pack when its bytes were altered", () => {
    const altered = new Uint8Array(sealed);
    altered[20] = (altered[20] as number) ^ 1;
    const { byLocation, byFields } = decodeBoth(location, altered);
    assert.match(byFields.error ?? "", new RegExp(`data blob ${location.id} in pack ${PACK}`));
    assert.deepEqual(byFields, byLocation);
  });

  it("refuses a blob filed under another id, and a claimed length it does not have", () => {
    const other = "cd".repeat(32);
    const misfiled = decodeBoth(location, sealed, other);
    assert.match(misfiled.byFields.error ?? "", new RegExp(`data blob ${other} in pack ${PACK}`));
    assert.deepEqual(misfiled.byFields, misfiled.byLocation);
    const longer = decodeBoth({ ...location, rawLength: location.rawLength + 1 }, sealed);
    assert.ok(longer.byFields.error !== undefined);
    assert.deepEqual(longer.byFields, longer.byLocation);
  });
});
