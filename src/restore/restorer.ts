/**
 * Restore: recreates a snapshot (or parts of it) below a target directory, bit-exact, with its
 * metadata. Trees are untrusted: names were validated when decoded, nothing is written through a
 * symlink (files are opened O_NOFOLLOW, the snapshot's own symlinks are created last) and an
 * entry already in the target that is a symlink where a directory is needed stops the restore.
 * A file whose blobs fail verification is removed and reported, never left half-written.
 */
import { constants, type Stats } from "node:fs";
import { link, lstat, mkdir, open, rm, symlink } from "node:fs/promises";
import { join } from "node:path";
import { isRempartError, RempartError } from "../errors.js";
import type { Repository, StoredSnapshot } from "../repository/repository.js";
import { applyMetadata, createSpecialNode } from "../snapshot/fs-metadata.js";
import type { TreeNode } from "../snapshot/tree.js";

export interface RestoreProgress {
  readonly files: number;
  readonly bytes: number;
  readonly totalFiles: number;
  readonly totalBytes: number;
}

export interface RestoreOptions {
  readonly target: string;
  /** snapshot paths ("/srv/share/docs") to restore; everything when empty */
  readonly include: readonly string[];
  /** restore uid/gid (needs root) */
  readonly owner: boolean;
  readonly concurrency?: number;
  readonly onProgress?: (progress: RestoreProgress) => void;
  readonly onWarning?: (path: string, message: string) => void;
}

export interface DamagedFile {
  readonly path: string;
  readonly error: string;
}

export interface RestoreResult {
  readonly files: number;
  readonly dirs: number;
  readonly bytes: number;
  readonly damaged: readonly DamagedFile[];
  readonly warnings: number;
}

interface Planned {
  /** absolute destination */
  readonly path: string;
  /** path inside the snapshot, for messages */
  readonly snapshotPath: string;
  readonly node: TreeNode;
}

const PROGRESS_INTERVAL_MS = 250;
/**
 * O_EXCL after unlinking whatever was there: truncating an existing entry in place would write
 * through a hard link or symlink planted in the target to a file outside it.
 */
const WRITE_FLAGS =
  constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

let zeros = new Uint8Array(0);

function isAllZero(data: Uint8Array): boolean {
  if (zeros.length < data.length) zeros = new Uint8Array(data.length);
  return Buffer.from(data.buffer, data.byteOffset, data.length).equals(
    zeros.subarray(0, data.length),
  );
}

function normalizeInclude(path: string): string {
  const trimmed = `/${path}`.replace(/\/+/g, "/").replace(/\/$/, "");
  return trimmed === "" ? "/" : trimmed;
}

/** Whether snapshotPath is selected, or lies on the way to something selected. */
function selection(include: readonly string[], snapshotPath: string): "all" | "ancestor" | "none" {
  if (include.length === 0) return "all";
  let ancestor = false;
  for (const wanted of include) {
    if (wanted === "/" || snapshotPath === wanted || snapshotPath.startsWith(`${wanted}/`))
      return "all";
    if (wanted.startsWith(`${snapshotPath}/`)) ancestor = true;
  }
  return ancestor ? "ancestor" : "none";
}

class Restorer {
  private readonly dirs: Planned[] = [];
  private readonly files: Planned[] = [];
  private readonly deferred: Planned[] = [];
  private readonly damaged: DamagedFile[] = [];
  private readonly zeroBlobs = new Set<string>();
  private readonly include: string[];
  private restoredFiles = 0;
  private restoredBytes = 0;
  private totalBytes = 0;
  private warnings = 0;
  private lastProgress = 0;

  constructor(
    private readonly repo: Repository,
    private readonly options: RestoreOptions,
  ) {
    this.include = options.include.map(normalizeInclude);
  }

  private warn(path: string, message: string): void {
    this.warnings++;
    this.options.onWarning?.(path, message);
  }

  private async plan(treeId: string, dir: string, snapshotDir: string): Promise<boolean> {
    const tree = await this.repo.readTree(treeId);
    let any = false;
    for (const node of tree.nodes) {
      const snapshotPath = `${snapshotDir}/${node.name}`;
      const selected = selection(this.include, snapshotPath);
      if (selected === "none") continue;
      const entry = { path: join(dir, node.name), snapshotPath, node };
      if (node.type === "dir" && node.subtree !== undefined) {
        // Parents are listed before their children, so directories are created top-down.
        const at = this.dirs.push(entry) - 1;
        const found = await this.plan(node.subtree, entry.path, snapshotPath);
        if (selected === "ancestor" && !found) this.dirs.splice(at, 1);
        else any = true;
      } else if (selected === "all") {
        if (node.type === "file") {
          this.files.push(entry);
          this.totalBytes += node.size ?? 0;
        } else this.deferred.push(entry);
        any = true;
      }
    }
    return any;
  }

  /** mkdir that refuses to pass through anything but a real directory. */
  private async makeDirectory(path: string): Promise<void> {
    let stats: Stats | undefined;
    try {
      stats = await lstat(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    if (stats?.isDirectory()) return;
    if (stats)
      throw new RempartError(
        "InvalidArgument",
        `refusing to restore into ${path}: it exists and is not a directory`,
      );
    await mkdir(path, { mode: 0o700 });
  }

  private reportProgress(force = false): void {
    const now = Date.now();
    if (!force && now - this.lastProgress < PROGRESS_INTERVAL_MS) return;
    this.lastProgress = now;
    this.options.onProgress?.({
      files: this.restoredFiles,
      bytes: this.restoredBytes,
      totalFiles: this.files.length,
      totalBytes: this.totalBytes,
    });
  }

  private async writeContent(entry: Planned): Promise<void> {
    await rm(entry.path, { force: true });
    const handle = await open(entry.path, WRITE_FLAGS, 0o600);
    try {
      let position = 0;
      for (const id of entry.node.content ?? []) {
        if (this.zeroBlobs.has(id)) {
          position += this.repo.locate(id).rawLength;
          continue;
        }
        const data = await this.repo.readBlob(id);
        // All-zero chunks become holes, so sparse files come back sparse.
        if (isAllZero(data)) {
          this.zeroBlobs.add(id);
        } else {
          await handle.write(data, 0, data.length, position);
        }
        position += data.length;
        this.restoredBytes += data.length;
        this.reportProgress();
      }
      if (position !== entry.node.size)
        throw new RempartError(
          "RepositoryCorrupt",
          `content of ${entry.snapshotPath} adds up to ${position} bytes, the tree says ${entry.node.size}`,
        );
      await handle.truncate(position);
    } finally {
      await handle.close();
    }
  }

  private async restoreFile(entry: Planned, hardLinks: Map<string, string>): Promise<void> {
    const { node } = entry;
    const linkKey = node.links > 1 ? `${node.device}:${node.inode}` : undefined;
    const first = linkKey === undefined ? undefined : hardLinks.get(linkKey);
    if (first !== undefined) {
      await rm(entry.path, { force: true });
      await link(first, entry.path);
      this.restoredFiles++;
      return;
    }
    try {
      await this.writeContent(entry);
    } catch (error) {
      if (!isRempartError(error, "RepositoryCorrupt")) throw error;
      await rm(entry.path, { force: true });
      this.damaged.push({ path: entry.snapshotPath, error: error.message });
      return;
    }
    if (linkKey !== undefined) hardLinks.set(linkKey, entry.path);
    for (const warning of applyMetadata(entry.path, node, { owner: this.options.owner }))
      this.warn(entry.path, warning);
    this.restoredFiles++;
    this.reportProgress();
  }

  private async restoreFiles(): Promise<void> {
    // Hard-linked files are restored in one lane so the first copy exists before its links.
    const linked = this.files.filter((f) => f.node.links > 1);
    const single = this.files.filter((f) => f.node.links <= 1);
    const hardLinks = new Map<string, string>();
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < single.length) {
        const entry = single[next++] as Planned;
        await this.restoreFile(entry, hardLinks);
      }
    };
    const linkedLane = async (): Promise<void> => {
      for (const entry of linked) await this.restoreFile(entry, hardLinks);
    };
    const lanes = Math.max(1, this.options.concurrency ?? 8);
    await Promise.all([linkedLane(), ...Array.from({ length: lanes }, lane)]);
  }

  private async restoreDeferred(): Promise<void> {
    for (const entry of this.deferred) {
      const { node, path } = entry;
      await rm(path, { force: true });
      if (node.type === "symlink") {
        await symlink(node.target ?? "", path);
      } else {
        const warning = createSpecialNode(path, node);
        if (warning !== undefined) {
          this.warn(path, warning);
          continue;
        }
      }
      for (const warning of applyMetadata(path, node, { owner: this.options.owner }))
        this.warn(path, warning);
    }
  }

  async run(snapshot: StoredSnapshot): Promise<RestoreResult> {
    await mkdir(this.options.target, { recursive: true });
    await this.plan(snapshot.snapshot.tree, this.options.target, "");
    if (
      this.include.length > 0 &&
      this.dirs.length + this.files.length + this.deferred.length === 0
    )
      throw new RempartError(
        "NotFound",
        `nothing in snapshot ${snapshot.id.slice(0, 8)} matches ${this.include.join(", ")}`,
      );
    for (const dir of this.dirs) await this.makeDirectory(dir.path);
    await this.restoreFiles();
    await this.restoreDeferred();
    // Deepest first, so restoring a child does not move its parent's mtime afterwards.
    for (const dir of [...this.dirs].reverse())
      for (const warning of applyMetadata(dir.path, dir.node, { owner: this.options.owner }))
        this.warn(dir.path, warning);
    this.reportProgress(true);
    return {
      files: this.restoredFiles,
      dirs: this.dirs.length,
      bytes: this.restoredBytes,
      damaged: this.damaged,
      warnings: this.warnings,
    };
  }
}

export function restore(
  repo: Repository,
  snapshot: StoredSnapshot,
  options: RestoreOptions,
): Promise<RestoreResult> {
  return new Restorer(repo, options).run(snapshot);
}
