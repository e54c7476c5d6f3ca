import assert from "node:assert/strict";
import { createDecipheriv, randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { isRempartError } from "../errors.js";
import { NONCE_BYTES, open, openInto, SEAL_OVERHEAD, seal, sealInto, TAG_BYTES } from "./aead.js";

const key = randomBytes(32);
const aad = Buffer.from("blob aad");

function rejectsAsCorrupt(fn: () => unknown, what?: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(isRempartError(error, "RepositoryCorrupt"), String(error));
    if (what !== undefined)
      assert.match(error.message, new RegExp(`^${what} failed authentication`));
    return true;
  });
}

describe("aead", () => {
  it("opens what it sealed, with and without associated data", () => {
    for (const size of [0, 1, 1000, 200 * 1024 + 3]) {
      const plaintext = randomBytes(size);
      assert.deepEqual(Buffer.from(open(key, seal(key, plaintext, aad), aad)), plaintext);
      assert.deepEqual(Buffer.from(open(key, seal(key, plaintext))), plaintext);
    }
  });

  it("uses a fresh nonce for every message", () => {
    const plaintext = Buffer.from("same message");
    assert.notDeepEqual(seal(key, plaintext), seal(key, plaintext));
  });

  it("never repeats a nonce, across the refills of its pool of random bytes", () => {
    const nonces = new Set<string>();
    const count = 3000; // nonces come from a pool of 1024: this crosses two refills
    for (let i = 0; i < count; i++) {
      const sealed = seal(key, Buffer.from("m"));
      nonces.add(Buffer.from(sealed.subarray(0, NONCE_BYTES)).toString("hex"));
    }
    assert.equal(nonces.size, count);
  });

  it("refuses every single altered byte of nonce, ciphertext and tag", () => {
    const sealed = seal(key, randomBytes(40), aad);
    for (let at = 0; at < sealed.length; at++) {
      const altered = Uint8Array.from(sealed);
      altered[at] = (altered[at] ?? 0) ^ 0x01;
      rejectsAsCorrupt(() => open(key, altered, aad, "blob 3fa4"), "blob 3fa4");
    }
  });

  it("refuses other associated data, missing associated data and another key", () => {
    const sealed = seal(key, randomBytes(40), aad);
    rejectsAsCorrupt(() => open(key, sealed, Buffer.from("blob aaD")));
    rejectsAsCorrupt(() => open(key, sealed));
    rejectsAsCorrupt(() => open(randomBytes(32), sealed, aad));
  });

  it("refuses truncated input of every length, naming the object", () => {
    const sealed = seal(key, randomBytes(10), aad);
    for (let length = 0; length < sealed.length; length++) {
      rejectsAsCorrupt(() => open(key, sealed.subarray(0, length), aad, "pack 9c1e"), "pack 9c1e");
    }
  });

  it("openInto opens into a caller's buffer, slice by slice, and refuses what open refuses", () => {
    // Longer than one 64 KiB slice, and not a multiple of it.
    const plain = randomBytes(200_000);
    const sealed = seal(key, plain, aad);
    const out = new Uint8Array(plain.length + 10);
    assert.equal(openInto(key, sealed, aad, out), plain.length);
    assert.deepEqual(Buffer.from(out.subarray(0, plain.length)), plain);
    const altered = Uint8Array.from(sealed);
    altered[100_000] = (altered[100_000] ?? 0) ^ 0x01;
    rejectsAsCorrupt(() => openInto(key, altered, aad, out, "frame 1"), "frame 1");
    rejectsAsCorrupt(() => openInto(key, sealed.subarray(0, 20), aad, out, "frame 2"), "frame 2");
    assert.throws(
      () => openInto(key, sealed, aad, new Uint8Array(plain.length - 1)),
      (error) => isRempartError(error, "InvalidArgument"),
    );
  });

  it("sealInto writes nonce || ciphertext || tag at the offset and nothing else", () => {
    const plaintext = randomBytes(150 * 1024 + 7);
    const out = new Uint8Array(plaintext.length + SEAL_OVERHEAD + 20).fill(0xaa);
    const written = sealInto(key, plaintext, aad, out, 10);
    assert.equal(written, plaintext.length + SEAL_OVERHEAD);
    assert.ok(out.subarray(0, 10).every((byte) => byte === 0xaa));
    assert.ok(out.subarray(10 + written).every((byte) => byte === 0xaa));
    const sealed = out.subarray(10, 10 + written);
    assert.deepEqual(Buffer.from(open(key, sealed, aad)), plaintext);
    // Decrypted by plain AES-256-GCM at the documented positions, as another reader would.
    const decipher = createDecipheriv("aes-256-gcm", key, sealed.subarray(0, NONCE_BYTES));
    decipher.setAAD(aad);
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    const body = decipher.update(sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES));
    assert.deepEqual(Buffer.concat([body, decipher.final()]), plaintext);
  });

  it("sealInto refuses an output that is too small or overlaps the plaintext", () => {
    const plaintext = randomBytes(100);
    const tooSmall = new Uint8Array(plaintext.length + SEAL_OVERHEAD);
    assert.throws(() => sealInto(key, plaintext, aad, tooSmall, 1), isInvalidArgument);
    const shared = new Uint8Array(1000);
    const inside = shared.subarray(500, 600);
    assert.throws(() => sealInto(key, inside, aad, shared, 450), isInvalidArgument);
  });
});

function isInvalidArgument(error: unknown): boolean {
  return isRempartError(error, "InvalidArgument");
}
