/**
 * The main thread's side of the blob workers: hands out plaintext blobs in batches, bounds the
 * bytes in flight (backpressure keeps memory flat however fast the disk reads), and stores every
 * pack a worker finishes.
 */
import { Worker } from "node:worker_threads";
import { RempartError } from "../errors.js";
import type { BlobType, FinishedPack } from "../repository/pack.js";
import { BatchBuilder } from "./blob-batch.js";
import type { FromWorker, ToWorker, WorkerInit } from "./blob-worker-protocol.js";

export interface BlobPoolOptions extends WorkerInit {
  readonly workers: number;
  /** plaintext bytes dispatched but not yet sealed, across all workers */
  readonly maxInFlightBytes: number;
  /** stores a finished pack; the pool waits for it before the pack's buffer is reused */
  readonly storePack: (pack: FinishedPack) => Promise<void>;
}

const BATCH_BYTES = 1024 * 1024;
const BATCH_BLOBS = 256;

interface PoolWorker {
  readonly worker: Worker;
  inFlight: number;
  onFlushed?: () => void;
}

export class BlobPool {
  private readonly workers: PoolWorker[];
  private readonly batch = new BatchBuilder(BATCH_BYTES, BATCH_BLOBS);
  private inFlight = 0;
  private readonly storing = new Set<Promise<void>>();
  private failure: Error | undefined;
  private wake: (() => void) | undefined;

  constructor(private readonly options: BlobPoolOptions) {
    const init: WorkerInit = { encryptionKey: options.encryptionKey, packSize: options.packSize };
    this.workers = Array.from({ length: options.workers }, () => {
      const worker = new Worker(new URL("./blob-worker.js", import.meta.url), { workerData: init });
      const state: PoolWorker = { worker, inFlight: 0 };
      worker.on("message", (message: FromWorker) => this.onMessage(state, message));
      worker.on("error", (error) => this.fail(error));
      return state;
    });
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.signal();
    // A failed worker never answers a flush; release whoever waits for it.
    for (const state of this.workers) state.onFlushed?.();
  }

  private signal(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private onMessage(state: PoolWorker, message: FromWorker): void {
    switch (message.kind) {
      case "done":
        state.inFlight -= message.bytes;
        this.inFlight -= message.bytes;
        this.signal();
        break;
      case "pack":
        this.store(state, message);
        break;
      case "flushed":
        state.onFlushed?.();
        break;
      case "error":
        this.fail(new RempartError("Io", `blob worker failed: ${message.message}`));
        break;
    }
  }

  private store(state: PoolWorker, pack: FinishedPack): void {
    const stored = this.options
      .storePack(pack)
      .then(() => {
        const buffer = pack.bytes.buffer as ArrayBuffer;
        if (buffer.byteLength >= this.options.packSize)
          this.send(state, { kind: "recycle", buffer: pack.bytes }, [buffer]);
      })
      .catch((error: Error) => this.fail(error))
      .finally(() => {
        this.storing.delete(stored);
        this.signal();
      });
    this.storing.add(stored);
  }

  private send(state: PoolWorker, message: ToWorker, transfer: ArrayBuffer[] = []): void {
    state.worker.postMessage(message, transfer);
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }

  /**
   * Queues a copy of a blob for sealing (`plain` may be reused once this returns). The caller
   * must `await ready()` between files or large reads.
   */
  add(type: BlobType, id: Uint8Array, plain: Uint8Array): void {
    this.throwIfFailed();
    if (!this.batch.fits(plain.length)) this.dispatch();
    this.batch.add(type, id, plain);
    if (!this.batch.fits(0)) this.dispatch();
  }

  private dispatch(): void {
    if (this.batch.empty) return;
    let target = this.workers[0] as PoolWorker;
    for (const candidate of this.workers)
      if (candidate.inFlight < target.inFlight) target = candidate;
    const bytes = this.batch.bytes;
    const batch = this.batch.take();
    target.inFlight += bytes;
    this.inFlight += bytes;
    this.send(target, { kind: "blobs", batch }, [
      batch.data.buffer as ArrayBuffer,
      batch.ids.buffer as ArrayBuffer,
      batch.lengths.buffer as ArrayBuffer,
      batch.types.buffer as ArrayBuffer,
    ]);
  }

  private waitForSignal(): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
    });
  }

  /** Resolves once there is room for more data (backpressure). */
  async ready(): Promise<void> {
    while (
      !this.failure &&
      (this.inFlight >= this.options.maxInFlightBytes || this.storing.size > this.workers.length)
    )
      await this.waitForSignal();
    this.throwIfFailed();
  }

  /** Seals everything queued, closes every open pack and waits until all packs are stored. */
  async flush(): Promise<void> {
    this.dispatch();
    await Promise.all(
      this.workers.map(
        (state) =>
          new Promise<void>((resolve) => {
            state.onFlushed = resolve;
            this.send(state, { kind: "flush" });
          }),
      ),
    );
    while (this.storing.size > 0 && !this.failure) await Promise.race(this.storing);
    this.throwIfFailed();
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((state) => state.worker.terminate()));
  }
}
