/**
 * An ObjectStore in a local (or mounted) directory:
 *
 *     <root>/config
 *     <root>/keys/<name>   <root>/index/<name>   <root>/snapshots/<name>
 *     <root>/data/<first two hex characters of name>/<name>
 *     <root>/tmp/          bodies being written, never read as objects
 *     <root>/gc-trash/<name>   packs garbage collection set aside (SweepableStore)
 *
 * A body is written and flushed to a temp file, then hard-linked under its final name. link(2)
 * fails when the name exists, so an object is never overwritten nor seen half-written, and a put
 * killed at any point leaves at most a stray temp file (see removeStaleTempFiles).
 */
import { randomBytes } from "node:crypto";
import { type FileHandle, link, mkdir, open, opendir, rename, rm, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { RempartError } from "../../errors.js";
import {
  type ByteRange,
  checkKind,
  checkRange,
  checkRef,
  isValidRef,
  listEvery,
  type ObjectBody,
  type ObjectInfo,
  type ObjectKind,
  type ObjectPage,
  type ObjectRef,
  type PageRequest,
  type PutOutcome,
  pageLimit,
  type SpooledFile,
} from "../object-store.js";
import type { SweepableStore } from "../sweepable.js";
import { OBJECT_FILE_MODE, writeParts } from "./file-writer.js";
import { errnoOf, storeError } from "./store-errors.js";

/** Long enough that no live put (which touches its temp file as it writes) is mistaken for debris. */
export const STALE_TEMP_AGE_MS = 60 * 60 * 1000;

const TEMP_DIR = "tmp";
const TRASH_DIR = "gc-trash";
const LAYOUT = [TEMP_DIR, "keys", "data", "index", "snapshots"] as const;
const FANOUT = /^[0-9a-f]{2}$/;
// Backups are encrypted, but sizes and counts still say something about the client: owner only.
const DIR_MODE = 0o700;
const COMPARE_CHUNK = 1024 * 1024;
// Filesystems that cannot fsync a directory (some FUSE and network mounts) say so with these.
const DIR_SYNC_UNSUPPORTED = new Set(["EINVAL", "ENOTSUP", "EOPNOTSUPP"]);
// vfat and some network filesystems refuse link(2), on a file the store itself just created.
const LINK_UNSUPPORTED = new Set(["EPERM", "ENOTSUP", "EOPNOTSUPP"]);
// A put retries when the object it collided with is deleted before it could be compared.
const PUBLISH_ATTEMPTS = 3;

export class FsObjectStore implements SweepableStore {
  readonly root: string;

  private constructor(root: string) {
    this.root = resolve(root);
  }

  /** Makes the layout under root (any missing part of it) and opens it. */
  static async create(root: string): Promise<FsObjectStore> {
    const store = new FsObjectStore(root);
    try {
      for (const dir of ["", ...LAYOUT]) await makeDir(join(store.root, dir));
      await syncDir(store.root);
    } catch (error) {
      throw storeError(error, store.root, "creating the storage layout");
    }
    return store;
  }

  /** Opens an existing layout; `RepositoryNotFound` when root does not hold one. */
  static async open(root: string): Promise<FsObjectStore> {
    const store = new FsObjectStore(root);
    for (const dir of LAYOUT) {
      const path = join(store.root, dir);
      const found = await stat(path).catch((error: unknown) => {
        if (errnoOf(error) === "ENOENT" || errnoOf(error) === "ENOTDIR") return undefined;
        throw storeError(error, store.root, `opening ${dir}/`);
      });
      if (found?.isDirectory() !== true) {
        throw new RempartError(
          "RepositoryNotFound",
          `There is no Rempart storage at ${store.root} (${dir}/ is missing).`,
          { root: store.root },
        );
      }
    }
    return store;
  }

  async put(ref: ObjectRef, body: ObjectBody): Promise<PutOutcome> {
    const parts: readonly Uint8Array[] = body instanceof Uint8Array ? [body] : body;
    const size = parts.reduce((sum, part) => sum + part.byteLength, 0);
    const temp = join(this.root, TEMP_DIR, randomBytes(16).toString("hex"));
    return this.#publishTemp(
      ref,
      temp,
      (path) => holdsExactly(path, parts, size),
      () => writeDurably(temp, parts),
    );
  }

  /** The store's own temp directory, so that a spooled body is linked into place, never copied. */
  async spoolDir(): Promise<string> {
    await this.removeStaleTempFiles();
    return join(this.root, TEMP_DIR);
  }

  async putFile(ref: ObjectRef, file: SpooledFile): Promise<PutOutcome> {
    const temp = resolve(file.path);
    // Linking a file from anywhere else could cross filesystems, or publish a file its writer
    // still holds open for writing: only our own temp directory is accepted (and nothing else
    // is ever removed).
    if (dirname(temp) !== join(this.root, TEMP_DIR))
      throw new RempartError(
        "InvalidArgument",
        `Refusing to store ${temp}: a spooled body must be in ${join(this.root, TEMP_DIR)}.`,
        { path: temp },
      );
    return this.#publishTemp(
      ref,
      temp,
      (path) => holdsSameFile(path, temp, file.size),
      () => syncFile(temp, file.size),
    );
  }

  /**
   * Makes a durable temp file (`prepare`) the object under ref, write-once (`sameBytes` tells an
   * identical object already there from a conflict), then removes the temp file whatever happened.
   */
  async #publishTemp(
    ref: ObjectRef,
    temp: string,
    sameBytes: (path: string) => Promise<boolean | undefined>,
    prepare: () => Promise<void>,
  ): Promise<PutOutcome> {
    try {
      checkRef(ref);
      const relative = relativePath(ref);
      const final = join(this.root, relative);
      try {
        await prepare();
        const outcome = await this.#publish(temp, final, sameBytes, relative);
        await syncDir(dirname(final));
        return outcome;
      } catch (error) {
        throw storeError(error, this.root, `storing ${relative}`);
      }
    } finally {
      await rm(temp, { force: true }).catch((error: unknown) => {
        throw storeError(error, this.root, `removing the temp file ${temp}`);
      });
    }
  }

  async get(ref: ObjectRef, range?: ByteRange): Promise<Uint8Array> {
    if (range !== undefined) checkRange(range);
    return this.#reading(ref, async (handle, relative) => {
      if (range === undefined) return await handle.readFile();
      const { size } = await handle.stat();
      // Sized by what the file holds, so a corrupt index asking for gigabytes allocates nothing.
      const bytes = Buffer.allocUnsafe(Math.min(range.length, Math.max(0, size - range.offset)));
      if ((await readAt(handle, bytes, range.offset)) < range.length)
        throw tooShort(relative, size, range);
      return bytes;
    });
  }

  async readInto(ref: ObjectRef, offset: number, target: Uint8Array): Promise<void> {
    const range = { offset, length: target.byteLength };
    checkRange(range);
    await this.#reading(ref, async (handle, relative) => {
      // No stat first: the object's size is asked only to explain a short read.
      if ((await readAt(handle, target, offset)) < range.length)
        throw tooShort(relative, (await handle.stat()).size, range);
    });
  }

  /** Runs `use` on the object opened for reading: NotFound when absent, closed afterwards. */
  async #reading<T>(
    ref: ObjectRef,
    use: (handle: FileHandle, relative: string) => Promise<T>,
  ): Promise<T> {
    checkRef(ref);
    const relative = relativePath(ref);
    let handle: FileHandle;
    try {
      handle = await open(join(this.root, relative), "r");
    } catch (error) {
      if (errnoOf(error) === "ENOENT") {
        throw new RempartError("NotFound", `No object is stored as ${relative}.`, {
          path: relative,
        });
      }
      throw storeError(error, this.root, `reading ${relative}`);
    }
    try {
      return await use(handle, relative);
    } catch (error) {
      throw storeError(error, this.root, `reading ${relative}`);
    } finally {
      await handle.close();
    }
  }

  async stat(ref: ObjectRef): Promise<ObjectInfo | undefined> {
    checkRef(ref);
    const relative = relativePath(ref);
    try {
      const found = await stat(join(this.root, relative));
      return found.isFile() ? { kind: ref.kind, name: ref.name, size: found.size } : undefined;
    } catch (error) {
      if (errnoOf(error) === "ENOENT") return undefined;
      throw storeError(error, this.root, `inspecting ${relative}`);
    }
  }

  /**
   * A page in name order. Each page reads the directories it spans whole (a fan-out directory
   * holds 1/256 of the packs), sorts their names and stats only the objects it returns.
   */
  async listPage(kind: ObjectKind, page: PageRequest = {}): Promise<ObjectPage> {
    checkKind(kind);
    const limit = pageLimit(page);
    const after = page.cursor ?? "";
    if (page.cursor !== undefined && !isValidRef({ kind, name: page.cursor }))
      throw new RempartError(
        "InvalidArgument",
        `${JSON.stringify(page.cursor)} is not a cursor of a ${kind} listing.`,
        { kind },
      );
    if (kind === "config") {
      const config = after === "" ? await this.stat({ kind, name: "config" }) : undefined;
      return { objects: config === undefined ? [] : [config] };
    }
    const objects: ObjectInfo[] = [];
    for (const dir of await this.#directoriesFrom(kind, after)) {
      for (const name of await this.#sortedNames(dir)) {
        const ref = { kind, name };
        if (name <= after || !isValidRef(ref)) continue;
        // A further object exists: this page ends, and the next starts after its last one.
        if (objects.length === limit) return { objects, next: objects[limit - 1]?.name ?? after };
        // stat derives the path from the ref, so a file outside its fan-out directory, which get
        // could never find, is not listed either.
        const info = await this.stat(ref);
        if (info !== undefined) objects.push(info);
      }
    }
    return { objects };
  }

  list(kind: ObjectKind): AsyncIterable<ObjectInfo> {
    return listEvery(this, kind);
  }

  /** The directories holding objects of kind, in name order, from the one `after` is in. */
  async #directoriesFrom(kind: Exclude<ObjectKind, "config">, after: string): Promise<string[]> {
    if (kind !== "data") return [kind];
    const first = after.slice(0, 2);
    return (await this.#sortedNames("data"))
      .filter((fanout) => FANOUT.test(fanout) && fanout >= first)
      .map((fanout) => join("data", fanout));
  }

  async #sortedNames(dir: string): Promise<string[]> {
    const names: string[] = [];
    for await (const name of this.#names(dir)) names.push(name);
    return names.sort();
  }

  async delete(ref: ObjectRef): Promise<void> {
    checkRef(ref);
    const relative = relativePath(ref);
    // No directory fsync: a delete lost to a crash only brings back garbage the next prune removes.
    await rm(join(this.root, relative), { force: true }).catch((error: unknown) => {
      throw storeError(error, this.root, `deleting ${relative}`);
    });
  }

  async storedAt(ref: ObjectRef): Promise<Date | undefined> {
    checkRef(ref);
    const relative = relativePath(ref);
    try {
      return (await stat(join(this.root, relative))).mtime;
    } catch (error) {
      if (errnoOf(error) === "ENOENT") return undefined;
      throw storeError(error, this.root, `inspecting ${relative}`);
    }
  }

  async trashPack(name: string): Promise<boolean> {
    checkRef({ kind: "data", name });
    const relative = relativePath({ kind: "data", name });
    try {
      await makeDir(join(this.root, TRASH_DIR));
      await rename(join(this.root, relative), join(this.root, TRASH_DIR, name));
      return true;
    } catch (error) {
      if (errnoOf(error) === "ENOENT") return false;
      throw storeError(error, this.root, `setting ${relative} aside`);
    }
  }

  async *trashedPacks(): AsyncIterable<string> {
    for await (const name of this.#names(TRASH_DIR))
      if (isValidRef({ kind: "data", name })) yield name;
  }

  async restorePack(name: string): Promise<void> {
    checkRef({ kind: "data", name });
    const trashed = join(this.root, TRASH_DIR, name);
    try {
      // false: the pack was stored again meanwhile; both are the same bytes (the name is a hash).
      await this.#link(trashed, join(this.root, relativePath({ kind: "data", name })));
      await rm(trashed);
    } catch (error) {
      throw storeError(error, this.root, `putting the pack ${name} back`);
    }
  }

  async purgePack(name: string): Promise<number> {
    checkRef({ kind: "data", name });
    const trashed = join(this.root, TRASH_DIR, name);
    try {
      const { size } = await stat(trashed);
      await rm(trashed);
      return size;
    } catch (error) {
      throw storeError(error, this.root, `removing the pack ${name}`);
    }
  }

  /**
   * Removes temp files left by puts that were killed, returning how many. Other processes may be
   * writing into the same store, so only files untouched for olderThanMs are removed.
   */
  async removeStaleTempFiles(olderThanMs = STALE_TEMP_AGE_MS, now = Date.now()): Promise<number> {
    let removed = 0;
    for await (const name of this.#names(TEMP_DIR)) {
      const path = join(this.root, TEMP_DIR, name);
      try {
        const found = await stat(path);
        if (!found.isFile() || found.mtimeMs > now - olderThanMs) continue;
        await rm(path, { force: true });
        removed += 1;
      } catch (error) {
        if (errnoOf(error) === "ENOENT") continue;
        throw storeError(error, this.root, `removing the stale temp file ${path}`);
      }
    }
    return removed;
  }

  /** Entry names of a directory under root, streamed; none when it does not exist. */
  async *#names(dir: string): AsyncIterable<string> {
    let entries: AsyncIterable<{ name: string }>;
    try {
      entries = await opendir(join(this.root, dir));
    } catch (error) {
      if (errnoOf(error) === "ENOENT" || errnoOf(error) === "ENOTDIR") return;
      throw storeError(error, this.root, `listing ${dir}/`);
    }
    try {
      for await (const entry of entries) yield entry.name;
    } catch (error) {
      throw storeError(error, this.root, `listing ${dir}/`);
    }
  }

  /** Makes temp visible as final unless final exists; then only identical bytes are accepted. */
  async #publish(
    temp: string,
    final: string,
    /** whether the file at a path holds the new bytes; undefined when it vanished */
    matches: (path: string) => Promise<boolean | undefined>,
    relative: string,
  ): Promise<PutOutcome> {
    for (let attempt = 0; attempt < PUBLISH_ATTEMPTS; attempt++) {
      if (await this.#link(temp, final)) return "created";
      const same = await matches(final);
      if (same === true) return "exists";
      if (same === false) {
        throw new RempartError(
          "ObjectConflict",
          `Different bytes are already stored as ${relative}; objects are write-once, so the new ones were not stored.`,
          { path: relative },
        );
      }
    }
    throw new RempartError(
      "Io",
      `The object ${relative} in ${this.root} kept being deleted while it was being stored; run the backup again once other jobs on this storage have finished.`,
      { root: this.root, path: relative },
    );
  }

  /** True when linked, false when final already exists. */
  async #link(temp: string, final: string): Promise<boolean> {
    try {
      return await linkUnlessExists(temp, final, this.root);
    } catch (error) {
      if (errnoOf(error) !== "ENOENT") throw error;
    }
    // Fan-out directories are made on first use, so a copied or older layout needs no migration.
    await makeDir(dirname(final));
    await syncDir(dirname(dirname(final)));
    return linkUnlessExists(temp, final, this.root);
  }
}

function relativePath(ref: ObjectRef): string {
  if (ref.kind === "config") return "config";
  if (ref.kind === "data") return join("data", ref.name.slice(0, 2), ref.name);
  return join(ref.kind, ref.name);
}

async function writeDurably(path: string, parts: readonly Uint8Array[]): Promise<void> {
  // "wx" (O_EXCL) so two puts can never share a temp file; the mode applies to the final object.
  const handle = await open(path, "wx", OBJECT_FILE_MODE);
  try {
    // writev straight from the caller's parts: a pack is never concatenated in memory.
    await writeParts(handle, path, parts, 0);
    // fdatasync is enough: it flushes the size and blocks, and the name comes only with link.
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

async function linkUnlessExists(temp: string, final: string, root: string): Promise<boolean> {
  try {
    await link(temp, final);
    return true;
  } catch (error) {
    const code = errnoOf(error);
    if (code === "EEXIST") return false;
    if (code !== undefined && LINK_UNSUPPORTED.has(code)) {
      throw new RempartError(
        "Unsupported",
        `The filesystem at ${root} does not support hard links (${code}), which Rempart needs to store objects without ever overwriting one.`,
        { root, errno: code },
      );
    }
    throw error;
  }
}

/** The file open for reading; undefined when it is not there (it vanished, say). */
async function openIfPresent(path: string): Promise<FileHandle | undefined> {
  try {
    return await open(path, "r");
  } catch (error) {
    if (errnoOf(error) === "ENOENT") return undefined;
    throw error;
  }
}

/** Whether path holds exactly the parts; undefined when it vanished before it could be read. */
async function holdsExactly(
  path: string,
  parts: readonly Uint8Array[],
  size: number,
): Promise<boolean | undefined> {
  const handle = await openIfPresent(path);
  if (handle === undefined) return undefined;
  try {
    if ((await handle.stat()).size !== size) return false;
    const chunk = Buffer.allocUnsafe(Math.min(size, COMPARE_CHUNK));
    let position = 0;
    for (const part of parts) {
      for (let start = 0; start < part.byteLength; start += chunk.byteLength) {
        const expected = part.subarray(start, start + chunk.byteLength);
        const read = await readAt(handle, chunk.subarray(0, expected.byteLength), position);
        if (read < expected.byteLength || !chunk.subarray(0, read).equals(expected)) return false;
        position += read;
      }
    }
    return true;
  } finally {
    await handle.close();
  }
}

/** Flushes a spooled file written by someone else (size and blocks) before it gets a name. */
async function syncFile(path: string, size: number): Promise<void> {
  const handle = await open(path, "r");
  try {
    const found = await handle.stat();
    if (!found.isFile() || found.size !== size)
      throw new RempartError(
        "Io",
        `The spooled file ${path} holds ${found.size} bytes, not the ${size} it was said to hold.`,
        { path, size: found.size, expected: size },
      );
    // fdatasync through a read-only descriptor flushes the file's pages all the same (Linux).
    await handle.datasync();
  } finally {
    await handle.close();
  }
}

/** Whether path holds the same bytes as the file at other; undefined when path vanished. */
async function holdsSameFile(
  path: string,
  other: string,
  size: number,
): Promise<boolean | undefined> {
  const handle = await openIfPresent(path);
  if (handle === undefined) return undefined;
  const theirs = await open(other, "r").catch(async (error: unknown) => {
    await handle.close();
    throw error;
  });
  try {
    if ((await handle.stat()).size !== size) return false;
    const length = Math.min(size, COMPARE_CHUNK);
    const expected = Buffer.allocUnsafe(length);
    const found = Buffer.allocUnsafe(length);
    for (let position = 0; position < size; position += length) {
      const want = await readAt(theirs, expected, position);
      const read = await readAt(handle, found.subarray(0, want), position);
      if (read < want || !found.subarray(0, read).equals(expected.subarray(0, want))) return false;
    }
    return true;
  } finally {
    await Promise.all([handle.close(), theirs.close()]);
  }
}

/** Fills target from position on, stopping early only at the end of the file; returns the count. */
function tooShort(relative: string, size: number, range: ByteRange): RempartError {
  return new RempartError(
    "RepositoryCorrupt",
    `The object ${relative} holds ${size} bytes, too few for bytes ${range.offset} to ${range.offset + range.length}.`,
    { path: relative, size, ...range },
  );
}

async function readAt(handle: FileHandle, target: Uint8Array, position: number): Promise<number> {
  let filled = 0;
  while (filled < target.byteLength) {
    const { bytesRead } = await handle.read(
      target,
      filled,
      target.byteLength - filled,
      position + filled,
    );
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled;
}

/** mkdir -p, by hand: Node's recursive mkdir reports a read-only filesystem as ENOENT. */
async function makeDir(path: string): Promise<void> {
  try {
    await mkdir(path, { mode: DIR_MODE });
  } catch (error) {
    if (errnoOf(error) === "EEXIST") return;
    if (errnoOf(error) !== "ENOENT" || dirname(path) === path) throw error;
    await makeDir(dirname(path));
    await makeDir(path);
  }
}

/** Makes a directory's entries durable: without it a crash can lose a name whose data was synced. */
export async function syncDir(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } catch (error) {
    const code = errnoOf(error);
    if (code === undefined || !DIR_SYNC_UNSUPPORTED.has(code)) throw error;
  } finally {
    await handle.close();
  }
}
