/**
 * A small set of open files, least recently used closed first. One 16 MiB pack can hold tens of
 * thousands of small, well-compressed files: a restore that kept every file of a pack open until
 * the pack was done failed with EMFILE under the usual `ulimit -n 1024`. With this, the number of
 * files a worker holds open is a constant, whatever a pack or a tree holds.
 */
import { closeSync } from "node:fs";

export class FileHandles<K> {
  /** key → fd; Map order is insertion order, so the first entry is the least recently used */
  private readonly fds = new Map<K, number>();

  constructor(
    private readonly capacity: number,
    private readonly closeFd: (fd: number) => void = closeSync,
  ) {
    if (!Number.isSafeInteger(capacity) || capacity < 1)
      throw new RangeError(`capacity must be a positive integer, not ${capacity}`);
  }

  /** The open fd for key, opening it (after closing the least recently used) when needed. */
  get(key: K, open: () => number): number {
    const fd = this.fds.get(key);
    if (fd !== undefined) {
      this.fds.delete(key);
      this.fds.set(key, fd);
      return fd;
    }
    for (const [oldest, oldFd] of this.fds) {
      if (this.fds.size < this.capacity) break;
      this.fds.delete(oldest);
      this.closeFd(oldFd);
    }
    const opened = open();
    this.fds.set(key, opened);
    return opened;
  }

  has(key: K): boolean {
    return this.fds.has(key);
  }

  /** Closes key's fd if it is open. */
  release(key: K): void {
    const fd = this.fds.get(key);
    if (fd === undefined) return;
    this.fds.delete(key);
    this.closeFd(fd);
  }

  /** Closes everything; the first close error is thrown after all were attempted. */
  closeAll(): void {
    let failure: unknown;
    for (const fd of this.fds.values()) {
      try {
        this.closeFd(fd);
      } catch (error) {
        failure ??= error;
      }
    }
    this.fds.clear();
    if (failure !== undefined) throw failure;
  }

  get size(): number {
    return this.fds.size;
  }
}
