/**
 * The few ways a restore touches a regular file in the target, shared by the main thread and the
 * workers. Paths are decoded names (see filename.ts): every call goes through fsPath, so a name
 * that is not UTF-8 comes back byte-exact.
 */
import { constants, openSync, unlinkSync } from "node:fs";
import { fsPath } from "../snapshot/filename.js";

/**
 * O_EXCL after unlinking whatever was there: truncating an existing entry in place would write
 * through a hard link or symlink planted in the target to a file outside it.
 */
const CREATE_FLAGS =
  constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
/** Reopening a file this restore created: never creates, never truncates, never follows. */
const REOPEN_FLAGS = constants.O_WRONLY | constants.O_NOFOLLOW;

export function removeIfPresent(path: string): void {
  try {
    unlinkSync(fsPath(path));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
}

/**
 * A new, empty file at path, replacing whatever entry was there; returns its fd. Into a fresh
 * target the first open succeeds: unlinking first would cost every file a failing syscall and a
 * thrown ENOENT (about a second of CPU per 50,000 files).
 */
export function createExclusive(path: string): number {
  const name = fsPath(path);
  try {
    return openSync(name, CREATE_FLAGS, 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  removeIfPresent(path);
  return openSync(name, CREATE_FLAGS, 0o600);
}

/** Opens a file createExclusive made, to write more of it. */
export function reopen(path: string): number {
  return openSync(fsPath(path), REOPEN_FLAGS);
}

/**
 * Errors of one entry, not of the target: a name too long for the target's path limit (a deep
 * tree restored below a longer prefix), a name or size the target's filesystem cannot hold
 * (exFAT or FAT32 disks: ':' in names, files of 4 GiB), a permission, a link count. restic and
 * tar report such an entry and go on; stopping there left every later file of the snapshot
 * unrestored. Anything else (a full or read-only disk, I/O errors, running out of descriptors)
 * concerns the whole target and stops the restore.
 */
const ENTRY_ERRORS = new Set([
  "ENAMETOOLONG",
  "EINVAL",
  "EILSEQ",
  "EACCES",
  "EPERM",
  "EFBIG",
  "ENOTDIR",
  "EISDIR",
  "ELOOP",
  "EMLINK",
  "ENOTSUP",
  "EOPNOTSUPP",
  "ETXTBSY",
  "ENOENT",
]);

/**
 * What the target refused for this one entry, as a message; undefined when the error is not one
 * entry's (see ENTRY_ERRORS): the caller then stops the restore with it.
 */
export function refusal(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code !== "string" || !ENTRY_ERRORS.has(code)) return undefined;
  const message = (error as Error).message;
  return code === "ENAMETOOLONG"
    ? `${message} (the path is longer than the target system allows: restore it into a shorter target)`
    : message;
}

let zeros = new Uint8Array(0);

/** Whether a chunk is all zeros: such chunks are left as holes, so sparse files stay sparse. */
export function isAllZero(data: Uint8Array): boolean {
  if (zeros.length < data.length) zeros = new Uint8Array(data.length);
  return Buffer.from(data.buffer, data.byteOffset, data.length).equals(
    zeros.subarray(0, data.length),
  );
}
