/**
 * Turns a blob's sealed bytes back into verified plaintext: authenticate (the AAD binds id, type
 * and compression flag), decompress, and recompute the keyed id. Shared by the repository and the
 * restore workers, which decode without a Repository of their own.
 */
import { open } from "../crypto/aead.js";
import { blobId } from "../crypto/blob-id.js";
import type { MasterKey } from "../crypto/master-key.js";
import { RempartError } from "../errors.js";
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
    const what = `${location.type} blob ${location.id} in pack ${location.pack}`;
    // The claimed length sizes the decompression buffer; indexes are not trusted to choose it.
    if (location.rawLength > MAX_BLOB_PLAINTEXT)
      throw new RempartError("RepositoryCorrupt", `${what} claims an impossible length`, {
        pack: location.pack,
        blob: location.id,
      });
    const id = Buffer.from(location.id, "hex");
    const payload = open(
      this.masterKey.encryption,
      sealed,
      blobAad(id, location.type, location.compressed),
      what,
    );
    const plain = location.compressed
      ? this.decompressor.decompress(payload, location.rawLength, what)
      : payload;
    if (plain.length !== location.rawLength || !id.equals(blobId(this.masterKey.id, plain)))
      throw new RempartError("RepositoryCorrupt", `${what} does not match its id`, {
        pack: location.pack,
        blob: location.id,
      });
    return plain;
  }
}
