/** Collects blobs into the flat buffers of one BlobBatch (see blob-worker-protocol.ts). */

import { BLOB_ID_BYTES as ID_BYTES } from "../crypto/blob-id.js";
import { RempartError } from "../errors.js";
import type { BlobType } from "../repository/pack.js";
import type { BlobBatch } from "./blob-worker-protocol.js";

/** More than the bytes in flight ever need: a bound in case a caller recycles what it did not take. */
const MAX_SPARES = 64;

export class BatchBuilder {
  private data: Uint8Array;
  private readonly ids: Buffer;
  private readonly lengths: Uint32Array;
  private readonly types: Uint8Array;
  private count = 0;
  private used = 0;
  /**
   * Data buffers handed back by the workers. Reusing them keeps the batches' memory at the bytes
   * in flight: left to the workers' garbage collectors, sealed batches held ~50 MB more.
   */
  private readonly spares: Uint8Array[] = [];

  constructor(
    private readonly capacity: number,
    private readonly maxBlobs: number,
  ) {
    this.data = new Uint8Array(capacity);
    this.ids = Buffer.alloc(maxBlobs * ID_BYTES);
    this.lengths = new Uint32Array(maxBlobs);
    this.types = new Uint8Array(maxBlobs);
  }

  get bytes(): number {
    return this.used;
  }

  get empty(): boolean {
    return this.count === 0;
  }

  /** Whether a blob of this size still fits; an empty batch takes any size. */
  fits(length: number): boolean {
    return (
      this.count === 0 || (this.count < this.maxBlobs && this.used + length <= this.data.length)
    );
  }

  /** `hexId`: the blob's keyed id as 64 hex digits, written into the batch as its 32 bytes. */
  add(type: BlobType, hexId: string, plain: Uint8Array): void {
    // A short write (a character that is not hex) would leave an earlier batch's bytes there.
    const written = this.ids.write(hexId, this.count * ID_BYTES, ID_BYTES, "hex");
    if (hexId.length !== 2 * ID_BYTES || written !== ID_BYTES)
      throw new RempartError("InvalidArgument", `not a blob id: ${JSON.stringify(hexId)}`);
    if (this.count === 0 && plain.length > this.data.length)
      this.data = new Uint8Array(plain.length);
    this.data.set(plain, this.used);
    this.lengths[this.count] = plain.length;
    this.types[this.count] = type === "tree" ? 1 : 0;
    this.used += plain.length;
    this.count++;
  }

  /** Takes back the data buffer of a batch that was sealed (oversized ones are let go). */
  recycle(data: Uint8Array): void {
    if (data.buffer.byteLength === this.capacity && this.spares.length < MAX_SPARES)
      this.spares.push(new Uint8Array(data.buffer));
  }

  /** Lets go of every buffer once no batch will follow: the builder must not be used again. */
  release(): void {
    this.spares.length = 0;
    this.data = new Uint8Array(0);
  }

  /** The batch so far, in buffers of its own (ready to transfer); the builder starts afresh. */
  take(): BlobBatch {
    const batch: BlobBatch = {
      // Handed over whole rather than copied: the next batch gets a new buffer.
      data: this.data.subarray(0, this.used),
      // A copy in a buffer of its own: Buffer's slice would be a view of this builder's.
      ids: new Uint8Array(this.ids.subarray(0, this.count * ID_BYTES)),
      lengths: this.lengths.slice(0, this.count),
      types: this.types.slice(0, this.count),
    };
    this.data = this.spares.pop() ?? new Uint8Array(this.capacity);
    this.count = 0;
    this.used = 0;
    return batch;
  }
}
