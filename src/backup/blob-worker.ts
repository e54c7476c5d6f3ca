/**
 * A blob worker: compresses and seals blobs into packs, each written to a file as it is built
 * (see PackSpooler). Data and tree blobs go to separate packs so that reading every tree (check,
 * restore, GC) never touches file data.
 */
import { parentPort, workerData } from "node:worker_threads";
import { BlobCompressor } from "../repository/compression.js";
import { type BlobType, PackSpooler } from "../repository/pack.js";
import type { BlobBatch, FromWorker, ToWorker, WorkerInit } from "./blob-worker-protocol.js";
import { collectGarbage } from "./collect-garbage.js";

const init = workerData as WorkerInit;
const port = parentPort;
if (!port) throw new Error("blob-worker must run in a worker thread");

function post(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  (port as NonNullable<typeof port>).postMessage(message, transfer);
}

/** Sealed bytes between minor collections: the cipher's output buffers they free (see there). */
const COLLECT_EVERY_BYTES = 4 * 1024 * 1024;
let sinceCollect = 0;

const compressor = new BlobCompressor();
const announce = (path: string) => post({ kind: "spooling", path });
const spoolers: Record<BlobType, PackSpooler> = {
  data: new PackSpooler(init.encryptionKey, init.spoolDir, announce),
  tree: new PackSpooler(init.encryptionKey, init.spoolDir, announce),
};

function emitPack(type: BlobType): void {
  const spooler = spoolers[type];
  if (spooler.blobCount === 0) return;
  post({ kind: "pack", ...spooler.finish() });
}

function addBatch({ data, ids, lengths, types }: BlobBatch): number {
  let offset = 0;
  for (let i = 0; i < lengths.length; i++) {
    const length = lengths[i] as number;
    const plain = data.subarray(offset, offset + length);
    const type: BlobType = types[i] === 1 ? "tree" : "data";
    const compressed = compressor.compress(plain);
    const spooler = spoolers[type];
    spooler.add(
      type,
      ids.subarray(i * 32, i * 32 + 32),
      compressed ?? plain,
      length,
      compressed !== undefined,
    );
    if (spooler.size >= init.packSize) emitPack(type);
    offset += length;
  }
  return offset;
}

port.on("message", (message: ToWorker) => {
  try {
    switch (message.kind) {
      case "blobs": {
        const { data } = message.batch;
        const bytes = addBatch(message.batch);
        sinceCollect += bytes;
        if (sinceCollect >= COLLECT_EVERY_BYTES) {
          sinceCollect = 0;
          collectGarbage("minor");
        }
        post({ kind: "done", data }, [data.buffer as ArrayBuffer]);
        break;
      }
      case "flush":
        emitPack("data");
        emitPack("tree");
        post({ kind: "flushed" });
        break;
    }
  } catch (error) {
    post({ kind: "error", message: error instanceof Error ? error.message : String(error) });
  }
});
