/**
 * Which byte ranges of a pack to read for a set of wanted blobs. Pure: it decides, the content
 * writer reads. Every read of a stored object costs an open, a stat and a close (or a request),
 * so blobs close together are read as one range, the gap between them included; but a range is
 * also the unit a restore worker decodes, so it is kept to a few MiB (see groupSpans).
 */

export interface Span {
  readonly offset: number;
  readonly length: number;
}

export interface ReadPlan {
  /** ranges to read, in order; their bytes laid back to back form the task's buffer */
  readonly ranges: readonly Span[];
  /** for each input span, where its bytes start in that buffer */
  readonly at: readonly number[];
  /** the buffer's length */
  readonly total: number;
}

/**
 * Ranges of an object of `size` bytes covering `spans` (in any order, possibly overlapping: an
 * index is untrusted), merged when less than `maxGap` bytes apart. Spans are clipped to the
 * object: a span past its end gets no bytes (its decode then fails and another location is tried),
 * and no claimed length makes the buffer larger than the object.
 */
export function planReads(spans: readonly Span[], size: number, maxGap: number): ReadPlan {
  const order = spans.map((_, i) => i).sort((a, b) => spanAt(spans, a) - spanAt(spans, b));
  const ranges: { offset: number; length: number }[] = [];
  const at = new Array<number>(spans.length).fill(-1);
  const outside: number[] = [];
  let base = 0;
  let current: { offset: number; length: number } | undefined;
  for (const i of order) {
    const span = spans[i] as Span;
    const start = Math.min(span.offset, size);
    const end = Math.min(span.offset + span.length, size);
    if (end <= start) {
      outside.push(i);
      continue;
    }
    if (current === undefined || start > current.offset + current.length + maxGap) {
      if (current !== undefined) base += current.length;
      current = { offset: start, length: end - start };
      ranges.push(current);
    } else current.length = Math.max(current.length, end - current.offset);
    at[i] = base + (start - current.offset);
  }
  const total = base + (current?.length ?? 0);
  for (const i of outside) at[i] = total;
  return { ranges, at, total };
}

function spanAt(spans: readonly Span[], i: number): number {
  return (spans[i] as Span).offset;
}

/** A wanted blob's place in its pack and the bytes decoding it yields (as BlobLocation says). */
export interface DecodedSpan extends Span {
  readonly rawLength: number;
}

export interface PartLimits {
  /** bytes of the pack one part's read covers */
  readonly maxBytes: number;
  /** wanted spans closer than this share a read, the bytes between them included */
  readonly maxGap: number;
  /**
   * decoded bytes of one part: what a worker writes for it. Spans starting inside the part's
   * bytes (a frame's blobs, or an untrusted index's overlapping claims) join whatever their
   * decoded size, so a frame is never decoded by two tasks.
   */
  readonly maxDecoded: number;
}

/**
 * Groups spans (in any order) into parts, each read with one request and decoded by one task: in
 * offset order, a span joins the current part when it starts at most `maxGap` bytes after the
 * part's end, the part then covers at most `maxBytes`, and it stays within `maxDecoded`; a span
 * alone may exceed either bound. Returns each part's span indexes, in offset order.
 */
export function groupSpans(spans: readonly DecodedSpan[], limits: PartLimits): number[][] {
  const { maxBytes, maxGap, maxDecoded } = limits;
  const order = spans.map((_, i) => i).sort((a, b) => spanAt(spans, a) - spanAt(spans, b));
  const parts: number[][] = [];
  let current: number[] = [];
  let start = 0;
  let end = 0;
  let decoded = 0;
  for (const i of order) {
    const span = spans[i] as DecodedSpan;
    const spanEnd = span.offset + span.length;
    const fits =
      current.length > 0 &&
      span.offset <= end + maxGap &&
      Math.max(end, spanEnd) - start <= maxBytes &&
      (span.offset < end || decoded + span.rawLength <= maxDecoded);
    if (!fits) {
      if (current.length > 0) parts.push(current);
      current = [];
      start = span.offset;
      end = spanEnd;
      decoded = 0;
    }
    current.push(i);
    end = Math.max(end, spanEnd);
    decoded += span.rawLength;
  }
  if (current.length > 0) parts.push(current);
  return parts;
}

/** The one range covering every span: from the first one's start to the furthest end. */
export function cover(spans: readonly Span[]): Span {
  let start = Number.POSITIVE_INFINITY;
  let end = 0;
  for (const span of spans) {
    start = Math.min(start, span.offset);
    end = Math.max(end, span.offset + span.length);
  }
  return spans.length === 0 ? { offset: 0, length: 0 } : { offset: start, length: end - start };
}
