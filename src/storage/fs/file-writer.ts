/**
 * Writing a body to a new file as its parts arrive: the server's uploads go to the store's spool
 * directory this way and are then published with `putFile`. Parts are gathered until a slice's
 * worth is waiting and written with one writev, one write at a time; the next slice gathers
 * meanwhile. A part is written while it is still in the CPU's cache (it was just received and
 * hashed) and released right after, where a body kept whole until its end was copied cold from
 * memory, and held its 16 MiB (as a thousand 16 KiB buffers) for the whole upload.
 */
import type { FileHandle } from "node:fs/promises";
import { open, rm } from "node:fs/promises";
import { basename, dirname } from "node:path";
import { RempartError } from "../../errors.js";
import { storeError } from "./store-errors.js";

/** Objects are write-once; read-only files guard them against tools that open for writing. */
export const OBJECT_FILE_MODE = 0o400;

/** Parts waiting for the disk are written once this many bytes are gathered. */
const WRITE_SLICE = 1024 * 1024;

/** Writes all of parts at position, however many calls the filesystem needs. */
export async function writeParts(
  handle: FileHandle,
  path: string,
  parts: readonly Uint8Array[],
  position: number,
): Promise<void> {
  const size = parts.reduce((sum, part) => sum + part.byteLength, 0);
  let pending = parts;
  let written = 0;
  while (written < size) {
    const { bytesWritten } = await handle.writev(pending, position + written);
    // libuv reports a short write (disk filling up) as success; the next call raises the error.
    if (bytesWritten === 0) {
      throw new RempartError("Io", `The filesystem accepted no bytes for ${path}.`, { path });
    }
    written += bytesWritten;
    pending = skipBytes(pending, bytesWritten);
  }
}

function skipBytes(parts: readonly Uint8Array[], count: number): readonly Uint8Array[] {
  const rest: Uint8Array[] = [];
  let skip = count;
  for (const part of parts) {
    if (skip >= part.byteLength) {
      skip -= part.byteLength;
      continue;
    }
    rest.push(skip > 0 ? part.subarray(skip) : part);
    skip = 0;
  }
  return rest;
}

/**
 * A new file (created with O_EXCL, read-only mode) being written in arrival order. `append` never
 * waits: a failed write is remembered and thrown by `finish`, and what arrives after it is dropped.
 * Either `finish` or `abandon` must end it; `abandon` also removes the file.
 */
export class FileWriter {
  readonly #handle: FileHandle;
  readonly path: string;
  #gathered: Uint8Array[] = [];
  #gatheredBytes = 0;
  #written = 0;
  #writing: Promise<void> | undefined;
  #failure: { error: unknown } | undefined;

  private constructor(handle: FileHandle, path: string) {
    this.#handle = handle;
    this.path = path;
  }

  static async create(path: string): Promise<FileWriter> {
    try {
      return new FileWriter(await open(path, "wx", OBJECT_FILE_MODE), path);
    } catch (error) {
      throw storeError(error, dirname(path), `creating ${basename(path)}`);
    }
  }

  /** Takes part (kept, not copied, until it is written). */
  append(part: Uint8Array): void {
    if (this.#failure !== undefined) return;
    this.#gathered.push(part);
    this.#gatheredBytes += part.byteLength;
    if (this.#writing === undefined && this.#gatheredBytes >= WRITE_SLICE) this.#writeGathered();
  }

  #writeGathered(): void {
    const parts = this.#gathered;
    const position = this.#written;
    this.#written += this.#gatheredBytes;
    this.#gathered = [];
    this.#gatheredBytes = 0;
    this.#writing = writeParts(this.#handle, this.path, parts, position).then(
      () => {
        this.#writing = undefined;
        if (this.#failure === undefined && this.#gatheredBytes >= WRITE_SLICE)
          this.#writeGathered();
      },
      (error: unknown) => {
        this.#writing = undefined;
        this.#failure = {
          error: storeError(error, dirname(this.path), `writing ${basename(this.path)}`),
        };
        this.#gathered = [];
        this.#gatheredBytes = 0;
      },
    );
  }

  /** Writes what is left and closes the file (not flushed: publishing it does that). */
  async finish(): Promise<number> {
    try {
      while (this.#writing !== undefined) await this.#writing;
      if (this.#failure === undefined && this.#gatheredBytes > 0) {
        this.#writeGathered();
        await this.#writing;
      }
      this.#throwIfFailed();
      return this.#written;
    } finally {
      await this.#handle.close();
    }
  }

  #throwIfFailed(): void {
    if (this.#failure !== undefined) throw this.#failure.error;
  }

  /** Stops (a write under way is let finish), closes and removes the file. */
  async abandon(): Promise<void> {
    this.#failure ??= { error: new RempartError("Io", `${this.path} was abandoned.`) };
    while (this.#writing !== undefined) await this.#writing.catch(() => {});
    await this.#handle.close().catch(() => {});
    await rm(this.path, { force: true });
  }
}
