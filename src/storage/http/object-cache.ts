/**
 * The agent's cache of the small objects every backup reads whole: index and snapshot objects.
 * Through a server each backup otherwise fetched every index object again (2.7 MB for the
 * benchmark share's 57k blobs, ~58 bytes per blob in general), as restic would without its cache.
 *
 * Nothing here is trusted: objects are named by the SHA-256 of their bytes (docs/FORMAT.md), so a
 * cached file is used only when its bytes hash to its name, i.e. when it holds exactly what the
 * server would send; anything else is deleted and fetched again. The cache never answers whether
 * an object exists: the store consults it only for objects the server listed or accepted in this
 * process (http-store.ts), and a complete listing removes the files of objects the server no
 * longer lists. The cached bytes are sealed as they are on the server: reading them needs the
 * repository key, as reading the server's copy does.
 */
import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { contentName, type ObjectKind } from "../object-store.js";

/** The kinds cached: read whole by every open of the repository, small beside the packs. */
export type CachedKind = "index" | "snapshots";

export function isCachedKind(kind: ObjectKind): kind is CachedKind {
  return kind === "index" || kind === "snapshots";
}

export class ObjectCache {
  constructor(readonly dir: string) {}

  /** The cached bytes of `kind/name` when they hash to `name`; a file that does not is removed. */
  async read(kind: CachedKind, name: string): Promise<Uint8Array | undefined> {
    const path = this.path(kind, name);
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch {
      return undefined;
    }
    if (contentName(bytes) === name) return bytes;
    await rm(path, { force: true }).catch(() => undefined);
    return undefined;
  }

  /**
   * Keeps bytes the server sent or accepted as `kind/name` (callers pass only verified names).
   * Written under a temporary name and renamed, so a reader never sees half a file; a cache that
   * cannot be written (full disk, read-only home) only leaves the next backup to fetch again.
   */
  async write(kind: CachedKind, name: string, bytes: Uint8Array): Promise<void> {
    const dir = join(this.dir, kind);
    const temporary = join(dir, `.${randomBytes(8).toString("hex")}.tmp`);
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      await writeFile(temporary, bytes, { mode: 0o600 });
      await rename(temporary, this.path(kind, name));
    } catch {
      await rm(temporary, { force: true }).catch(() => undefined);
    }
  }

  /** Removes the cached objects of `kind` a complete listing no longer names (and stray files). */
  async prune(kind: CachedKind, listed: ReadonlySet<string>): Promise<void> {
    const dir = join(this.dir, kind);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return;
    }
    for (const name of names)
      if (!listed.has(name)) await rm(join(dir, name), { force: true }).catch(() => undefined);
  }

  private path(kind: CachedKind, name: string): string {
    return join(this.dir, kind, name);
  }
}
