/** Messages between the restore's main thread and its workers. */
import type { BlobLocation } from "../repository/blob-decoder.js";
import type { FileMetadata } from "./file-metadata.js";

export interface RestoreWorkerInit {
  readonly encryptionKey: Uint8Array;
  readonly idKey: Uint8Array;
  /** files a worker keeps open at once, whatever a pack holds (see open-files.ts) */
  readonly maxOpenFiles: number;
}

export interface Placement {
  /** index of the file in the batch's file list */
  readonly file: number;
  /** byte offset in the file */
  readonly position: number;
}

export interface TaskBlob {
  readonly location: BlobLocation;
  readonly placements: readonly Placement[];
}

export interface TaskFile {
  readonly file: number;
  readonly path: string;
  /** the worker creates the file (all its blobs are in this task); else it exists already */
  readonly create: boolean;
  /**
   * Given when the task holds all of the file's blobs and its metadata can be set by descriptor:
   * once its last blob is written, the worker sets its size (trailing holes) and metadata.
   */
  readonly finish?: { readonly size: number; readonly metadata: FileMetadata };
}

/** One pack's worth of work: decode its wanted blobs and write them where they belong. */
export interface PackTask {
  readonly id: number;
  readonly bytes: Uint8Array;
  readonly blobs: readonly TaskBlob[];
  /**
   * Where each blob's sealed bytes start in `bytes`. Apart from the blobs, so that the main thread
   * sends its plan's own blob objects instead of a copy of each (copies it held until the answer).
   */
  readonly at: readonly number[];
  readonly files: readonly TaskFile[];
}

export interface FileProgress {
  readonly file: number;
  /** placements of this file written (or left as holes) by the task */
  readonly blobs: number;
  /** end of the furthest byte written */
  readonly end: number;
  readonly bytes: number;
  /** the worker completed the file: size and metadata set (see TaskFile.finish) */
  readonly finished?: true;
  /** what could not be kept while finishing it (times) */
  readonly warning?: string;
  /** why the target refused the file (a name too long, a size too large...): not written */
  readonly refused?: string;
}

/**
 * A blob that failed verification at this location: not yet damage, since the index may know
 * other locations of it (an index can lie about offsets; see BlobIndex.getAll).
 */
export interface FailedBlob {
  /** index in the task's blobs */
  readonly blob: number;
  readonly error: string;
}

interface TaskResult {
  readonly id: number;
  /** the task's buffer, handed back for another part (absent when the worker crashed) */
  readonly buffer?: ArrayBuffer;
  /** what the task wrote; on failure, up to the failure */
  readonly files: readonly FileProgress[];
  readonly failed: readonly FailedBlob[];
}

export type FromRestoreWorker =
  | (TaskResult & { readonly kind: "done" })
  /** a failure that makes the whole restore wrong (disk full, permission), not a damaged blob */
  | (TaskResult & { readonly kind: "failed"; readonly message: string; readonly code: string });
