/** Messages between the backup's main thread and its blob workers. */
import type { PackEntry } from "../repository/pack.js";

export interface WorkerInit {
  readonly encryptionKey: Uint8Array;
  readonly packSize: number;
}

/**
 * Blobs travel in batches laid out in a few flat buffers, so a batch costs a handful of
 * transferred ArrayBuffers instead of one per blob: per-blob buffers made postMessage and
 * allocation a tenth of the main thread's time.
 */
export interface BlobBatch {
  /** plaintexts back to back */
  readonly data: Uint8Array;
  /** 32-byte ids back to back */
  readonly ids: Uint8Array;
  readonly lengths: Uint32Array;
  /** 0 data, 1 tree */
  readonly types: Uint8Array;
}

export type ToWorker =
  | { readonly kind: "blobs"; readonly batch: BlobBatch }
  /** close the packs being built, even if not full */
  | { readonly kind: "flush" }
  /** a pack buffer handed back after its pack was stored, for reuse */
  | { readonly kind: "recycle"; readonly buffer: Uint8Array };

export type FromWorker =
  | { readonly kind: "done"; readonly bytes: number }
  | {
      readonly kind: "pack";
      readonly name: string;
      readonly bytes: Uint8Array;
      readonly entries: readonly PackEntry[];
    }
  | { readonly kind: "flushed" }
  | { readonly kind: "error"; readonly message: string };
