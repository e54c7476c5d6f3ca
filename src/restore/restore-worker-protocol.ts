/** Messages between the restore's main thread and its workers. */
import type { BlobLocation } from "../repository/blob-decoder.js";

export interface RestoreWorkerInit {
  readonly encryptionKey: Uint8Array;
  readonly idKey: Uint8Array;
}

export interface Placement {
  /** index of the file in the restore's file list */
  readonly file: number;
  /** byte offset in the file */
  readonly position: number;
}

export interface TaskBlob {
  readonly location: BlobLocation;
  /** where its sealed bytes start in the task's buffer */
  readonly at: number;
  readonly placements: readonly Placement[];
}

export interface TaskFile {
  readonly file: number;
  readonly path: string;
  /** the worker creates the file (all its blobs are in this task); else it exists already */
  readonly create: boolean;
}

/** One pack's worth of work: decode its wanted blobs and write them where they belong. */
export interface PackTask {
  readonly id: number;
  readonly bytes: Uint8Array;
  readonly blobs: readonly TaskBlob[];
  readonly files: readonly TaskFile[];
}

export interface FileProgress {
  readonly file: number;
  /** placements of this file handled by the task */
  readonly blobs: number;
  /** end of the furthest byte written */
  readonly end: number;
  readonly bytes: number;
  /** why the file is damaged (a blob failed verification) */
  readonly error?: string;
}

export type FromRestoreWorker =
  | { readonly kind: "done"; readonly id: number; readonly files: readonly FileProgress[] }
  /** a failure that makes the whole restore wrong (disk full, permission), not a damaged blob */
  | {
      readonly kind: "failed";
      readonly id: number;
      readonly message: string;
      readonly code: string;
    };
