/** Messages between the backup's main thread and its blob workers. */
import type { BlobType, PackEntry } from "../repository/pack.js";

export interface WorkerInit {
  readonly encryptionKey: Uint8Array;
  readonly packSize: number;
}

export interface BlobJob {
  readonly type: BlobType;
  readonly id: Uint8Array;
  /** the plaintext, transferred (not copied) to the worker */
  readonly data: Uint8Array;
}

export type ToWorker =
  | { readonly kind: "blobs"; readonly jobs: readonly BlobJob[] }
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
