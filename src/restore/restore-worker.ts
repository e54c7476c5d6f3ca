/**
 * A restore worker: decodes the blobs of one pack at a time and writes them into their files.
 * Decoding (AES-GCM, zstd, HMAC) and the kernel's file creation are the two halves of a restore's
 * cost; running them in workers lets both cores share them.
 *
 * A worker holds at most `maxOpenFiles` files open: a file is closed as soon as its last blob in
 * the task is written, and the least recently used one is closed when another must open.
 */
import { closeSync, writeSync } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import { isRempartError } from "../errors.js";
import { BlobDecoder } from "../repository/blob-decoder.js";
import { FileHandles } from "./file-handles.js";
import type {
  FailedBlob,
  FileProgress,
  FromRestoreWorker,
  PackTask,
  RestoreWorkerInit,
} from "./restore-worker-protocol.js";
import { createExclusive, isAllZero, reopen } from "./target-files.js";

const init = workerData as RestoreWorkerInit;
const port = parentPort;
if (!port) throw new Error("restore-worker must run in a worker thread");

// Each blob is written out before the next is decoded, so one output buffer serves them all.
const decoder = new BlobDecoder({ encryption: init.encryptionKey, id: init.idKey }, true);
interface Progress {
  blobs: number;
  end: number;
  bytes: number;
}

function run(task: PackTask): { files: FileProgress[]; failed: FailedBlob[] } {
  const files = new Map(task.files.map((f) => [f.file, f]));
  // Placements of each file left in this task: at zero the file is closed at once.
  const left = new Map<number, number>();
  for (const { placements } of task.blobs)
    for (const { file } of placements) left.set(file, (left.get(file) ?? 0) + 1);
  const handles = new FileHandles<number>(init.maxOpenFiles);
  const created = new Set<number>();
  const progress = new Map<number, Progress>();
  const failed: FailedBlob[] = [];
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
  const placed = (file: number): void => {
    const remaining = (left.get(file) ?? 1) - 1;
    left.set(file, remaining);
    if (remaining === 0) handles.release(file);
  };
  try {
    for (const [index, { location, at, placements }] of task.blobs.entries()) {
      let data: Uint8Array;
      try {
        data = decoder.decode(location, task.bytes.subarray(at, at + location.length));
      } catch (failure) {
        if (!isRempartError(failure)) throw failure;
        failed.push({ blob: index, error: failure.message });
        for (const { file } of placements) placed(file);
        continue;
      }
      // All-zero chunks become holes, so sparse files come back sparse.
      const zero = isAllZero(data);
      for (const { file, position } of placements) {
        let p = progress.get(file);
        if (!p) {
          p = { blobs: 0, end: 0, bytes: 0 };
          progress.set(file, p);
        }
        p.blobs++;
        p.bytes += data.length;
        if (!zero) {
          const fd = open(file);
          let written = 0;
          while (written < data.length)
            written += writeSync(fd, data, written, data.length - written, position + written);
          p.end = Math.max(p.end, position + data.length);
        }
        placed(file);
      }
    }
    // Every file the task creates exists afterwards: one made only of holes, and one whose blobs
    // failed here, which another location of those blobs may still complete.
    for (const { file, path, create: creates } of task.files)
      if (creates && !created.has(file)) {
        created.add(file);
        closeSync(createExclusive(path));
      }
  } finally {
    handles.closeAll();
  }
  return { files: [...progress].map(([file, p]) => ({ file, ...p })), failed };
}

port.on("message", (task: PackTask) => {
  let message: FromRestoreWorker;
  try {
    message = { kind: "done", id: task.id, ...run(task) };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "";
    message = { kind: "failed", id: task.id, message: (error as Error).message, code };
  }
  port.postMessage(message);
});
