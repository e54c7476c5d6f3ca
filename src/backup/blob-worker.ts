/**
 * A blob worker: compresses and seals blobs into packs, each written to a file as it is built
 * (see PackSpooler). Data and tree blobs go to separate packs so that reading every tree (check,
 * restore, GC) never touches file data. Data blobs gather into frames (frame.ts) when the
 * repository's format allows them.
 */
import { parentPort, workerData } from "node:worker_threads";
import { BlobCompressor } from "../repository/compression.js";
import { FrameBuilder } from "../repository/frame.js";
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

const frame = init.frames ? new FrameBuilder() : undefined;

function addBlob(type: BlobType, id: Uint8Array, plain: Uint8Array): void {
  const compressed = compressor.compress(plain);
  spoolers[type].add(type, id, compressed ?? plain, plain.length, compressed !== undefined);
}

/** A data blob into the frame, sealing the frame first when the blob does not fit. */
function addToFrame(frame: FrameBuilder, id: Uint8Array, plain: Uint8Array): void {
  if (!frame.fits(plain.length)) sealFrame();
  // A blob that fills a frame by itself (a chunk of 1 MiB) is stored alone, without a copy.
  if (frame.fits(plain.length)) frame.add(id, plain);
  else addBlob("data", id, plain);
}

/** Seals the data blobs gathered so far: as a frame, or alone when there is one. */
function sealFrame(): void {
  if (frame === undefined || frame.count === 0) return;
  const { plaintext, ids, lengths } = frame.take();
  if (ids.length === 1) {
    addBlob("data", ids[0] as Uint8Array, plaintext.subarray(0, lengths[0] as number));
    return;
  }
  spoolers.data.addFrame("data", { payload: compressor.compressFrame(plaintext), ids, lengths });
}

function emitPack(type: BlobType): void {
  if (type === "data") sealFrame();
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
    const id = ids.subarray(i * 32, i * 32 + 32);
    if (type === "data" && frame !== undefined) addToFrame(frame, id, plain);
    else addBlob(type, id, plain);
    if (spoolers[type].size >= init.packSize) emitPack(type);
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
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    post({
      kind: "error",
      message: error instanceof Error ? error.message : String(error),
      code: typeof code === "string" ? code : "",
    });
  }
});
