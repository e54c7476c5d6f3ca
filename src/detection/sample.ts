/**
 * Small samples of a file taken while the backup reads it anyway: the head (magic numbers, text or
 * not), the tail (end-of-file structures: zip's central directory, PDF's trailer, PNG's IEND) and a
 * few blocks spread through the middle, where intermittent or header-preserving encryption shows.
 * About 44 KiB copied per file, whatever its size; nothing is read twice.
 */

export const BLOCK_BYTES = 4096;
/** Eight blocks spread at k/8 of the size: an every-other-block cipher misses all seven 1 in 128. */
const MIDDLE_BLOCKS = 7;

export interface FileSample {
  /** bytes read; may differ from the size the file had when it was listed */
  readonly size: number;
  readonly head: Uint8Array;
  /** blocks between head and tail, in file order; none for files of a few blocks */
  readonly middle: readonly Uint8Array[];
  /** the last bytes, when they are not already in the head */
  readonly tail: Uint8Array;
}

export const EMPTY_SAMPLE: FileSample = {
  size: 0,
  head: new Uint8Array(0),
  middle: [],
  tail: new Uint8Array(0),
};

/** Collects a sample from the bytes of one file as they are read, in order. */
export class Sampler {
  private readonly head = new Uint8Array(BLOCK_BYTES);
  private readonly tail = new Uint8Array(BLOCK_BYTES);
  private readonly middle: { readonly offset: number; readonly bytes: Uint8Array }[] = [];
  private size = 0;

  /** `expectedSize` places the middle blocks; the file may still grow or shrink while read. */
  constructor(expectedSize: number) {
    if (expectedSize < 4 * BLOCK_BYTES) return;
    for (let k = 1; k <= MIDDLE_BLOCKS; k++) {
      const offset = Math.floor((expectedSize * k) / (MIDDLE_BLOCKS + 1));
      const previous = this.middle.at(-1);
      if (offset >= BLOCK_BYTES && (!previous || offset >= previous.offset + BLOCK_BYTES))
        this.middle.push({ offset, bytes: new Uint8Array(BLOCK_BYTES) });
    }
  }

  /** The next bytes of the file, which start at offset `size` (everything seen so far). */
  take(bytes: Uint8Array): void {
    const start = this.size;
    const end = start + bytes.length;
    copyOverlap(this.head, 0, bytes, start);
    for (const block of this.middle) copyOverlap(block.bytes, block.offset, bytes, start);
    if (bytes.length >= BLOCK_BYTES) this.tail.set(bytes.subarray(bytes.length - BLOCK_BYTES));
    else {
      this.tail.copyWithin(0, bytes.length);
      this.tail.set(bytes, BLOCK_BYTES - bytes.length);
    }
    this.size = end;
  }

  sample(): FileSample {
    const size = this.size;
    const headLength = Math.min(size, BLOCK_BYTES);
    const tailLength = Math.min(BLOCK_BYTES, size - headLength);
    return {
      size,
      head: this.head.slice(0, headLength),
      middle: this.middle
        .filter((block) => block.offset + BLOCK_BYTES <= size - tailLength)
        .map((block) => block.bytes),
      tail: this.tail.slice(BLOCK_BYTES - tailLength),
    };
  }
}

/** Copies into `target` (file offset `targetOffset`) what `bytes` (at `offset`) holds of it. */
function copyOverlap(
  target: Uint8Array,
  targetOffset: number,
  bytes: Uint8Array,
  offset: number,
): void {
  const from = Math.max(targetOffset, offset);
  const to = Math.min(targetOffset + target.length, offset + bytes.length);
  if (from < to) target.set(bytes.subarray(from - offset, to - offset), from - targetOffset);
}
