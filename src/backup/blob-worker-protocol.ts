/** Messages between the backup's main thread and its blob workers. */
import type { SpooledPack } from "../repository/pack.js";
import type { PackSealingContext } from "../repository/pack-writer.js";

/** What a blob worker seals packs with (the repository's PackSealingContext). */
export type WorkerInit = PackSealingContext;

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
  | { readonly kind: "flush" };

export type FromWorker =
  /** a batch is sealed; its data buffer comes back (transferred) for the next batch */
  | { readonly kind: "done"; readonly data: Uint8Array }
  /** a pack file is about to be created: whoever ends the backup early removes it */
  | { readonly kind: "spooling"; readonly path: string }
  | ({ readonly kind: "pack" } & SpooledPack)
  | { readonly kind: "flushed" }
  /** `code`: the errno code of a failed write (ENOSPC, EFBIG...), or "" */
  | { readonly kind: "error"; readonly message: string; readonly code: string };
