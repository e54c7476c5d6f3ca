/**
 * Writes file contents batch by batch, and within a batch part by part: a part is a run of a
 * pack's wanted blobs of a few MiB, read with one request and handed to a restore worker, which
 * decodes every blob of it and writes it to every file position that needs it. Per-blob reads
 * would cost a read, an open and a close (or a request) per small file; restic's restorer makes
 * the same choice. Parts rather than whole packs keep the pipeline fine-grained: a worker waits
 * for a few MiB, not a 16 MiB pack, and the read-ahead that keeps both workers fed is a third of
 * what whole packs needed. The workers live as long as the writer, so batches cost no thread
 * start. Parts are read ahead of the workers (read-ahead.ts), so reading one overlaps decoding
 * another, into a few buffers that go to a worker and come back with its answer (part-buffers.ts).
 *
 * A blob that fails verification where the index first places it is not yet damage: an index
 * can lie (anyone holding an agent's credential and the password can upload a correctly sealed
 * one), so every other known location is tried before the file is declared damaged.
 */
import { closeSync, ftruncateSync, writeSync } from "node:fs";
import { Worker } from "node:worker_threads";
import { isRempartError, RempartError } from "../errors.js";
import { type BlobLocation, storageOf } from "../repository/blob-decoder.js";
import type { Repository } from "../repository/repository.js";
import { applyFileMetadata, type FileMetadata } from "./file-metadata.js";
import { HeapBudget } from "./heap-budget.js";
import { PartBuffers } from "./part-buffers.js";
import { ReadAhead, type ReadOutcome } from "./read-ahead.js";
import { cover, groupSpans, planReads } from "./read-plan.js";
import {
  BLOB_AT,
  BLOB_FIELDS,
  BLOB_FLAGS,
  BLOB_LENGTH,
  BLOB_PLACEMENTS_END,
  BLOB_RAW_LENGTH,
  blobFlags,
  FILE_ATIME,
  FILE_CREATE,
  FILE_FIELDS,
  FILE_FINISH,
  FILE_FLAGS,
  FILE_GID,
  FILE_MODE,
  FILE_MTIME,
  FILE_OWNER,
  FILE_SIZE,
  FILE_UID,
  type FromRestoreWorker,
  ID_BYTES,
  type PackTask,
  PLACEMENT_FIELDS,
  PROGRESS_BLOBS,
  PROGRESS_BYTES,
  PROGRESS_END,
  PROGRESS_FIELDS,
  PROGRESS_FINISHED,
  type RestoreWorkerInit,
} from "./restore-worker-protocol.js";
import { createExclusive, isAllZero, refusal, removeIfPresent, reopen } from "./target-files.js";

export interface ContentTarget {
  /** absolute destination */
  readonly path: string;
  readonly size: number;
  readonly content: readonly string[];
  /**
   * Set through the file's descriptor once its content is complete (by the worker that wrote it
   * all, when one did); absent, the caller sets the metadata itself.
   */
  readonly metadata?: FileMetadata;
}

/** How a file ended: complete when neither `damaged` nor `refused` is set. */
export interface FileOutcome {
  /** what of its metadata could not be kept */
  readonly warning?: string;
  /** a blob failed everywhere: the file was removed */
  readonly damaged?: string;
  /** the target refused the file (see refusal in target-files.ts): not restored */
  readonly refused?: string;
}

export interface ContentCallbacks {
  /** The file is complete, its metadata set, and closed; or removed, or refused. */
  readonly onFileDone: (target: ContentTarget, outcome: FileOutcome) => void;
  readonly onBytes: (bytes: number) => void;
}

const WORKERS = 2;
/**
 * A worker's garbage is short-lived decode output: a small young generation collects it sooner.
 * Measured on the benchmark restore: 8 MB instead of V8's default cut peak RSS by ~60-90 MB with
 * no measurable change in time.
 */
const WORKER_YOUNG_GENERATION_MB = 8;
/**
 * The bytes of a part: its wanted blobs (and the gaps between them). Through the server, reads
 * of 4 MiB cost about as much client CPU per byte as whole 16 MiB packs (measured: 936 MB of
 * packs fetched in 278 ranges, 1.9 s against 2.3 s; the server +0.15 s for the extra requests).
 * Parts of 2 MiB halve the pool of buffers (12 MiB instead of 24): measured on the benchmark
 * restore, ~10 MB less peak RSS.
 */
const PART_BYTES = 2 * 1024 * 1024;
/**
 * Part bytes a batch holds at once: read, waiting for a worker, or being decoded in one, each part
 * counted as at least one pooled buffer, so the pool never holds more than six of them. With
 * two parts at each worker (one decoded, one queued: TASKS_PER_WORKER), two more are being read
 * or wait ready. (The budget was 48 MiB of whole packs, which held two packs,
 * not three: packs run a little over their 16 MiB target, so each worker waited for every read.)
 */
const READ_AHEAD_BYTES = 6 * PART_BYTES;
/**
 * Tasks sent to a worker before its answers: the next one waits in the worker's queue, so that it
 * does not sit idle from its answer until the main thread (which shares the cores with both
 * workers) has handled it and sent more. Both count in READ_AHEAD_BYTES.
 */
const TASKS_PER_WORKER = 2;
/** Reads at once (within READ_AHEAD_BYTES): a server's round trips overlap, not only its transfers. */
const MAX_READS = 4;
/** Wanted blobs closer than this are read as one range, the bytes between them included. */
const MAX_READ_GAP = 256 * 1024;
/**
 * A batch is cut into at least this many parts when it decodes to enough bytes (but no part to
 * less than MIN_PART_DECODED): parts go to the workers' lanes in turn, and batches are written
 * one after the other, so a batch of one part kept one worker busy and the other idle. Small files
 * compress well: 2,048 files of ~3 KB, a batch, fit in one 2 MiB part of a pack, and restoring
 * 200,000 of them took as long as restic did, on one worker.
 */
const PARTS_PER_BATCH = 4 * WORKERS * TASKS_PER_WORKER;
const MIN_PART_DECODED = 256 * 1024;
/**
 * Old-generation garbage the main thread lets pile up between its full collections (about half a
 * batch's plan; see heap-budget.ts). V8 keeps the pages of a collected heap committed, so its
 * high-water mark stays resident: 16 MiB let the main heap reach ~31 MB (12 MB live) and commit
 * ~34 MB; 8 MiB cut the restore's peak RSS by ~7 MB (benchmark restore, 2 interleaved pairs),
 * for twice as many collections of a ~12 MB heap, on a thread mostly waiting for the workers.
 */
const MAIN_HEAP_GROWTH_BYTES = 8 * 1024 * 1024;

interface FileState {
  readonly target: ContentTarget;
  remaining: number;
  /** parts holding its blobs; above one, the main thread creates the file up front */
  parts: number;
  end: number;
  error: string | undefined;
  /** why the target refused it */
  refused: string | undefined;
  /** size and metadata set by the worker that wrote it */
  finished: boolean;
  warning: string | undefined;
  done: boolean;
}

interface PartRead {
  readonly bytes: Uint8Array;
  readonly at: readonly number[];
}

/** Where a blob's plaintext goes: a file of the batch (its index) and a byte position in it. */
interface Placement {
  readonly file: number;
  readonly position: number;
}

interface WantedBlob {
  readonly location: BlobLocation;
  readonly placements: Placement[];
}

/** Wanted blobs of one pack close together: one read, one worker task. */
interface Part {
  readonly pack: string;
  readonly blobs: readonly WantedBlob[];
  /** the range one request reads: from the first blob's start to the furthest end */
  readonly range: { readonly offset: number; readonly length: number };
}

/** A blob whose first location failed; its placements wait for another location. */
interface Retry extends WantedBlob {
  readonly error: string;
}

function sameLocation(a: BlobLocation, b: BlobLocation): boolean {
  return a.pack === b.pack && a.offset === b.offset && a.length === b.length;
}

function writeAll(fd: number, data: Uint8Array, position: number): void {
  let written = 0;
  while (written < data.length)
    written += writeSync(fd, data, written, data.length - written, position + written);
}

/** A failure a worker reports (disk full, permission): it makes the whole restore wrong. */
function workerFailure(pack: string, message: string, code: string): RempartError {
  const kind = code === "ENOSPC" || code === "EDQUOT" ? "StorageFull" : "Io";
  return new RempartError(kind, `restoring from pack ${pack}: ${message}`, { errno: code });
}

/** pack → blob id → where its plaintext goes */
type PackBlobs = Map<string, Map<string, WantedBlob>>;

/**
 * Whether every blob of a file has a location and their lengths add up to its size (from
 * `first` in `chosen`); if not, the file fails with why.
 */
function checkSizes(
  file: FileState,
  chosen: readonly (BlobLocation | undefined)[],
  first: number,
): boolean {
  const { content, size } = file.target;
  let total = 0;
  for (let i = 0; i < content.length; i++) {
    const location = chosen[first + i];
    if (!location) {
      file.error = `blob ${content[i]} is not in any index`;
      break;
    }
    total += location.rawLength;
  }
  if (file.error === undefined && total !== size)
    file.error = `its blobs add up to ${total} bytes, the tree says ${size}`;
  if (file.error === undefined) return true;
  file.remaining = 0;
  return false;
}

/** Places the file's `count` blobs (from `first` in `chosen`) in their packs; returns them. */
function place(
  packs: PackBlobs,
  file: number,
  chosen: readonly (BlobLocation | undefined)[],
  first: number,
  count: number,
): WantedBlob[] {
  const wanted: WantedBlob[] = [];
  let position = 0;
  for (let i = first; i < first + count; i++) {
    const location = chosen[i] as BlobLocation;
    let blobs = packs.get(location.pack);
    if (!blobs) {
      blobs = new Map();
      packs.set(location.pack, blobs);
    }
    let blob = blobs.get(location.id);
    if (!blob) {
      blob = { location, placements: [] };
      blobs.set(location.id, blob);
    }
    blob.placements.push({ file, position });
    wanted.push(blob);
    position += location.rawLength;
  }
  return wanted;
}

/** How many parts hold a file's blobs. */
function partCount(wanted: readonly WantedBlob[], partOf: ReadonlyMap<WantedBlob, number>): number {
  // Most files are one blob: no set to count one part.
  return wanted.length < 2 ? wanted.length : new Set(wanted.map((b) => partOf.get(b))).size;
}

export class ContentWriter {
  private readonly pending = new Map<number, (message: FromRestoreWorker) => void>();
  /** outlive batches: a restore allocates its part buffers once */
  private readonly buffers = new PartBuffers(PART_BYTES);
  private readonly heap = new HeapBudget(MAIN_HEAP_GROWTH_BYTES);
  private nextTask = 0;

  private constructor(
    private readonly repo: Repository,
    private readonly workers: readonly Worker[],
  ) {
    for (const worker of workers) {
      worker.on("message", (message: FromRestoreWorker) => {
        const settle = this.pending.get(message.id);
        this.pending.delete(message.id);
        settle?.(message);
      });
      worker.on("error", (error) => {
        // A crashed worker answers nothing more: fail whatever waits on any worker.
        for (const [id, settle] of this.pending)
          settle({
            kind: "failed",
            id,
            message: error.message,
            code: "",
            warnings: [],
            refused: [],
            failed: [],
          });
        this.pending.clear();
      });
    }
  }

  /** Starts the workers; each keeps at most `maxOpenFilesPerWorker` files open. */
  static start(repo: Repository, maxOpenFilesPerWorker: number): ContentWriter {
    const init: RestoreWorkerInit = {
      ...repo.blobDecodingContext(),
      maxOpenFiles: maxOpenFilesPerWorker,
    };
    const workers = Array.from(
      { length: WORKERS },
      () =>
        new Worker(new URL("./restore-worker.js", import.meta.url), {
          workerData: init,
          resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
        }),
    );
    return new ContentWriter(repo, workers);
  }

  static get workerCount(): number {
    return WORKERS;
  }

  /**
   * Plans one batch of files (where each blob is read from, in which part): what the restore can
   * do while the previous batch is being written, so that the workers do not wait for it. Writing
   * starts with the answer's `write()`, one batch at a time. On a failure that is not a damaged
   * blob (disk full, permission) the files of the batch not yet complete are removed and the error
   * thrown; complete ones stay.
   */
  async prepare(
    targets: readonly ContentTarget[],
    callbacks: ContentCallbacks,
  ): Promise<{ write(): Promise<void> }> {
    const batch = new Batch(this.repo, this.buffers, targets, callbacks, (worker, task) =>
      this.runTask(worker, task),
    );
    await batch.plan();
    return { write: () => batch.run(this.workers) };
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }

  private runTask(worker: Worker, work: Omit<PackTask, "id">): Promise<FromRestoreWorker> {
    const task: PackTask = { ...work, id: this.nextTask++ };
    const answer = new Promise<FromRestoreWorker>((resolve) => {
      this.pending.set(task.id, resolve);
      worker.postMessage(task, [task.bytes.buffer as ArrayBuffer]);
    });
    // While the worker decodes: a collection here keeps no worker waiting.
    this.heap.settle();
    return answer;
  }
}

class Batch {
  private readonly files: FileState[];
  /** in the order files first need them */
  private readonly parts: Part[] = [];
  private readonly retries: Retry[] = [];
  private fatal: unknown;

  constructor(
    private readonly repo: Repository,
    private readonly buffers: PartBuffers,
    targets: readonly ContentTarget[],
    private readonly callbacks: ContentCallbacks,
    private readonly runTask: (
      worker: Worker,
      task: Omit<PackTask, "id">,
    ) => Promise<FromRestoreWorker>,
  ) {
    this.files = targets.map((target) => ({
      target,
      remaining: target.content.length,
      parts: 0,
      end: 0,
      error: undefined,
      refused: undefined,
      finished: false,
      warning: undefined,
      done: false,
    }));
  }

  /**
   * Where a blob is read from, of its `locations`. Blobs are placed by length, so when its
   * locations disagree about it (a forged index or pack claims the blob), the first one that
   * authenticates decides; the read is paid only for such blobs, and only for those the restore
   * needs.
   */
  private async locationOf(
    id: string,
    locations: readonly BlobLocation[],
  ): Promise<BlobLocation | undefined> {
    const [first, ...others] = locations;
    if (!first || others.every((other) => other.rawLength === first.rawLength)) return first;
    try {
      return await this.repo.intactLocation(id);
    } catch (error) {
      if (!isRempartError(error, "RepositoryCorrupt")) throw error;
      return first;
    }
  }

  async plan(): Promise<void> {
    try {
      await this.planParts();
    } catch (error) {
      this.removeUnfinished();
      throw error;
    }
  }

  private async planParts(): Promise<void> {
    const ids = this.files.flatMap((file) => file.target.content);
    const located = await this.repo.blobLocationsOfEach(ids);
    // An await only where a blob's locations disagree: one per blob made most of the plan's
    // garbage, and kept this planning out of V8's optimized code for long.
    const chosen: (BlobLocation | undefined)[] = [];
    for (const [i, known] of located.entries())
      chosen.push(known.length > 1 ? await this.locationOf(ids[i] as string, known) : known[0]);
    this.planFrom(chosen);
  }

  /**
   * `chosen`: where each blob of the batch's files, in order, is read from. In small steps, each
   * over objects of one shape: as one function, V8 compiled it again after each of a few
   * deoptimisations, ~0.6 s of a background thread each time on the benchmark restore.
   */
  private planFrom(chosen: readonly (BlobLocation | undefined)[]): void {
    const packs: PackBlobs = new Map();
    const blobsOfFile: (readonly WantedBlob[])[] = [];
    let first = 0;
    for (const [index, file] of this.files.entries()) {
      const count = file.target.content.length;
      blobsOfFile.push(
        checkSizes(file, chosen, first) ? place(packs, index, chosen, first, count) : [],
      );
      first += count;
    }
    const partOf = this.splitIntoParts(packs);
    for (const [index, file] of this.files.entries())
      file.parts = partCount(blobsOfFile[index] as readonly WantedBlob[], partOf);
  }

  /** Appends each pack's wanted blobs as parts; returns each blob's part. */
  private splitIntoParts(packs: PackBlobs): Map<WantedBlob, number> {
    let decoded = 0;
    for (const byId of packs.values())
      for (const { location } of byId.values()) decoded += location.rawLength;
    const limits = {
      maxBytes: PART_BYTES,
      maxGap: MAX_READ_GAP,
      maxDecoded: Math.max(MIN_PART_DECODED, Math.ceil(decoded / PARTS_PER_BATCH)),
    };
    const partOf = new Map<WantedBlob, number>();
    for (const [pack, byId] of packs) {
      const blobs = [...byId.values()];
      for (const group of groupSpans(
        blobs.map((b) => b.location),
        limits,
      )) {
        const members = group.map((i) => blobs[i] as WantedBlob);
        for (const blob of members) partOf.set(blob, this.parts.length);
        this.parts.push({ pack, blobs: members, range: cover(members.map((b) => b.location)) });
      }
    }
    return partOf;
  }

  private finish(file: FileState): void {
    if (file.error === undefined && file.refused === undefined && !file.finished)
      this.onTarget(file, () => this.complete(file));
    // Never left half-written: a file that is not complete is not there at all.
    if (file.error !== undefined || file.refused !== undefined)
      this.onTarget(file, () => removeIfPresent(file.target.path));
    file.done = true;
    const { error, refused, warning } = file;
    this.callbacks.onFileDone(file.target, {
      ...(warning === undefined ? {} : { warning }),
      ...(error === undefined ? {} : { damaged: error }),
      ...(refused === undefined ? {} : { refused }),
    });
  }

  /** A file's own failure on the target is its refusal; anything else stops the restore. */
  private onTarget(file: FileState, action: () => void): void {
    try {
      action();
    } catch (error) {
      const refused = refusal(error);
      if (refused === undefined) throw error;
      file.refused ??= refused;
    }
  }

  /** What no worker did: an empty file, or one whose blobs came in several parts or retries. */
  private complete(file: FileState): void {
    const { path, size, metadata } = file.target;
    const truncate = file.parts > 0 && file.end < size;
    if (file.parts > 0 && !truncate && metadata === undefined) return;
    const fd = file.parts === 0 ? createExclusive(path) : reopen(path);
    try {
      // Trailing all-zero chunks were never written: setting the size makes them a hole.
      if (truncate) ftruncateSync(fd, size);
      if (metadata !== undefined) file.warning = applyFileMetadata(fd, path, metadata);
    } finally {
      closeSync(fd);
    }
  }

  private placed(file: FileState, count: number): void {
    file.remaining -= count;
    if (file.remaining === 0 && !file.done) this.finish(file);
  }

  /** A task's answer; `taskFiles`: the batch's index of each file of the task. */
  private apply(
    answer: FromRestoreWorker,
    taskFiles: readonly number[],
    blobs: readonly WantedBlob[],
  ): void {
    for (const { blob, error } of answer.failed) {
      const wanted = blobs[blob] as WantedBlob;
      this.retries.push({ ...wanted, error });
    }
    const { progress } = answer;
    if (progress === undefined) return;
    let bytes = 0;
    for (let p = PROGRESS_BYTES; p < progress.length; p += PROGRESS_FIELDS)
      bytes += progress[p] as number;
    this.callbacks.onBytes(bytes);
    const warnings = new Map(answer.warnings.map((w) => [w.file, w.warning]));
    const refusals = new Map(answer.refused.map((r) => [r.file, r.reason]));
    for (const [index, batchIndex] of taskFiles.entries()) {
      const p = index * PROGRESS_FIELDS;
      const file = this.files[batchIndex] as FileState;
      file.end = Math.max(file.end, progress[p + PROGRESS_END] as number);
      if (progress[p + PROGRESS_FINISHED] === 1) {
        file.finished = true;
        file.warning = warnings.get(index);
      }
      const refused = refusals.get(index);
      if (refused !== undefined) file.refused ??= refused;
      const placed = progress[p + PROGRESS_BLOBS] as number;
      if (placed > 0) this.placed(file, placed);
    }
  }

  /**
   * The bytes a task needs, with one request when the index is honest: no stat first, which
   * through a server is a round trip. A part the pack is too short for (an index claiming a blob
   * past its end) is read again as ranges clipped to the pack's real size, so that the claim
   * fails that blob alone, not the honest blobs beside it.
   */
  private async read(part: Part): Promise<PartRead> {
    const { pack, blobs, range } = part;
    const bytes = this.buffers.take(range.length);
    try {
      await this.repo.readPackInto(pack, range.offset, bytes);
      return { bytes, at: blobs.map((b) => b.location.offset - range.offset) };
    } catch (error) {
      this.buffers.give(bytes.buffer as ArrayBuffer);
      if (!isRempartError(error, "RepositoryCorrupt")) throw error;
    }
    const info = await this.repo.statPack(pack);
    if (!info) throw new RempartError("RepositoryCorrupt", `pack ${pack} is missing`, { pack });
    const plan = planReads(
      blobs.map((b) => b.location),
      info.size,
      MAX_READ_GAP,
    );
    const clipped = new Uint8Array(plan.total);
    let offset = 0;
    for (const span of plan.ranges) {
      await this.repo.readPackInto(
        pack,
        span.offset,
        clipped.subarray(offset, offset + span.length),
      );
      offset += span.length;
    }
    return { bytes: clipped, at: plan.at };
  }

  private async lane(worker: Worker, reads: ReadAhead<Part, PartRead>): Promise<void> {
    while (this.fatal === undefined) {
      const read = await reads.next();
      if (read === undefined) return;
      try {
        await this.restorePart(worker, read.key, read.outcome);
      } finally {
        // The buffer went to the worker, which is done with it (or it was never read).
        read.release();
      }
    }
  }

  private async restorePart(
    worker: Worker,
    part: Part,
    outcome: ReadOutcome<PartRead>,
  ): Promise<void> {
    const { pack, blobs } = part;
    if (!outcome.ok) {
      const { error } = outcome;
      if (!isRempartError(error, "RepositoryCorrupt") && !isRempartError(error, "NotFound"))
        throw error;
      // Files the worker would have created must exist for another location to fill them.
      const files = new Set(blobs.flatMap((b) => b.placements.map((p) => p.file)));
      for (const file of files) {
        const state = this.files[file] as FileState;
        if (state.parts === 1)
          this.onTarget(state, () => closeSync(createExclusive(state.target.path)));
      }
      for (const blob of blobs) this.retries.push({ ...blob, error: error.message });
      return;
    }
    const { task, files } = this.task(part, outcome.value);
    const answer = await this.runTask(worker, task);
    if (answer.buffer !== undefined) this.buffers.give(answer.buffer);
    // Files the task completed before a failure are finished (kept) before it is reported.
    this.apply(answer, files, blobs);
    if (answer.kind === "failed") throw workerFailure(pack, answer.message, answer.code);
  }

  /** The worker's task for a part, and the batch's index of each of the task's files. */
  private task(part: Part, read: PartRead): { task: Omit<PackTask, "id">; files: number[] } {
    const { blobs, pack } = part;
    /** batch file index → the task's */
    const local = new Map<number, number>();
    const files: number[] = [];
    let placementCount = 0;
    for (const blob of blobs) placementCount += blob.placements.length;
    const blobFields = new Float64Array(blobs.length * BLOB_FIELDS);
    const ids = Buffer.alloc(blobs.length * ID_BYTES);
    const placements = new Float64Array(placementCount * PLACEMENT_FIELDS);
    let placement = 0;
    for (const [i, { location, placements: targets }] of blobs.entries()) {
      const fields = i * BLOB_FIELDS;
      blobFields[fields + BLOB_AT] = read.at[i] as number;
      blobFields[fields + BLOB_LENGTH] = location.length;
      blobFields[fields + BLOB_RAW_LENGTH] = location.rawLength;
      blobFields[fields + BLOB_FLAGS] = blobFlags(location.type, storageOf(location));
      ids.write(location.id, i * ID_BYTES, ID_BYTES, "hex");
      for (const { file, position } of targets) {
        let index = local.get(file);
        if (index === undefined) {
          index = files.length;
          local.set(file, index);
          files.push(file);
        }
        placements[placement++] = index;
        placements[placement++] = position;
      }
      blobFields[fields + BLOB_PLACEMENTS_END] = placement / PLACEMENT_FIELDS;
    }
    const fileFields = new Float64Array(files.length * FILE_FIELDS);
    const paths: string[] = [];
    for (const [index, file] of files.entries()) {
      const { target, parts } = this.files[file] as FileState;
      const { path, size, metadata } = target;
      paths.push(path);
      const at = index * FILE_FIELDS;
      // Created by the worker when all its blobs are in this task; else it exists already.
      if (parts !== 1) continue;
      if (metadata === undefined) {
        fileFields[at + FILE_FLAGS] = FILE_CREATE;
        continue;
      }
      fileFields[at + FILE_FLAGS] = FILE_CREATE | FILE_FINISH | (metadata.owner ? FILE_OWNER : 0);
      fileFields[at + FILE_SIZE] = size;
      fileFields[at + FILE_MODE] = metadata.mode;
      fileFields[at + FILE_UID] = metadata.uid;
      fileFields[at + FILE_GID] = metadata.gid;
      fileFields[at + FILE_ATIME] = metadata.atimeMs;
      fileFields[at + FILE_MTIME] = metadata.mtimeMs;
    }
    const task = {
      pack,
      bytes: read.bytes,
      blobs: blobFields,
      ids: new Uint8Array(ids.buffer, ids.byteOffset, ids.length),
      placements,
      files: fileFields,
      paths,
    };
    return { task, files };
  }

  /** Tries every other location of each failed blob; files finish when their blobs are settled. */
  private async retryElsewhere(): Promise<void> {
    for (const retry of this.retries) {
      const others = (await this.repo.blobLocations(retry.location.id)).filter(
        (location) => !sameLocation(location, retry.location),
      );
      let data: Uint8Array | undefined;
      for (const location of others) {
        try {
          const sealed = await this.repo.readPack(location.pack, {
            offset: location.offset,
            length: location.length,
          });
          data = this.repo.decodeBlob(location, sealed);
          break;
        } catch (error) {
          if (!isRempartError(error, "RepositoryCorrupt") && !isRempartError(error, "NotFound"))
            throw error;
        }
      }
      for (const { file: index, position } of retry.placements) {
        const file = this.files[index] as FileState;
        if (data === undefined)
          file.error ??=
            others.length === 0
              ? retry.error
              : `${retry.error} (and at ${others.length} other location(s))`;
        else if (file.error === undefined && file.refused === undefined) {
          const plain = data;
          if (!isAllZero(plain))
            this.onTarget(file, () => {
              const fd = reopen(file.target.path);
              try {
                writeAll(fd, plain, position);
              } finally {
                closeSync(fd);
              }
              file.end = Math.max(file.end, position + plain.length);
            });
          this.callbacks.onBytes(data.length);
        }
        this.placed(file, 1);
      }
    }
  }

  private removeUnfinished(): void {
    // Complete files stay; a file half written is never left behind.
    for (const file of this.files)
      if (!file.done)
        try {
          removeIfPresent(file.target.path);
        } catch {
          // The failure being reported matters more than a file that could not be removed.
        }
  }

  /** After plan(). */
  async run(workers: readonly Worker[]): Promise<void> {
    try {
      for (const file of this.files) {
        if (file.parts > 1) this.onTarget(file, () => closeSync(createExclusive(file.target.path)));
        if (file.remaining === 0) this.finish(file);
      }
      const reads = new ReadAhead<Part, PartRead>({
        keys: this.parts,
        // A part holds a whole pooled buffer however few of its bytes it uses.
        sizeOf: (part) => Math.max(part.range.length, this.buffers.size),
        read: (part) => this.read(part),
        budgetBytes: READ_AHEAD_BYTES,
        maxReads: MAX_READS,
      });
      const lanes = workers.flatMap((worker) =>
        Array.from({ length: TASKS_PER_WORKER }, () =>
          this.lane(worker, reads).catch((error: unknown) => {
            this.fatal ??= error;
            reads.stop();
          }),
        ),
      );
      await Promise.all(lanes);
      // Reads started before a failure finish before the batch's files are removed.
      await reads.settle();
      if (this.fatal !== undefined) throw this.fatal;
      await this.retryElsewhere();
    } catch (error) {
      this.removeUnfinished();
      throw error;
    }
  }
}
