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
import type {
  FailedBlob,
  FileProgress,
  FromRestoreWorker,
  PackTask,
  RestoreWorkerInit,
  TaskFile,
} from "./restore-worker-protocol.js";
import { createExclusive, isAllZero, refusal, reopen } from "./target-files.js";

const init = workerData as RestoreWorkerInit;
/**
 * Each full collection of a worker costs more than its pause: V8 drops optimized code of the
 * decode loop and compiles it again (TurboFan's share of a restore's CPU rose from 9 to 17 % with
 * a 4 MiB budget). 8 MiB: a couple of collections per worker over the benchmark restore, each
 * worker's heap ~8 MB under what the launcher's 64 MB floor let it reach.
 */
const WORKER_HEAP_GROWTH_BYTES = 8 * 1024 * 1024;
const port = parentPort;
if (!port) throw new Error("restore-worker must run in a worker thread");

// Each blob is written out before the next is decoded, so one output buffer serves them all.
const decoder = new BlobDecoder({ encryption: init.encryptionKey, id: init.idKey }, true);
/** What tasks promote (their plans, live for a task) is collected every few MiB. */
const heap = new HeapBudget(WORKER_HEAP_GROWTH_BYTES);
interface Progress {
  blobs: number;
  end: number;
  bytes: number;
  finished?: true;
  warning?: string;
  refused?: string;
}

function progressOf(progress: Map<number, Progress>, file: number): Progress {
  let p = progress.get(file);
  if (!p) {
    p = { blobs: 0, end: 0, bytes: 0 };
    progress.set(file, p);
  }
  return p;
}

/**
 * Runs what a file needs on the target; an error that is this file's alone (see refusal) is
 * recorded as the target's refusal of it, and the task goes on with the other files.
 */
function onTarget(p: Progress, action: () => void): void {
  if (p.refused !== undefined) return;
  try {
    action();
  } catch (error) {
    const refused = refusal(error);
    if (refused === undefined) throw error;
    p.refused = refused;
  }
}

/** Runs a task; `progress` and `failed` hold what was done even when it throws. */
function run(task: PackTask, progress: Map<number, Progress>, failed: FailedBlob[]): void {
  const files = new Map(task.files.map((f) => [f.file, f]));
  // Placements of each file left in this task: at zero the file is closed at once.
  const left = new Map<number, number>();
  for (const { placements } of task.blobs)
    for (const { file } of placements) left.set(file, (left.get(file) ?? 0) + 1);
  const handles = new FileHandles<number>(init.maxOpenFiles);
  const created = new Set<number>();
  const open = (file: number): number =>
    handles.get(file, () => {
      const target = files.get(file);
      if (!target) throw new Error(`task ${task.id} has no path for file ${file}`);
      if (target.create && !created.has(file)) {
        created.add(file);
        return createExclusive(target.path);
      }
      return reopen(target.path);
    });
  /** files with a blob that failed here: another location may complete them, the main thread */
  const incomplete = new Set<number>();
  const finish = (file: number): void => {
    const how = files.get(file)?.finish;
    const p = progress.get(file);
    if (!how || !p || incomplete.has(file)) return;
    onTarget(p, () => {
      const fd = open(file);
      // Trailing all-zero chunks were never written: setting the size makes them a hole.
      if (p.end < how.size) ftruncateSync(fd, how.size);
      const warning = applyFileMetadata(fd, (files.get(file) as TaskFile).path, how.metadata);
      p.finished = true;
      if (warning !== undefined) p.warning = warning;
    });
  };
  const placed = (file: number): void => {
    const remaining = (left.get(file) ?? 1) - 1;
    left.set(file, remaining);
    if (remaining > 0) return;
    finish(file);
    handles.release(file);
  };
  try {
    for (const [index, { location, placements }] of task.blobs.entries()) {
      const at = task.at[index] as number;
      let data: Uint8Array;
      try {
        data = decoder.decode(location, task.bytes.subarray(at, at + location.length));
      } catch (failure) {
        if (!isRempartError(failure)) throw failure;
        failed.push({ blob: index, error: failure.message });
        for (const { file } of placements) {
          incomplete.add(file);
          placed(file);
        }
        continue;
      }
      // All-zero chunks become holes, so sparse files come back sparse.
      const zero = isAllZero(data);
      for (const { file, position } of placements) {
        const p = progressOf(progress, file);
        onTarget(p, () => {
          // A file this task creates is created by its first chunk, a hole included: counted
          // (below) means on disk, even if the task fails before its end.
          if (zero && files.get(file)?.create && !created.has(file)) open(file);
          if (!zero) {
            const fd = open(file);
            let written = 0;
            while (written < data.length)
              written += writeSync(fd, data, written, data.length - written, position + written);
            p.end = Math.max(p.end, position + data.length);
          }
        });
        // Counted once written: after a failure, what is counted is on disk. A placement of a
        // refused file counts as settled, so its file is done with when its last one is.
        p.blobs++;
        if (p.refused === undefined) p.bytes += data.length;
        placed(file);
      }
    }
    // Every file the task creates exists afterwards: one made only of holes, and one whose blobs
    // failed here, which another location of those blobs may still complete.
    for (const { file, path, create: creates } of task.files)
      if (creates && !created.has(file)) {
        created.add(file);
        onTarget(progressOf(progress, file), () => closeSync(createExclusive(path)));
      }
  } finally {
    handles.closeAll();
  }
}

function filesOf(progress: Map<number, Progress>): FileProgress[] {
  return [...progress].map(([file, p]) => ({ file, ...p }));
}

port.on("message", (task: PackTask) => {
  const progress = new Map<number, Progress>();
  const failed: FailedBlob[] = [];
  // Handed back with the answer, so the part's buffer serves the next part: never held here (a
  // transferred buffer would otherwise wait for this isolate's collector, and small heaps collect
  // rarely: V8 lets external memory grow by ~64 MB first, about four dead packs per worker).
  const buffer = task.bytes.buffer as ArrayBuffer;
  let message: FromRestoreWorker;
  try {
    run(task, progress, failed);
    message = { kind: "done", id: task.id, buffer, files: filesOf(progress), failed };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "";
    // What was written before the failure, so that files already complete are kept.
    const { message: text } = error as Error;
    message = {
      kind: "failed",
      id: task.id,
      buffer,
      message: text,
      code,
      files: filesOf(progress),
      failed,
    };
  }
  port.postMessage(message, [buffer]);
  // Each blob's plaintext was a fresh buffer from node:crypto, dead once written: freed while
  // young (measured: ~30 MB of them per worker otherwise, ~50 MB of the restore's peak RSS).
  collectGarbage("minor");
  heap.settle();
});
