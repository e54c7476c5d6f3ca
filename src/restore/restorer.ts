/**
 * Restore: recreates a snapshot (or parts of it) below a target directory, bit-exact, with its
 * metadata. Trees are untrusted: names were validated when decoded, nothing is written through a
 * symlink (files are opened O_NOFOLLOW, the snapshot's own symlinks are created last) and an
 * entry already in the target that is a symlink where a directory is needed stops the restore.
 * A file whose blobs fail verification is removed and reported, never left half-written.
 */
import type { Stats } from "node:fs";
import { link, lstat, mkdir, rm, symlink } from "node:fs/promises";
import { RempartError } from "../errors.js";
import type { Repository, StoredSnapshot } from "../repository/repository.js";
import { applyMetadata, createSpecialNode } from "../snapshot/fs-metadata.js";
import { childPath, type TreeNode } from "../snapshot/tree.js";
import { writeContents } from "./content-writer.js";

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
      const entry = { path: childPath(dir, node.name), snapshotPath, node };
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

  private finishFile(entry: Planned, error: string | undefined): void {
    if (error !== undefined) {
      this.damaged.push({ path: entry.snapshotPath, error });
      return;
    }
    for (const warning of applyMetadata(entry.path, entry.node, { owner: this.options.owner }))
      this.warn(entry.path, warning);
    this.restoredFiles++;
    this.reportProgress();
  }

  private async restoreFiles(): Promise<void> {
    // Files sharing an inode in the snapshot are written once and linked afterwards.
    const firstOfInode = new Map<string, Planned>();
    const links: { entry: Planned; first: Planned }[] = [];
    const byPath = new Map<string, Planned>();
    for (const entry of this.files) {
      const key = entry.node.links > 1 ? `${entry.node.device}:${entry.node.inode}` : undefined;
      const first = key === undefined ? undefined : firstOfInode.get(key);
      if (first) links.push({ entry, first });
      else {
        if (key !== undefined) firstOfInode.set(key, entry);
        byPath.set(entry.path, entry);
      }
    }
    const targets = [...byPath.values()].map((entry) => ({
      path: entry.path,
      size: entry.node.size ?? 0,
      content: entry.node.content ?? [],
    }));
    await writeContents(this.repo, targets, {
      onFileDone: (target, error) => this.finishFile(byPath.get(target.path) as Planned, error),
      onBytes: (bytes) => {
        this.restoredBytes += bytes;
        this.reportProgress();
      },
    });
    const damaged = new Set(this.damaged.map((d) => d.path));
    for (const { entry, first } of links) {
      if (damaged.has(first.snapshotPath)) {
        this.damaged.push({
          path: entry.snapshotPath,
          error: `hard link to damaged ${first.snapshotPath}`,
        });
        continue;
      }
      await rm(entry.path, { force: true });
      await link(first.path, entry.path);
      this.restoredFiles++;
    }
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
