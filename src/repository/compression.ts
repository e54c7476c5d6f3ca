/**
 * zstd through zstd-napi's low-level binding, so compression writes into buffers we own: the
 * high-level `compress()` allocates on every call, which showed up as GC time in the prototype.
 */
import { createRequire } from "node:module";
import { RempartError } from "../errors.js";
import { scratchFor } from "./scratch.js";

type ZstdBinding = typeof import("zstd-napi/binding.js");
const zstd = createRequire(import.meta.url)("zstd-napi/binding") as ZstdBinding;

/**
 * Level 3 without a compressibility probe: on the benchmark share a level-1 probe of the first
 * 64 KiB saved 7 % of compression time but stored 0.8 % more (incompressible data is cheap for
 * zstd anyway); level 5 stores 0.9 % less for twice the time. Re-measured with zstd 1.5.7 on a
 * 500 MB sample of the share's chunks (CPU, best of 4): a streaming probe (level 3, flush after
 * 64 KiB, give up above 95 %) took the same time as plain level 3 and stored 0.4 % more; level 1
 * took 20 % less time and stored 1.4 % more.
 *
 * Higher levels buy size on text, not on the share: measured again (zstd 1.5.7, CPU best of 4 on
 * a busy machine) on every 6th file of the share (334 MB of chunks) and on the unique chunks of
 * the seven TypeScript releases (189 MB), stored MB / CPU s: level 3 265.1 / 0.74 and 36.6 / 0.70;
 * level 3 with greedy matching (searchLog 2) 264.2 / 1.31 and 34.7 / 1.52; level 5 263.8 / 1.75
 * and 33.5 / 1.58. Anything past the double-fast matcher of levels 1-4 roughly doubles the
 * compression time for 0.5 % less on the share and 5-9 % less on versions. End to end at level 5
 * (one run each, busy machine): the share's backup took 28.0 s of CPU instead of 16.8 for a
 * repository of 929.1 MB instead of 938.2; the versioned set stored 34.5-34.8 MB instead of
 * 37.1-37.2. Level 3 stays until the CPU budget allows that trade.
 */
const LEVEL = 3;
/** Compressed output must save at least this fraction, or the raw bytes are kept. */
const MIN_SAVING = 0.02;

export class BlobCompressor {
  private readonly context = new zstd.CCtx();
  private scratch = new Uint8Array(0);

  private ensureScratch(size: number): Uint8Array {
    const bound = zstd.compressBound(size);
    this.scratch = scratchFor(this.scratch, bound);
    return this.scratch;
  }

  /**
   * Returns a view of the compressed bytes (valid until the next call), or undefined when the
   * chunk is not worth compressing.
   */
  compress(data: Uint8Array): Uint8Array | undefined {
    if (data.length === 0) return undefined;
    const compressed = this.compressFrame(data);
    return compressed.length > data.length * (1 - MIN_SAVING) ? undefined : compressed;
  }

  /**
   * A zstd frame of `data` whatever it saves (a view, valid until the next call): a frame of
   * several blobs (frame.ts) is always stored compressed; zstd keeps incompressible blocks raw.
   */
  compressFrame(data: Uint8Array): Uint8Array {
    const scratch = this.ensureScratch(data.length);
    return scratch.subarray(0, this.context.compress(scratch, data, LEVEL));
  }
}

export class BlobDecompressor {
  private readonly context = new zstd.DCtx();
  private scratch = new Uint8Array(0);

  /**
   * @param reuseOutput return a view of one internal buffer, valid until the next call: for
   *   callers that write the plaintext out at once, sparing an allocation per blob.
   */
  constructor(private readonly reuseOutput = false) {}

  private output(rawLength: number): Uint8Array {
    if (!this.reuseOutput) return Buffer.allocUnsafe(rawLength);
    this.scratch = scratchFor(this.scratch, rawLength);
    return this.scratch.subarray(0, rawLength);
  }

  /**
   * Decompresses a frame of several blobs (frame.ts) into the size its zstd header states,
   * refused above `maxLength` before anything is allocated; with `reuseOutput`, like a blob, into
   * the one buffer valid until the next call.
   */
  decompressFrame(compressed: Uint8Array, maxLength: number, what: string): Uint8Array {
    let size: number | null;
    try {
      size = zstd.getFrameContentSize(compressed);
    } catch (error) {
      throw new RempartError("RepositoryCorrupt", `${what} does not decompress: ${String(error)}`);
    }
    if (size === null || size > maxLength)
      throw new RempartError("RepositoryCorrupt", `${what} claims an impossible length`);
    const out = this.output(size);
    const written = this.decompressInto(out, compressed, what);
    if (written !== size)
      throw new RempartError(
        "RepositoryCorrupt",
        `${what} decompressed to ${written} bytes, its header says ${size}`,
      );
    return out;
  }

  /** Decompresses into exactly rawLength bytes, or reports corruption. */
  decompress(compressed: Uint8Array, rawLength: number, what: string): Uint8Array {
    const out = this.output(rawLength);
    const written = this.decompressInto(out, compressed, what);
    if (written !== rawLength)
      throw new RempartError(
        "RepositoryCorrupt",
        `${what} decompressed to ${written} bytes, expected ${rawLength}`,
      );
    return out;
  }

  private decompressInto(out: Uint8Array, compressed: Uint8Array, what: string): number {
    try {
      return this.context.decompress(out, compressed);
    } catch (error) {
      throw new RempartError("RepositoryCorrupt", `${what} does not decompress: ${String(error)}`);
    }
  }
}
