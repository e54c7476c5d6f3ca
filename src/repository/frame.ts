/**
 * Frames: data blobs compressed and sealed together, up to 1 MiB of plaintext a frame, so that
 * zstd sees a run of similar files (or of neighbouring chunks of one file) instead of each blob
 * alone. Measured with level 3 on the benchmark corpus (compressed bytes, excluding overheads):
 * the share's 54,185 chunks stored 904.1 MB with only blobs under 64 KiB in frames and 884.4 MB
 * with every blob that fits one (−2.2 %; one by one it was ~926 MB); the seven TypeScript
 * releases' unique chunks 37.4 and 36.0 MB (−3.8 %). Each frame is also one AES-GCM seal instead
 * of up to hundreds. Every blob of a frame keeps its own id and entry, pointing at the frame
 * (docs/FORMAT.md, "Frames"); a reader finds the blob by id in the frame's table and checks it
 * against its id like any blob.
 *
 * Plaintext of a frame: `blobs in order || count × (id (32) || u32le length) || u32le count`: the
 * table last, so that a writer copies each blob once, into one buffer it reuses.
 */
import { BLOB_ID_BYTES } from "../crypto/blob-id.js";
import { RempartError } from "../errors.js";
import type { BlobType } from "./blob-entry.js";

/**
 * A writer's frames hold at most this much plaintext, table included: a frame's sealed bytes then
 * fit the restore's 2 MiB part buffers, and reading one blob decompresses at most this much.
 */
export const FRAME_BYTES = 1024 * 1024;
/**
 * Largest frame plaintext a reader decompresses: four times what a writer makes. It bounds what
 * a forged entry (sealed by anyone holding the password) makes a reader allocate.
 */
export const MAX_FRAME_PLAINTEXT = 4 * 1024 * 1024;

const COUNT_BYTES = 4;
const MEMBER_BYTES = BLOB_ID_BYTES + 4;

/** The AAD of a sealed frame: unlike a lone blob's (34 bytes, see pack.ts), it names no id. */
export function frameAad(type: BlobType): Uint8Array {
  return Buffer.from(`rempart frame v1 ${type}`);
}

/** Gathers blobs into one frame's plaintext, in buffers it reuses from frame to frame. */
export class FrameBuilder {
  private plaintext: Buffer = Buffer.allocUnsafe(FRAME_BYTES);
  private table: Buffer = Buffer.allocUnsafe(64 * MEMBER_BYTES);
  private blobCount = 0;
  private used = 0;

  get count(): number {
    return this.blobCount;
  }

  /** Plaintext bytes so far, table included. */
  get size(): number {
    return this.used + this.blobCount * MEMBER_BYTES + COUNT_BYTES;
  }

  /** Whether a blob of `length` bytes still fits in the frame (FRAME_BYTES). */
  fits(length: number): boolean {
    return this.size + MEMBER_BYTES + length <= FRAME_BYTES;
  }

  add(id: Uint8Array, plain: Uint8Array): void {
    this.plaintext = grown(this.plaintext, this.used + plain.length);
    this.plaintext.set(plain, this.used);
    this.used += plain.length;
    const at = this.blobCount * MEMBER_BYTES;
    this.table = grown(this.table, at + MEMBER_BYTES);
    this.table.set(id.subarray(0, BLOB_ID_BYTES), at);
    this.table.writeUInt32LE(plain.length, at + BLOB_ID_BYTES);
    this.blobCount++;
  }

  /**
   * The frame's plaintext (a view, valid until the next add) and its blobs' ids and lengths; the
   * builder starts afresh.
   */
  take(): { plaintext: Uint8Array; ids: Uint8Array[]; lengths: number[] } {
    const tableBytes = this.blobCount * MEMBER_BYTES;
    const end = this.used + tableBytes + COUNT_BYTES;
    this.plaintext = grown(this.plaintext, end);
    this.table.copy(this.plaintext, this.used, 0, tableBytes);
    this.plaintext.writeUInt32LE(this.blobCount, end - COUNT_BYTES);
    const ids: Uint8Array[] = [];
    const lengths: number[] = [];
    for (let at = 0; at < tableBytes; at += MEMBER_BYTES) {
      ids.push(Uint8Array.from(this.table.subarray(at, at + BLOB_ID_BYTES)));
      lengths.push(this.table.readUInt32LE(at + BLOB_ID_BYTES));
    }
    this.blobCount = 0;
    this.used = 0;
    return { plaintext: this.plaintext.subarray(0, end), ids, lengths };
  }
}

/** `buffer`, or a larger copy of it when it holds fewer than `size` bytes. */
function grown(buffer: Buffer, size: number): Buffer {
  if (size <= buffer.length) return buffer;
  const larger = Buffer.allocUnsafe(Math.max(size, 2 * buffer.length));
  buffer.copy(larger);
  return larger;
}

/**
 * A frame's table, read and checked once per opened frame. A blob is looked for from the entry
 * after the last one found, so reading a frame's blobs in order costs one comparison each: a scan
 * from the start for every blob took ~0.5 s of a worker restoring 200,000 small files.
 */
export class FrameTable {
  /** where blob i starts; starts[count] is where the table starts */
  private readonly starts: Uint32Array;
  private next = 0;

  private constructor(
    private readonly plain: Uint8Array,
    private readonly tableStart: number,
    private readonly count: number,
    /** what is wrong with the table, when something is: every blob read from it fails so */
    private fault?: string,
  ) {
    this.starts = new Uint32Array(fault === undefined ? count + 1 : 0);
  }

  /**
   * The table of a frame's plaintext. A malformed one (or one that does not account for the
   * frame's bytes) is still a table, whose every read fails saying so: the frame stays opened
   * once, where a forged one claimed by many entries would otherwise be opened again for each.
   */
  static read(plain: Uint8Array): FrameTable {
    if (plain.length < COUNT_BYTES) return new FrameTable(plain, 0, 0, "has no table");
    const view = new DataView(plain.buffer, plain.byteOffset, plain.byteLength);
    const count = view.getUint32(plain.length - COUNT_BYTES, true);
    const tableStart = plain.length - COUNT_BYTES - count * MEMBER_BYTES;
    if (count === 0 || tableStart < 0) return new FrameTable(plain, 0, 0, "has a malformed table");
    const table = new FrameTable(plain, tableStart, count);
    let position = 0;
    for (let i = 0, at = tableStart; i < count && position <= tableStart; i++, at += MEMBER_BYTES) {
      table.starts[i] = position;
      position += view.getUint32(at + BLOB_ID_BYTES, true);
    }
    if (position !== tableStart) table.fault = "table does not account for its bytes";
    else table.starts[count] = position;
    return table;
  }

  /**
   * The bytes of blob `id`; throws RepositoryCorrupt (`what` names the blob) when the table is
   * malformed or does not list the id. The caller still checks the bytes against the id.
   */
  blob(id: Uint8Array, what: string): Uint8Array {
    const { plain, tableStart, count, starts, fault } = this;
    if (fault !== undefined) throw frameFault(what, fault);
    for (let k = 0, i = this.next; k < count; k++, i = i + 1 === count ? 0 : i + 1) {
      if (!sameId(plain, tableStart + i * MEMBER_BYTES, id)) continue;
      this.next = i + 1 === count ? 0 : i + 1;
      return plain.subarray(starts[i] as number, starts[i + 1] as number);
    }
    throw frameFault(what, "does not hold it");
  }
}

function frameFault(what: string, why: string): RempartError {
  return new RempartError("RepositoryCorrupt", `${what}: its frame ${why}`);
}

function sameId(plain: Uint8Array, at: number, id: Uint8Array): boolean {
  for (let k = 0; k < BLOB_ID_BYTES; k++) if (plain[at + k] !== id[k]) return false;
  return true;
}
