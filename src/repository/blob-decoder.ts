/**
 * Turns a blob's sealed bytes back into verified plaintext: authenticate (the AAD binds id, type
 * and compression flag), decompress, and recompute the keyed id. Shared by the repository and the
 * restore workers, which decode without a Repository of their own.
 */
import { open } from "../crypto/aead.js";
import { blobId } from "../crypto/blob-id.js";
import type { MasterKey } from "../crypto/master-key.js";
import { RempartError } from "../errors.js";
import type { BlobType } from "./blob-entry.js";
import { BlobDecompressor } from "./compression.js";
import { blobAad, MAX_BLOB_PLAINTEXT, type PackEntry } from "./pack.js";

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

  /** With `reuseOutput`, a decoded blob is only valid until the next decode (see BlobDecompressor). */
  constructor(
    private readonly masterKey: MasterKey,
    reuseOutput = false,
  ) {
    this.decompressor = new BlobDecompressor(reuseOutput);
  }

  /** Throws RepositoryCorrupt naming the blob and its pack. */
  decode(location: BlobLocation, sealed: Uint8Array): Uint8Array {
    return this.decodeFields(
      Buffer.from(location.id, "hex"),
      location.type,
      location.compressed,
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
    compressed: boolean,
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
    const payload = open(this.masterKey.encryption, sealed, blobAad(id, type, compressed), what);
    const plain = compressed ? this.decompressor.decompress(payload, rawLength, what) : payload;
    if (plain.length !== rawLength || !bytes.equals(blobId(this.masterKey.id, plain)))
      throw new RempartError("RepositoryCorrupt", `${what} does not match its id`, {
        pack,
        blob: hex,
      });
    return plain;
  }
}
