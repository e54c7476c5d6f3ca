/**
 * A restore worker: decodes the blobs of one pack at a time and writes them into their files.
 * Decoding (AES-GCM, zstd, HMAC) and the kernel's file creation are the two halves of a restore's
 * cost; running them in workers lets both cores share them.
 */
import { closeSync, constants, openSync, unlinkSync, writeSync } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import { isRempartError } from "../errors.js";
import { BlobDecoder } from "../repository/blob-decoder.js";
import type {
  FileProgress,
  FromRestoreWorker,
  PackTask,
  RestoreWorkerInit,
} from "./restore-worker-protocol.js";

const init = workerData as RestoreWorkerInit;
const port = parentPort;
if (!port) throw new Error("restore-worker must run in a worker thread");

// Each blob is written out before the next is decoded, so one output buffer serves them all.
const decoder = new BlobDecoder({ encryption: init.encryptionKey, id: init.idKey }, true);
/**
 * O_EXCL after unlinking whatever was there: truncating an existing entry in place would write
 * through a hard link or symlink planted in the target to a file outside it.
 */
const CREATE_FLAGS =
  constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
const OPEN_FLAGS = constants.O_WRONLY | constants.O_NOFOLLOW;

let zeros = new Uint8Array(0);

function isAllZero(data: Uint8Array): boolean {
  if (zeros.length < data.length) zeros = new Uint8Array(data.length);
  return Buffer.from(data.buffer, data.byteOffset, data.length).equals(
    zeros.subarray(0, data.length),
  );
}

function create(path: string): number {
  try {
    unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  return openSync(path, CREATE_FLAGS, 0o600);
}

interface Progress {
  blobs: number;
  end: number;
  bytes: number;
  error?: string;
}

function run(task: PackTask): FileProgress[] {
  const files = new Map(task.files.map((f) => [f.file, f]));
  const fds = new Map<number, number>();
  const progress = new Map<number, Progress>();
  const fdFor = (file: number): number => {
    let fd = fds.get(file);
    if (fd === undefined) {
      const target = files.get(file);
      if (!target) throw new Error(`task ${task.id} has no path for file ${file}`);
      fd = target.create ? create(target.path) : openSync(target.path, OPEN_FLAGS);
      fds.set(file, fd);
    }
    return fd;
  };
  try {
    for (const { location, at, placements } of task.blobs) {
      let data: Uint8Array | undefined;
      let error: string | undefined;
      try {
        data = decoder.decode(location, task.bytes.subarray(at, at + location.length));
      } catch (failure) {
        if (!isRempartError(failure)) throw failure;
        error = failure.message;
      }
      const zero = data !== undefined && isAllZero(data);
      for (const { file, position } of placements) {
        let p = progress.get(file);
        if (!p) {
          p = { blobs: 0, end: 0, bytes: 0 };
          progress.set(file, p);
        }
        p.blobs++;
        if (error !== undefined) p.error ??= error;
        if (data === undefined || p.error !== undefined) continue;
        p.bytes += data.length;
        // All-zero chunks become holes, so sparse files come back sparse.
        if (zero) continue;
        const fd = fdFor(file);
        let written = 0;
        while (written < data.length)
          written += writeSync(fd, data, written, data.length - written, position + written);
        p.end = Math.max(p.end, position + data.length);
      }
    }
    // A file made only of holes still has to exist.
    for (const { file, create: creates } of task.files)
      if (creates && !fds.has(file) && progress.get(file)?.error === undefined) fdFor(file);
  } finally {
    for (const fd of fds.values()) closeSync(fd);
  }
  return [...progress].map(([file, p]) => ({ file, ...p }));
}

port.on("message", (task: PackTask) => {
  let message: FromRestoreWorker;
  try {
    message = { kind: "done", id: task.id, files: run(task) };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "";
    message = { kind: "failed", id: task.id, message: (error as Error).message, code };
  }
  port.postMessage(message);
});
