/**
 * The buffers a restore reads parts of packs into, reused part after part. A worker hands each
 * one back with its answer, so a restore allocates a handful of them in all instead of one per
 * part: a fresh multi-MiB buffer is fresh memory to fault in, and a dead one stays resident until
 * some isolate's collector gets to it. How many are out at once is bounded by the caller (the
 * read-ahead's budget counts every part as at least one buffer).
 */
export class PartBuffers {
  private readonly free: ArrayBuffer[] = [];

  constructor(readonly size: number) {}

  /** A view of `length` bytes: of a pooled buffer when it fits, else of a buffer of its own. */
  take(length: number): Uint8Array {
    if (length > this.size) return new Uint8Array(length);
    return new Uint8Array(this.free.pop() ?? new ArrayBuffer(this.size), 0, length);
  }

  /** Takes back a buffer no one uses any more; one not of the pool's size is left to the GC. */
  give(buffer: ArrayBuffer): void {
    if (buffer.byteLength === this.size) this.free.push(buffer);
  }
}
