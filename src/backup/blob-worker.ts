/**
 * A blob worker: compresses and seals blobs into packs. Data and tree blobs go to separate packs
 * so that reading every tree (check, restore, GC) never touches file data.
 */
import { parentPort, workerData } from "node:worker_threads";
import { BlobCompressor } from "../repository/compression.js";
import { type BlobType, PackBuilder } from "../repository/pack.js";
import type { BlobBatch, FromWorker, ToWorker, WorkerInit } from "./blob-worker-protocol.js";

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
const MAX_SPARE_BUFFERS = 1;

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

function addBatch({ data, ids, lengths, types }: BlobBatch): number {
  let offset = 0;
  for (let i = 0; i < lengths.length; i++) {
    const length = lengths[i] as number;
    const plain = data.subarray(offset, offset + length);
    const type: BlobType = types[i] === 1 ? "tree" : "data";
    const compressed = compressor.compress(plain);
    const builder = builders[type];
    builder.add(
      type,
      ids.subarray(i * 32, i * 32 + 32),
      compressed ?? plain,
      length,
      compressed !== undefined,
    );
    if (builder.size >= init.packSize) emitPack(type);
    offset += length;
  }
  return offset;
}

port.on("message", (message: ToWorker) => {
  try {
    switch (message.kind) {
      case "blobs":
        post({ kind: "done", bytes: addBatch(message.batch) });
        break;
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
