/**
 * A blob worker: compresses and seals blobs into packs. Data and tree blobs go to separate packs
 * so that reading every tree (check, restore, GC) never touches file data.
 */
import { parentPort, workerData } from "node:worker_threads";
import { BlobCompressor } from "../repository/compression.js";
import { type BlobType, PackBuilder } from "../repository/pack.js";
import type { BlobJob, FromWorker, ToWorker, WorkerInit } from "./blob-worker-protocol.js";

const init = workerData as WorkerInit;
const port = parentPort;
if (!port) throw new Error("blob-worker must run in a worker thread");

const compressor = new BlobCompressor();
/** Tree packs stay small, so they start with a small buffer and grow as needed. */
const builders: Record<BlobType, PackBuilder> = {
  data: new PackBuilder(init.encryptionKey, init.packSize + init.packSize / 8),
  tree: new PackBuilder(init.encryptionKey, 256 * 1024),
};
const spareBuffers: Uint8Array[] = [];
/** Beyond this, handed-back buffers are dropped: they only bound allocation churn. */
const MAX_SPARE_BUFFERS = 2;

function post(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  (port as NonNullable<typeof port>).postMessage(message, transfer);
}

function emitPack(type: BlobType): void {
  const builder = builders[type];
  if (builder.blobCount === 0) return;
  const spare = type === "data" ? spareBuffers.pop() : undefined;
  const pack = builder.finish(spare);
  // Transferring hands the pack's buffer to the main thread without copying it.
  post({ kind: "pack", ...pack }, [pack.bytes.buffer as ArrayBuffer]);
}

function addBlob(job: BlobJob): void {
  const compressed = compressor.compress(job.data);
  const builder = builders[job.type];
  builder.add(job.type, job.id, compressed ?? job.data, job.data.length, compressed !== undefined);
  if (builder.size >= init.packSize) emitPack(job.type);
}

port.on("message", (message: ToWorker) => {
  try {
    switch (message.kind) {
      case "blobs": {
        let bytes = 0;
        for (const job of message.jobs) {
          addBlob(job);
          bytes += job.data.length;
        }
        post({ kind: "done", bytes });
        break;
      }
      case "flush":
        emitPack("data");
        emitPack("tree");
        post({ kind: "flushed" });
        break;
      case "recycle":
        if (spareBuffers.length < MAX_SPARE_BUFFERS)
          spareBuffers.push(new Uint8Array(message.buffer.buffer));
        break;
    }
  } catch (error) {
    post({ kind: "error", message: error instanceof Error ? error.message : String(error) });
  }
});
