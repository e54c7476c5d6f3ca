/**
 * Messages between the restore's main thread and its workers.
 *
 * A task's blobs, placements and files travel as typed arrays, not as an object per blob and per
 * file: the structured clone copies a typed array at once, where each object cost a serialisation
 * on one side, an allocation and a new shape check on the other, and garbage in both heaps (the
 * blob objects repeated their pack's name, the placements their file's index, on every blob). The
 * pack's name travels once per task, each path once per task.
 */
import type { BlobStorage } from "../repository/blob-decoder.js";
import type { BlobType } from "../repository/blob-entry.js";

export interface RestoreWorkerInit {
  readonly encryptionKey: Uint8Array;
  readonly idKey: Uint8Array;
  /** files a worker keeps open at once, whatever a pack holds (see open-files.ts) */
  readonly maxOpenFiles: number;
}

/** Blob ids travel as bytes, back to back. */
export const ID_BYTES = 32;

/**
 * Numbers per blob in `PackTask.blobs`: where its sealed bytes start in the task's bytes, its
 * sealed length, its plaintext length, its flags, and the end of its placements (a placement
 * index, exclusive: blob i's placements run from blob i-1's end).
 */
export const BLOB_FIELDS = 5;
export const BLOB_AT = 0;
export const BLOB_LENGTH = 1;
export const BLOB_RAW_LENGTH = 2;
export const BLOB_FLAGS = 3;
export const BLOB_PLACEMENTS_END = 4;
export const BLOB_COMPRESSED = 1;
export const BLOB_TREE = 2;
export const BLOB_FRAMED = 4;

/** Numbers per placement in `PackTask.placements`: the task's file index, the byte position. */
export const PLACEMENT_FIELDS = 2;

/**
 * Numbers per file in `PackTask.files`: flags, then (with FILE_FINISH) the size and metadata set
 * once its last blob is written: mode, uid, gid, access and modification times in ms.
 */
export const FILE_FIELDS = 7;
export const FILE_FLAGS = 0;
export const FILE_SIZE = 1;
export const FILE_MODE = 2;
export const FILE_UID = 3;
export const FILE_GID = 4;
export const FILE_ATIME = 5;
export const FILE_MTIME = 6;
/** the worker creates the file (all its blobs are in this task); else it exists already */
export const FILE_CREATE = 1;
/**
 * The task holds all of the file's blobs and its metadata can be set by descriptor: once its last
 * blob is written, the worker sets its size (trailing holes) and metadata.
 */
export const FILE_FINISH = 2;
/** with FILE_FINISH: set uid and gid too */
export const FILE_OWNER = 4;

/** One part of a pack: decode its wanted blobs and write them where they belong. */
export interface PackTask {
  readonly id: number;
  /** for messages */
  readonly pack: string;
  readonly bytes: Uint8Array;
  /** BLOB_FIELDS numbers per blob */
  readonly blobs: Float64Array;
  /** ID_BYTES per blob */
  readonly ids: Uint8Array;
  /** PLACEMENT_FIELDS numbers per placement, blob after blob */
  readonly placements: Float64Array;
  /** FILE_FIELDS numbers per file of the task; a placement's file indexes these and `paths` */
  readonly files: Float64Array;
  readonly paths: readonly string[];
}

export function blobTypeOf(flags: number): BlobType {
  return flags & BLOB_TREE ? "tree" : "data";
}

export function blobFlags(type: BlobType, storage: BlobStorage): number {
  const stored = storage === "framed" ? BLOB_FRAMED : storage === "zstd" ? BLOB_COMPRESSED : 0;
  return stored | (type === "tree" ? BLOB_TREE : 0);
}

export function blobStorageOf(flags: number): BlobStorage {
  return flags & BLOB_FRAMED ? "framed" : flags & BLOB_COMPRESSED ? "zstd" : "raw";
}

/**
 * Numbers per file of the task in `TaskResult.progress`: placements written (or left as holes),
 * the end of the furthest byte written, bytes written, and 1 once the worker completed the file
 * (size and metadata set, see FILE_FINISH).
 */
export const PROGRESS_FIELDS = 4;
export const PROGRESS_BLOBS = 0;
export const PROGRESS_END = 1;
export const PROGRESS_BYTES = 2;
export const PROGRESS_FINISHED = 3;

/**
 * A blob that failed verification at this location: not yet damage, since the index may know
 * other locations of it (an index can lie about offsets; see BlobIndex.getAll).
 */
export interface FailedBlob {
  /** index in the task's blobs */
  readonly blob: number;
  readonly error: string;
}

/** What could not be kept while finishing a file (times). */
export interface FileWarning {
  /** the task's file index */
  readonly file: number;
  readonly warning: string;
}

/** A file the target refused (see refusal in target-files.ts): not written, its blobs skipped. */
export interface FileRefusal {
  /** the task's file index */
  readonly file: number;
  readonly reason: string;
}

interface TaskResult {
  readonly id: number;
  /** the task's buffer, handed back for another part (absent when the worker crashed) */
  readonly buffer?: ArrayBuffer;
  /** PROGRESS_FIELDS per file of the task: what it wrote; on failure, up to the failure */
  readonly progress?: Float64Array;
  readonly warnings: readonly FileWarning[];
  readonly refused: readonly FileRefusal[];
  readonly failed: readonly FailedBlob[];
}

export type FromRestoreWorker =
  | (TaskResult & { readonly kind: "done" })
  /** a failure that makes the whole restore wrong (disk full, permission), not a damaged blob */
  | (TaskResult & { readonly kind: "failed"; readonly message: string; readonly code: string });
