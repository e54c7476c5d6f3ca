/**
 * A restore worker: decodes the blobs of one pack at a time and writes them into their files.
 * Decoding (AES-GCM, zstd, HMAC) and the kernel's file creation are the two halves of a restore's
 * cost; running them in workers lets both cores share them.
 *
 * A file whose blobs are all in one task is finished here too (trailing holes, owner, mode, times,
 * through the descriptor it was written with), so the main thread touches it no more.
 *
 * A file the target refuses (see refusal in target-files.ts) is reported with its reason and its
 * other blobs skipped; the task goes on with the other files.
 *
 * A worker holds at most `maxOpenFiles` files open: a file is closed as soon as its last blob in
 * the task is written, and the least recently used one is closed when another must open.
 */
import { closeSync, ftruncateSync, writeSync } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import { collectGarbage } from "../backup/collect-garbage.js";
import { isRempartError } from "../errors.js";
import { BlobDecoder } from "../repository/blob-decoder.js";
import { FileHandles } from "./file-handles.js";
import { applyFileMetadata } from "./file-metadata.js";
import { HeapBudget } from "./heap-budget.js";
import {
  BLOB_AT,
  BLOB_FIELDS,
  BLOB_FLAGS,
  BLOB_LENGTH,
  BLOB_PLACEMENTS_END,
  BLOB_RAW_LENGTH,
  blobStorageOf,
  blobTypeOf,
  type FailedBlob,
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
  type FileRefusal,
  type FileWarning,
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
import { createExclusive, isAllZero, refusal, reopen } from "./target-files.js";

const init = workerData as RestoreWorkerInit;
/**
 * Each full collection of a worker costs more than its pause: V8 drops optimized code of the
 * decode loop and compiles it again (TurboFan's share of a restore's CPU rose from 9 to 17 % with
 * a 4 MiB budget). 8 MiB: each worker's heap ~8 MB under what the launcher's 64 MB floor let it
 * reach. Since tasks travel as typed arrays a worker promotes little: over the benchmark restore
 * no worker reached the budget (--trace-gc: scavenges only, heaps of 11-12 MB committed).
 */
const WORKER_HEAP_GROWTH_BYTES = 8 * 1024 * 1024;
const port = parentPort;
if (!port) throw new Error("restore-worker must run in a worker thread");

// Each blob is written out before the next is decoded, so one output buffer serves them all.
const decoder = new BlobDecoder({ encryption: init.encryptionKey, id: init.idKey }, true);
/** What tasks promote (their plans, live for a task) is collected every few MiB. */
const heap = new HeapBudget(WORKER_HEAP_GROWTH_BYTES);

/** What a task did, kept even when it throws. */
interface Outcome {
  /** PROGRESS_FIELDS per file of the task */
  readonly progress: Float64Array;
  readonly warnings: FileWarning[];
  readonly refused: FileRefusal[];
  readonly failed: FailedBlob[];
}

/** Runs a task; `outcome` holds what was done even when it throws. */
function run(task: PackTask, outcome: Outcome): void {
  const { files, paths, placements, blobs, ids, bytes, pack } = task;
  const { progress, warnings, refused, failed } = outcome;
  const fileCount = paths.length;
  const flagsOf = (file: number): number => files[file * FILE_FIELDS + FILE_FLAGS] as number;
  // Placements of each file left in this task: at zero the file is closed at once.
  const left = new Uint32Array(fileCount);
  for (let p = 0; p < placements.length; p += PLACEMENT_FIELDS) {
    const file = placements[p] as number;
    left[file] = (left[file] as number) + 1;
  }
  const handles = new FileHandles<number>(init.maxOpenFiles);
  const created = new Uint8Array(fileCount);
  /** files with a blob that failed here: another location may complete them, the main thread */
  const incomplete = new Uint8Array(fileCount);
  /** files the target refused: their other blobs are skipped */
  const refusedFiles = new Uint8Array(fileCount);
  /**
   * Runs what a file needs on the target; an error that is this file's alone (see refusal) is
   * recorded as the target's refusal of it, and the task goes on with the other files.
   */
  const onTarget = (file: number, action: () => void): void => {
    if (refusedFiles[file]) return;
    try {
      action();
    } catch (error) {
      const reason = refusal(error);
      if (reason === undefined) throw error;
      refusedFiles[file] = 1;
      refused.push({ file, reason });
    }
  };
  const open = (file: number): number =>
    handles.get(file, () => {
      const path = paths[file] as string;
      if (flagsOf(file) & FILE_CREATE && !created[file]) {
        created[file] = 1;
        return createExclusive(path);
      }
      return reopen(path);
    });
  const finish = (file: number): void => {
    if (!(flagsOf(file) & FILE_FINISH) || incomplete[file]) return;
    onTarget(file, () => finishOnTarget(file));
  };
  const finishOnTarget = (file: number): void => {
    const fd = open(file);
    const at = file * FILE_FIELDS;
    const size = files[at + FILE_SIZE] as number;
    // Trailing all-zero chunks were never written: setting the size makes them a hole.
    if ((progress[file * PROGRESS_FIELDS + PROGRESS_END] as number) < size) ftruncateSync(fd, size);
    const warning = applyFileMetadata(fd, paths[file] as string, {
      mode: files[at + FILE_MODE] as number,
      uid: files[at + FILE_UID] as number,
      gid: files[at + FILE_GID] as number,
      atimeMs: files[at + FILE_ATIME] as number,
      mtimeMs: files[at + FILE_MTIME] as number,
      owner: (flagsOf(file) & FILE_OWNER) !== 0,
    });
    progress[file * PROGRESS_FIELDS + PROGRESS_FINISHED] = 1;
    if (warning !== undefined) warnings.push({ file, warning });
  };
  const placed = (file: number): void => {
    const remaining = (left[file] as number) - 1;
    left[file] = remaining;
    if (remaining > 0) return;
    finish(file);
    handles.release(file);
  };
  try {
    let placement = 0;
    for (let blob = 0; blob * BLOB_FIELDS < blobs.length; blob++) {
      const fields = blob * BLOB_FIELDS;
      const at = blobs[fields + BLOB_AT] as number;
      const flags = blobs[fields + BLOB_FLAGS] as number;
      const end = (blobs[fields + BLOB_PLACEMENTS_END] as number) * PLACEMENT_FIELDS;
      let data: Uint8Array;
      try {
        data = decoder.decodeFields(
          ids.subarray(blob * ID_BYTES, (blob + 1) * ID_BYTES),
          blobTypeOf(flags),
          blobStorageOf(flags),
          blobs[fields + BLOB_RAW_LENGTH] as number,
          pack,
          bytes.subarray(at, at + (blobs[fields + BLOB_LENGTH] as number)),
        );
      } catch (failure) {
        if (!isRempartError(failure)) throw failure;
        failed.push({ blob, error: failure.message });
        for (; placement < end; placement += PLACEMENT_FIELDS) {
          const file = placements[placement] as number;
          incomplete[file] = 1;
          placed(file);
        }
        continue;
      }
      // All-zero chunks become holes, so sparse files come back sparse.
      const zero = isAllZero(data);
      for (; placement < end; placement += PLACEMENT_FIELDS) {
        const file = placements[placement] as number;
        const position = placements[placement + 1] as number;
        const p = file * PROGRESS_FIELDS;
        // A file this task creates is created by its first chunk, a hole included: counted
        // (below) means on disk, even if the task fails before its end.
        onTarget(file, () => {
          if (zero && flagsOf(file) & FILE_CREATE && !created[file]) open(file);
          if (!zero) {
            const fd = open(file);
            let written = 0;
            while (written < data.length)
              written += writeSync(fd, data, written, data.length - written, position + written);
            progress[p + PROGRESS_END] = Math.max(
              progress[p + PROGRESS_END] as number,
              position + data.length,
            );
          }
        });
        // Counted once written: after a failure, what is counted is on disk. A placement of a
        // refused file counts as settled, so its file is done with when its last one is.
        progress[p + PROGRESS_BLOBS] = (progress[p + PROGRESS_BLOBS] as number) + 1;
        if (!refusedFiles[file])
          progress[p + PROGRESS_BYTES] = (progress[p + PROGRESS_BYTES] as number) + data.length;
        placed(file);
      }
    }
    // Every file the task creates exists afterwards: one made only of holes, and one whose blobs
    // failed here, which another location of those blobs may still complete.
    for (let file = 0; file < fileCount; file++)
      if (flagsOf(file) & FILE_CREATE && !created[file]) {
        created[file] = 1;
        onTarget(file, () => closeSync(createExclusive(paths[file] as string)));
      }
  } finally {
    handles.closeAll();
  }
}

port.on("message", (task: PackTask) => {
  const outcome: Outcome = {
    progress: new Float64Array(task.paths.length * PROGRESS_FIELDS),
    warnings: [],
    refused: [],
    failed: [],
  };
  // Handed back with the answer, so the part's buffer serves the next part: never held here (a
  // transferred buffer would otherwise wait for this isolate's collector, and small heaps collect
  // rarely: V8 lets external memory grow by ~64 MB first, about four dead packs per worker).
  const buffer = task.bytes.buffer as ArrayBuffer;
  let message: FromRestoreWorker;
  try {
    run(task, outcome);
    message = { kind: "done", id: task.id, buffer, ...outcome };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "";
    // What was written before the failure, so that files already complete are kept.
    const { message: text } = error as Error;
    message = { kind: "failed", id: task.id, buffer, message: text, code, ...outcome };
  }
  port.postMessage(message, [buffer]);
  // Each blob's plaintext was a fresh buffer from node:crypto, dead once written: freed while
  // young (measured: ~30 MB of them per worker otherwise, ~50 MB of the restore's peak RSS).
  collectGarbage("minor");
  heap.settle();
});
