/**
 * Turns a blob's sealed bytes back into verified plaintext: authenticate (the AAD binds id, type
 * and compression flag), decompress, and recompute the keyed id. Shared by the repository and the
 * restore workers, which decode without a Repository of their own.
 */
import { NONCE_BYTES, open, openInto, SEAL_OVERHEAD, TAG_BYTES } from "../crypto/aead.js";
import { blobId } from "../crypto/blob-id.js";
import type { MasterKey } from "../crypto/master-key.js";
import { RempartError } from "../errors.js";
import type { BlobType } from "./blob-entry.js";
import { BlobDecompressor } from "./compression.js";
import { FrameTable, frameAad, MAX_FRAME_PLAINTEXT } from "./frame.js";
import { blobAad, MAX_BLOB_PLAINTEXT, type PackEntry } from "./pack.js";
import { scratchFor } from "./scratch.js";

/** How a blob's payload is stored (blob-entry.ts): alone, alone compressed, or in a frame. */
export type BlobStorage = "raw" | "zstd" | "framed";

export function storageOf(entry: Pick<PackEntry, "compressed" | "framed">): BlobStorage {
  return entry.framed ? "framed" : entry.compressed ? "zstd" : "raw";
}

/**
 * The last frame opened: a frame's blobs are read one after another (a restore task, a check of
 * a pack), and each would otherwise decrypt and decompress the whole frame again.
 */
interface OpenedFrame {
  /** where the sealed bytes it was opened from lie (weakly: a pack's buffer is not kept for it) */
  readonly buffer: WeakRef<ArrayBufferLike>;
  readonly byteOffset: number;
  readonly length: number;
  /** their nonce and tag, so that a buffer refilled in place is not taken for the same frame */
  readonly nonceAndTag: Buffer;
  readonly type: BlobType;
  readonly table: FrameTable;
}

export interface BlobLocation extends PackEntry {
  readonly pack: string;
}

/**
 * The keys that decode blobs, for a worker thread that decodes without a Repository of its own
 * (restore). Named for that job so that no caller outside the repository holds a `MasterKey`,
 * the object key slots wrap and everything else is sealed with.
 */
export interface BlobDecodingContext {
  readonly encryptionKey: Uint8Array;
  readonly idKey: Uint8Array;
}

export class BlobDecoder {
  private readonly decompressor: BlobDecompressor;
  private frame: OpenedFrame | undefined;
  /** with reuseOutput: where payloads are decrypted, so that none makes a buffer of its own */
  private payloadScratch = new Uint8Array(0);

  /** With `reuseOutput`, a decoded blob is only valid until the next decode (see BlobDecompressor). */
  constructor(
    private readonly masterKey: MasterKey,
    private readonly reuseOutput = false,
  ) {
    this.decompressor = new BlobDecompressor(reuseOutput);
  }

  /** Throws RepositoryCorrupt naming the blob and its pack. */
  decode(location: BlobLocation, sealed: Uint8Array): Uint8Array {
    return this.decodeFields(
      Buffer.from(location.id, "hex"),
      location.type,
      storageOf(location),
      location.rawLength,
      location.pack,
      sealed,
    );
  }

  /**
   * decode() for a caller that holds the blob's id as bytes and its entry as numbers (a restore
   * worker's task), so that no location object is made per blob.
   */
  decodeFields(
    id: Uint8Array,
    type: BlobType,
    storage: BlobStorage,
    rawLength: number,
    pack: string,
    sealed: Uint8Array,
  ): Uint8Array {
    const bytes = Buffer.from(id.buffer, id.byteOffset, id.length);
    const hex = bytes.toString("hex");
    const what = `${type} blob ${hex} in pack ${pack}`;
    // The claimed length sizes the decompression buffer; indexes are not trusted to choose it.
    if (rawLength > MAX_BLOB_PLAINTEXT)
      throw new RempartError("RepositoryCorrupt", `${what} claims an impossible length`, {
        pack,
        blob: hex,
      });
    const plain = this.plaintext(id, type, storage, rawLength, sealed, what);
    if (plain.length !== rawLength || !bytes.equals(blobId(this.masterKey.id, plain)))
      throw new RempartError("RepositoryCorrupt", `${what} does not match its id`, {
        pack,
        blob: hex,
      });
    return plain;
  }

  private plaintext(
    id: Uint8Array,
    type: BlobType,
    storage: BlobStorage,
    rawLength: number,
    sealed: Uint8Array,
    what: string,
  ): Uint8Array {
    if (storage === "framed") {
      const inFrame = this.openFrame(type, sealed, what).blob(id, what);
      // The frame outlives this call: a caller that keeps blobs gets bytes of its own.
      return this.reuseOutput ? inFrame : Buffer.from(inFrame);
    }
    // With reuseOutput the decompressor's one buffer held the open frame: it is about to be reused.
    this.frame = undefined;
    const compressed = storage === "zstd";
    const payload = this.open(sealed, blobAad(id, type, compressed), what);
    return compressed ? this.decompressor.decompress(payload, rawLength, what) : payload;
  }

  /**
   * The payload of sealed bytes; with reuseOutput, a view of one buffer, valid until the next
   * call, instead of a fresh buffer from node:crypto per payload, dead once decompressed (its
   * effect on a restore's peak RSS was within noise; the scratches' growth, see scratch.ts, was
   * what cost memory).
   */
  private open(sealed: Uint8Array, aad: Uint8Array, what: string): Uint8Array {
    const key = this.masterKey.encryption;
    if (!this.reuseOutput) return open(key, sealed, aad, what);
    const length = Math.max(0, sealed.length - SEAL_OVERHEAD);
    this.payloadScratch = scratchFor(this.payloadScratch, length);
    return this.payloadScratch.subarray(0, openInto(key, sealed, aad, this.payloadScratch, what));
  }

  private openFrame(type: BlobType, sealed: Uint8Array, what: string): FrameTable {
    const nonceAndTag = Buffer.concat([
      sealed.subarray(0, NONCE_BYTES),
      sealed.subarray(Math.max(NONCE_BYTES, sealed.length - TAG_BYTES)),
    ]);
    const last = this.frame;
    if (
      last !== undefined &&
      last.type === type &&
      last.buffer.deref() === sealed.buffer &&
      last.byteOffset === sealed.byteOffset &&
      last.length === sealed.length &&
      last.nonceAndTag.equals(nonceAndTag)
    )
      return last.table;
    this.frame = undefined;
    const frameWhat = `the frame of ${what}`;
    const payload = this.open(sealed, frameAad(type), frameWhat);
    const plain = this.decompressor.decompressFrame(payload, MAX_FRAME_PLAINTEXT, frameWhat);
    const table = FrameTable.read(plain);
    this.frame = {
      buffer: new WeakRef(sealed.buffer),
      byteOffset: sealed.byteOffset,
      length: sealed.length,
      nonceAndTag,
      type,
      table,
    };
    return table;
  }
}
