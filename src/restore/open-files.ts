/**
 * How many files a restore may hold open. Node has no getrlimit, so Linux's soft limit is read
 * from /proc/self/limits; elsewhere the POSIX minimum a shell gives by default is assumed.
 */
import { readFileSync } from "node:fs";
import { RempartError } from "../errors.js";

/** Below this, Node and its workers alone come close to the limit: refuse rather than fail late. */
export const MIN_OPEN_FILES = 32;
/**
 * What the process holds without any restored file open, measured: ~20 fds for Node itself
 * (stdio, epoll, libuv), ~4 per worker thread, the pack reads in flight and the main thread's one
 * file at a time (creating, finishing, a fallback write), with room to spare.
 */
const RESERVED = 40;
/** More handles than this per worker buys nothing: a file is closed after its last blob. */
const MAX_PER_WORKER = 8;
/** Where no limit can be read (not Linux): the common default soft limit on macOS. */
const ASSUMED_LIMIT = 256;

/** The soft RLIMIT_NOFILE, Infinity when unlimited, undefined when it cannot be read. */
export function softOpenFileLimit(limitsFile = "/proc/self/limits"): number | undefined {
  let text: string;
  try {
    text = readFileSync(limitsFile, "utf8");
  } catch {
    return undefined;
  }
  return parseOpenFileLimit(text);
}

export function parseOpenFileLimit(limits: string): number | undefined {
  const match = /^Max open files\s+(\S+)/m.exec(limits);
  if (!match) return undefined;
  if (match[1] === "unlimited") return Number.POSITIVE_INFINITY;
  const value = Number(match[1]);
  return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

/**
 * Files each of `workers` may keep open, well below `limit` (the soft limit; undefined when it
 * could not be read). Throws InvalidArgument when the limit is too low for any restore.
 */
export function filesPerWorker(limit: number | undefined, workers: number): number {
  const soft = limit ?? ASSUMED_LIMIT;
  if (soft < MIN_OPEN_FILES)
    throw new RempartError(
      "InvalidArgument",
      `the open-file limit is ${soft} (ulimit -n); restore needs at least ${MIN_OPEN_FILES}`,
      { limit: soft },
    );
  const share = Math.floor((soft - RESERVED) / workers);
  return Math.max(1, Math.min(MAX_PER_WORKER, share));
}
