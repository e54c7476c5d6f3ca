/**
 * A restored regular file's metadata set through its open descriptor, by whichever thread wrote
 * its last byte: applyMetadata (fs-metadata.ts) by path cost the main thread a path lookup per
 * call, three calls per file (~1.5 s of the benchmark restore's 52,000 files, most of the main
 * thread's own work). Through the descriptor nothing can be followed or swapped in between.
 * Same order and same outcomes as applyMetadata: owner first (it clears setuid, setgid and file
 * capabilities), mode next, times last; owner or mode not set is an error, times a warning.
 * Files with extended attributes keep the path-based applyMetadata, which sets those.
 */
import { fchmodSync, fchownSync, futimesSync } from "node:fs";
import { RempartError } from "../errors.js";
import { displayName } from "../snapshot/filename.js";
import { utimesSeconds } from "../snapshot/fs-times.js";

export interface FileMetadata {
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly atimeMs: number;
  readonly mtimeMs: number;
  /** set uid and gid too (the restore runs as root and was asked to) */
  readonly owner: boolean;
}

function errnoOf(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? String(error);
}

function failure(action: string, path: string, error: unknown): RempartError {
  return new RempartError("Io", `could not ${action} ${displayName(path)}: ${errnoOf(error)}`, {
    path,
    errno: errnoOf(error),
  });
}

/** Returns a warning when the times could not be set; throws when the owner or mode could not. */
export function applyFileMetadata(
  fd: number,
  path: string,
  metadata: FileMetadata,
): string | undefined {
  const { uid, gid, atimeMs, mtimeMs } = metadata;
  if (metadata.owner)
    try {
      fchownSync(fd, uid, gid);
    } catch (error) {
      throw failure(`set owner ${uid}:${gid} on`, path, error);
    }
  const mode = metadata.mode & 0o7777;
  try {
    fchmodSync(fd, mode);
  } catch (error) {
    throw failure(`set mode ${mode.toString(8)} on`, path, error);
  }
  try {
    futimesSync(fd, utimesSeconds(atimeMs), utimesSeconds(mtimeMs));
  } catch (error) {
    return `could not set times on ${displayName(path)}: ${errnoOf(error)}`;
  }
  return undefined;
}
