/**
 * Frames (frame.ts): blobs sealed together keep their own ids and entries; a reader finds each
 * by id, checks it like any blob, and refuses a frame sealed by anyone holding the password that
 * lies about its contents or would make it allocate more than any writer's frame.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { NONCE_BYTES, seal, TAG_BYTES } from "../crypto/aead.js";
import { blobId, toHex } from "../crypto/blob-id.js";
import { generateMasterKey } from "../crypto/master-key.js";
import { isRempartError } from "../errors.js";
import { BlobDecoder, type BlobLocation, storageOf } from "./blob-decoder.js";
import { BlobCompressor } from "./compression.js";
import { EntryList } from "./entry-list.js";
import { FrameBuilder, FrameTable, frameAad, MAX_FRAME_PLAINTEXT } from "./frame.js";
import { decodeIndex, encodeIndex } from "./index-file.js";
import { claimFitsPack, locateHeader, openHeader, PackBuilder, type PackEntry } from "./pack.js";

const key = generateMasterKey();
const PACK = "cd".repeat(32);

/** Small files as a share holds them: similar text, one empty. */
function smallFiles(count: number): Buffer[] {
  return Array.from({ length: count }, (_, i) =>
    i === 3
      ? Buffer.alloc(0)
      : Buffer.from(`<html><body><h1>Page ${i}</h1>${"<p>the same boilerplate</p>".repeat(i)}`),
  );
}

function framed(blobs: readonly Buffer[]) {
  const builder = new FrameBuilder();
  for (const blob of blobs) builder.add(blobId(key.id, blob), blob);
  const { plaintext, ids, lengths } = builder.take();
  return { plaintext: Buffer.from(plaintext), ids, lengths };
}

/** A pack of a lone blob, then a frame of `blobs`, then another lone blob. */
function packWithFrame(blobs: readonly Buffer[]) {
  const builder = new PackBuilder(key.encryption, 1024);
  const lone = randomBytes(2000);
  builder.add("data", blobId(key.id, lone), lone, lone.length, false);
  const { plaintext, ids, lengths } = framed(blobs);
  const payload = Buffer.from(new BlobCompressor().compressFrame(plaintext));
  builder.addFrame("data", { payload, ids, lengths });
  const last = randomBytes(100);
  builder.add("data", blobId(key.id, last), last, last.length, false);
  return builder.finish();
}

function corrupt(pattern: RegExp) {
  return (error: unknown) =>
    isRempartError(error, "RepositoryCorrupt") && pattern.test(error.message);
}

/** A frame's entry for `id`, its sealed bytes made of `plaintext` compressed. */
function sealedFrame(plaintext: Uint8Array, id: Uint8Array, rawLength: number) {
  const payload = new BlobCompressor().compressFrame(plaintext);
  const sealed = seal(key.encryption, payload, frameAad("data"));
  const location: BlobLocation = {
    type: "data",
    id: toHex(id),
    offset: 0,
    length: sealed.length,
    rawLength,
    compressed: true,
    framed: true,
    pack: PACK,
  };
  return { sealed, location };
}

describe("frames", () => {
  it("a frame's blobs read back by id, each its own bytes", () => {
    const blobs = smallFiles(6);
    const { plaintext, ids, lengths } = framed(blobs);
    assert.deepEqual(
      lengths,
      blobs.map((b) => b.length),
    );
    const table = FrameTable.read(plaintext);
    // In order, then backwards and skipping: the search starts after the last blob found.
    const order = [...blobs.keys(), ...[...blobs.keys()].reverse(), 4, 1, 4];
    for (const i of order)
      assert.deepEqual(Buffer.from(table.blob(ids[i] as Uint8Array, "blob")), blobs[i]);
    assert.throws(
      () => table.blob(randomBytes(32), "blob x"),
      corrupt(/blob x: its frame does not hold it/),
    );
  });

  it("a pack holding a frame: one sealed frame, an entry per blob at its place, in header and index alike", () => {
    const blobs = smallFiles(5);
    const pack = packWithFrame(blobs);
    const frameEntries = pack.entries.filter((e) => e.framed);
    assert.equal(frameEntries.length, 5);
    assert.equal(new Set(frameEntries.map((e) => `${e.offset}/${e.length}`)).size, 1);
    assert.equal(pack.entries[0]?.framed, undefined, "a lone blob's entry is as before");
    const header = locateHeader(pack.bytes.subarray(-4), pack.bytes.length, "p");
    const sealedHeader = pack.bytes.subarray(header.offset, header.offset + header.length);
    assert.deepEqual(openHeader(key.encryption, sealedHeader, header.offset, "p"), pack.entries);
    const list = EntryList.of(pack.entries);
    assert.ok(claimFitsPack(list, pack.bytes.length), "an index's claim fits the pack");
    const [listed] = decodeIndex(
      key.encryption,
      encodeIndex(key.encryption, [{ pack: pack.name, blobs: pack.entries }]),
      "i",
    );
    assert.deepEqual([...(listed?.entries ?? [])], pack.entries);

    // Every blob decodes from the frame's sealed bytes, whichever way a reader asks.
    for (const reuse of [false, true]) {
      const decoder = new BlobDecoder(key, reuse);
      for (const [i, entry] of frameEntries.entries()) {
        const sealed = pack.bytes.subarray(entry.offset, entry.offset + entry.length);
        const byLocation = Buffer.from(decoder.decode({ ...entry, pack: pack.name }, sealed));
        assert.deepEqual(byLocation, blobs[i]);
        const byFields = decoder.decodeFields(
          Buffer.from(entry.id, "hex"),
          entry.type,
          storageOf(entry),
          entry.rawLength,
          pack.name,
          sealed,
        );
        assert.deepEqual(Buffer.from(byFields), blobs[i]);
      }
    }
  });

  it("an index whose framed entries do not share their frame's place does not fit the pack", () => {
    const pack = packWithFrame(smallFiles(4));
    const moved = pack.entries.map(
      (e, i): PackEntry => (i === 2 ? { ...e, length: e.length - 1 } : e),
    );
    assert.equal(claimFitsPack(EntryList.of(moved), pack.bytes.length), false);
    const unframed = pack.entries.map((e): PackEntry => ({ ...e, framed: undefined }));
    assert.equal(claimFitsPack(EntryList.of(unframed), pack.bytes.length), false);
  });

  it("a header entry continuing a frame that is not there refuses the header", () => {
    const pack = packWithFrame(smallFiles(3));
    // The lone first blob's entry rewritten as a frame's continuation.
    const forged = new PackBuilder(key.encryption, 1024);
    const lone = randomBytes(50);
    forged.add("data", blobId(key.id, lone), lone, lone.length, false);
    const { entries } = forged.finish();
    const entry = entries[0] as PackEntry;
    const plain = Buffer.alloc(9 + 42);
    plain.write("RPAK", 0, "latin1");
    plain[4] = 1;
    plain.writeUInt32LE(1, 5);
    plain[9] = 0;
    plain[10] = 3;
    Buffer.from(entry.id, "hex").copy(plain, 11);
    plain.writeUInt32LE(entry.length, 43);
    plain.writeUInt32LE(entry.rawLength, 47);
    const sealedHeader = seal(key.encryption, plain, Buffer.from("rempart pack header v1"));
    assert.throws(
      () => openHeader(key.encryption, sealedHeader, entry.length, pack.name),
      corrupt(/continues a frame that is not there/),
    );
  });

  it("a decoder that reuses its buffers never takes a frame refilled in place for the one before", () => {
    const first = packWithFrame(smallFiles(4));
    const second = packWithFrame(smallFiles(7).reverse());
    const decoder = new BlobDecoder(key, true);
    const area = new Uint8Array(Math.max(first.bytes.length, second.bytes.length));
    for (const pack of [first, second]) {
      area.set(pack.bytes);
      for (const entry of pack.entries.filter((e) => e.framed)) {
        const sealed = area.subarray(entry.offset, entry.offset + entry.length);
        assert.doesNotThrow(() => decoder.decode({ ...entry, pack: pack.name }, sealed));
      }
    }
  });

  it("a decoder that reuses its buffers reads a frame's blobs between lone blobs, each right", () => {
    const blobs = smallFiles(5);
    const pack = packWithFrame(blobs);
    const decoder = new BlobDecoder(key, true);
    const lone = pack.entries.filter((e) => !e.framed);
    const inFrame = pack.entries.filter((e) => e.framed);
    const read = (entry: PackEntry) =>
      Buffer.from(
        decoder.decode(
          { ...entry, pack: pack.name },
          pack.bytes.subarray(entry.offset, entry.offset + entry.length),
        ),
      );
    for (const [i, entry] of inFrame.entries()) {
      assert.deepEqual(read(entry), blobs[i]);
      const other = lone[i % lone.length] as PackEntry;
      assert.equal(read(other).length, other.rawLength);
      assert.deepEqual(read(entry), blobs[i], "the frame again, after a lone blob");
    }
  });

  it("refuses frames whose table lies, without trusting it for a byte", () => {
    const blobs = smallFiles(4);
    const { plaintext, ids } = framed(blobs);
    const id = ids[1] as Uint8Array;
    const rawLength = (blobs[1] as Buffer).length;
    const cases: [string, Buffer, RegExp][] = [
      ["a count of zero", withCount(plaintext, 0), /malformed table/],
      ["a count past its bytes", withCount(plaintext, 0xffffffff), /malformed table/],
      ["a count one short", withCount(plaintext, 3), /does not account for its bytes/],
      ["no table at all", Buffer.from([1, 0]), /has no table/],
    ];
    for (const [title, forged, why] of cases) {
      const { sealed, location } = sealedFrame(forged, id, rawLength);
      assert.throws(() => new BlobDecoder(key).decode(location, sealed), corrupt(why), title);
    }
    // A table that names the blob with other bytes: caught by the blob's keyed id.
    const swapped = Buffer.from(plaintext);
    swapped.set(ids[2] as Uint8Array, blobs.reduce((n, b) => n + b.length, 0) + 36);
    swapped.set(id, blobs.reduce((n, b) => n + b.length, 0) + 72);
    const { sealed, location } = sealedFrame(swapped, ids[2] as Uint8Array, rawLength);
    assert.throws(() => new BlobDecoder(key).decode(location, sealed), corrupt(/does not match/));
  });

  it("opens a frame whose table lies once, however many entries claim it", () => {
    const blobs = smallFiles(4);
    const { plaintext, ids } = framed(blobs);
    const { sealed, location } = sealedFrame(withCount(plaintext, 3), ids[0] as Uint8Array, 1);
    const decoder = new BlobDecoder(key, true);
    assert.throws(() => decoder.decode(location, sealed), corrupt(/does not account/));
    // The ciphertext scrambled in place, nonce and tag kept: opening it again would fail to
    // authenticate; the second entry gets the table's fault, so the frame was not opened again.
    sealed.fill(0x55, NONCE_BYTES, sealed.length - TAG_BYTES);
    const second = { ...location, id: toHex(ids[1] as Uint8Array) };
    assert.throws(() => decoder.decode(second, sealed), corrupt(/does not account/));
  });

  it("refuses a frame that would decompress past the largest frame, before allocating it", () => {
    const id = randomBytes(32);
    const bomb = sealedFrame(Buffer.alloc(MAX_FRAME_PLAINTEXT + 1), id, 10);
    assert.throws(
      () => new BlobDecoder(key).decode(bomb.location, bomb.sealed),
      corrupt(/claims an impossible length/),
    );
    const sealedAlone = seal(key.encryption, randomBytes(300), frameAad("data"));
    const location = { ...bomb.location, length: sealedAlone.length };
    assert.throws(
      () => new BlobDecoder(key).decode(location, sealedAlone),
      corrupt(/does not decompress/),
    );
  });
});

function withCount(plaintext: Buffer, count: number): Buffer {
  const forged = Buffer.from(plaintext);
  forged.writeUInt32LE(count, forged.length - 4);
  return forged;
}
