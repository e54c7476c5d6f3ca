/**
 * Reads one file, cuts it into content-defined chunks and names each chunk by its keyed id.
 * Reading, chunking and hashing run on the main thread so that the dedup decision is made once,
 * in one place, before any bytes are copied to a worker.
 */
import { closeSync, openSync, readSync } from "node:fs";
import { type ChunkerParams, ChunkWindow } from "../chunker/fastcdc.js";
import { blobHexId } from "../crypto/blob-id.js";
import { EMPTY_SAMPLE, type FileSample, Sampler } from "../detection/sample.js";
import { fsPath } from "../snapshot/filename.js";

export interface ChunkSink {
  /** called for every chunk; `chunk` is a view into the read buffer, valid during the call */
  chunk(hexId: string, chunk: Uint8Array): void;
  /** called between reads so the pipeline can apply backpressure */
  pause(): Promise<void>;
}

export interface ReadResult {
  readonly content: string[];
  readonly size: number;
  /**
   * head, tail and a few middle blocks, for ransomware signals (detection/sample.ts); empty when
   * the chunker does not sample
   */
  readonly sample: FileSample;
}

export class FileChunker {
  private readonly window: ChunkWindow;

  constructor(
    private readonly idKey: Uint8Array,
    gear: Uint32Array,
    private readonly params: ChunkerParams,
    /**
     * Detection compares what is read with the parent snapshot: a backup without one has no use
     * for samples, and copying ~44 KiB of each file of an initial backup is not free.
     */
    private readonly options: { readonly sample: boolean } = { sample: true },
  ) {
    // Two largest chunks (2 MiB by default), the lookahead FastCDC needs; it was 8 MiB at least.
    // Files are read straight into the window the chunker scans.
    this.window = new ChunkWindow(gear, params, Math.max(2 * params.maxSize, 2 * 1024 * 1024));
  }

  /**
   * `path` is decoded (filename.ts); `expectedSize` (from lstat) places the sampled blocks. Throws
   * the fs error if the file cannot be opened or read.
   */
  async read(path: string, expectedSize: number, sink: ChunkSink): Promise<ReadResult> {
    const fd = openSync(fsPath(path), "r");
    try {
      const sampler = this.options.sample ? new Sampler(expectedSize) : undefined;
      return await this.readOpen(fd, sampler, sink);
    } finally {
      closeSync(fd);
    }
  }

  private async readOpen(
    fd: number,
    sampler: Sampler | undefined,
    sink: ChunkSink,
  ): Promise<ReadResult> {
    const { window, params } = this;
    const buffer = window.bytes;
    const content: string[] = [];
    let size = 0;
    let start = 0;
    let end = 0;
    let eof = false;
    while (!eof || start < end) {
      while (!eof && end < buffer.length) {
        const n = readSync(fd, buffer, end, buffer.length - end, null);
        if (n === 0) eof = true;
        sampler?.take(buffer.subarray(end, end + n));
        end += n;
      }
      // Cut only with a whole largest chunk in view (or at EOF): a shorter tail may hold no cut
      // yet, and scanning it now would scan it again after the next read.
      while (start < end && (eof || end - start >= params.maxSize)) {
        const length = window.boundary(start, end, eof);
        const chunk = buffer.subarray(start, start + length);
        const hexId = blobHexId(this.idKey, chunk);
        content.push(hexId);
        sink.chunk(hexId, chunk);
        start += length;
        size += length;
      }
      buffer.copyWithin(0, start, end);
      end -= start;
      start = 0;
      await sink.pause();
    }
    return { content, size, sample: sampler?.sample() ?? EMPTY_SAMPLE };
  }
}
