/**
 * The main thread's side of the blob workers: hands out plaintext blobs in batches, bounds the
 * bytes in flight (backpressure keeps memory flat however fast the disk reads), and stores every
 * pack a worker finishes. Packs are built in files (spooled), so they cost disk, not memory.
 */
import { rm } from "node:fs/promises";
import { Worker } from "node:worker_threads";
import { RempartError } from "../errors.js";
import type { BlobType, SpooledPack } from "../repository/pack.js";
import { BatchBuilder } from "./blob-batch.js";
import type { FromWorker, ToWorker, WorkerInit } from "./blob-worker-protocol.js";
import { collectGarbage } from "./collect-garbage.js";

export interface BlobPoolOptions extends WorkerInit {
  readonly workers: number;
  /**
   * batch buffer bytes dispatched and not yet handed back, across all workers: what the batches
   * cost in memory, whatever share of each buffer its blobs fill
   */
  readonly maxInFlightBytes: number;
  /** stores a finished pack, taking over its file (reading pauses while more than one per worker are) */
  readonly storePack: (pack: SpooledPack) => Promise<void>;
}

const BATCH_BYTES = 1024 * 1024;
const BATCH_BLOBS = 256;
/**
 * A blob worker's garbage is small and short-lived (entries, cipher objects; its heap peaks under
 * 10 MB): V8's default young generation (up to 48 MB) only lets it pile up.
 */
const WORKER_YOUNG_GENERATION_MB = 2;
/** Bytes dispatched between full collections of the main thread (see collect-garbage.ts). */
const COLLECT_EVERY_BYTES = 128 * 1024 * 1024;

interface PoolWorker {
  readonly worker: Worker;
  inFlight: number;
  onFlushed?: () => void;
}

export class BlobPool {
  private readonly workers: PoolWorker[];
  private readonly batch = new BatchBuilder(BATCH_BYTES, BATCH_BLOBS);
  private inFlight = 0;
  private sinceCollect = 0;
  private readonly storing = new Set<Promise<void>>();
  /** files workers are writing or have finished, not yet handed to storePack */
  private readonly spooled = new Set<string>();
  private failure: Error | undefined;
  private wake: (() => void) | undefined;

  constructor(private readonly options: BlobPoolOptions) {
    const init: WorkerInit = {
      encryptionKey: options.encryptionKey,
      packSize: options.packSize,
      spoolDir: options.spoolDir,
      frames: options.frames,
    };
    this.workers = Array.from({ length: options.workers }, () => {
      const worker = new Worker(new URL("./blob-worker.js", import.meta.url), {
        workerData: init,
        resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
      });
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
      case "done": {
        const held = message.data.buffer.byteLength;
        state.inFlight -= held;
        this.inFlight -= held;
        this.batch.recycle(message.data);
        this.signal();
        break;
      }
      case "spooling":
        this.spooled.add(message.path);
        break;
      case "pack":
        this.spooled.delete(message.path);
        this.store(message);
        break;
      case "flushed":
        state.onFlushed?.();
        break;
      case "error":
        this.fail(this.workerFailure(message.message, message.code));
        break;
    }
  }

  /** What a worker's failure means for the backup: where packs are written, said plainly. */
  private workerFailure(message: string, code: string): RempartError {
    const { spoolDir } = this.options;
    const packSize = `${(this.options.packSize / 1024 / 1024).toFixed(1)} MiB`;
    if (code === "ENOSPC" || code === "EDQUOT")
      return new RempartError(
        "StorageFull",
        `no space left to write a pack in ${spoolDir} (packs are written there, up to ${packSize} each, before they are stored): ${message}`,
        { errno: code, path: spoolDir },
      );
    if (code === "EFBIG")
      return new RempartError(
        "Io",
        `a pack written in ${spoolDir} passed the file-size limit (ulimit -f); packs grow to ${packSize}: ${message}`,
        { errno: code, path: spoolDir },
      );
    return new RempartError("Io", `blob worker failed: ${message}`, { errno: code });
  }

  /** Whether a worker or a store failed: the backup stops, whatever else goes wrong since. */
  get failed(): boolean {
    return this.failure !== undefined;
  }

  private store(message: FromWorker & { kind: "pack" }): void {
    const { name, path, size, entries } = message;
    const stored = this.options
      .storePack({ name, path, size, entries })
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
   * Queues a copy of a blob for sealing (`plain` may be reused once this returns); `hexId` is its
   * keyed id in hex. The caller must `await ready()` between files or large reads.
   */
  add(type: BlobType, hexId: string, plain: Uint8Array): void {
    this.throwIfFailed();
    if (!this.batch.fits(plain.length)) this.dispatch();
    this.batch.add(type, hexId, plain);
    if (!this.batch.fits(0)) this.dispatch();
  }

  private dispatch(): void {
    if (this.batch.empty) return;
    let target = this.workers[0] as PoolWorker;
    for (const candidate of this.workers)
      if (candidate.inFlight < target.inFlight) target = candidate;
    const bytes = this.batch.bytes;
    const batch = this.batch.take();
    // Counted by the buffer, not by the bytes its blobs fill: a batch of 256 files of 1 KiB fills
    // a quarter of its 1 MiB, so counting plaintext let up to four times the bound's buffers be
    // out. Benchmark share's initial backup, interleaved runs: peak RSS 150 and 148 MB counting
    // plaintext, 140 and 143 counting buffers.
    const held = batch.data.buffer.byteLength;
    target.inFlight += held;
    this.inFlight += held;
    this.sinceCollect += bytes;
    if (this.sinceCollect >= COLLECT_EVERY_BYTES) {
      this.sinceCollect = 0;
      collectGarbage("major");
    }
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

  private get full(): boolean {
    return (
      this.inFlight >= this.options.maxInFlightBytes || this.storing.size > this.workers.length
    );
  }

  /** Whether ready() would wait or throw: a caller between small files can skip awaiting it. */
  get mustWait(): boolean {
    return this.failure !== undefined || this.full;
  }

  /** Resolves once there is room for more data (backpressure). */
  async ready(): Promise<void> {
    while (!this.failure && this.full) await this.waitForSignal();
    this.throwIfFailed();
  }

  /**
   * Seals everything queued, closes every open pack and waits until all packs are stored. The
   * pool is spent then: its workers are stopped and its batch buffers let go, so that what the
   * backup does last (the index of every new pack, the snapshot) does not add to their memory.
   */
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
    // Not awaited: an idle worker's teardown (~40 ms) need not delay the index and the snapshot
    // on its way out; close() waits for it.
    void this.stopWorkers();
    this.batch.release();
  }

  private stopWorkers(): Promise<number[]> {
    return Promise.all(this.workers.map((state) => state.worker.terminate()));
  }

  /** Stops the workers and removes the pack files of a backup that ends before storing them. */
  async close(): Promise<void> {
    await this.stopWorkers();
    await Promise.all(this.storing);
    // Best effort: what a failure leaves here (or a kill anywhere) the store's stale sweep removes.
    await Promise.all([...this.spooled].map((path) => rm(path, { force: true }).catch(() => {})));
    this.spooled.clear();
  }
}
