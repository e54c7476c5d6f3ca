/**
 * Restore: recreates a snapshot (or parts of it) below a target directory, bit-exact, with its
 * metadata. Trees are untrusted: names were validated when decoded, nothing is written through a
 * symlink (files are opened O_NOFOLLOW, the snapshot's own symlinks are created after the files of
 * their batch) and an entry already in the target that is not a directory where one is needed
 * is never passed through: that directory is refused, like one the target cannot create. A file whose blobs fail verification everywhere the index knows them is
 * removed and reported, never left half-written. An entry the target refuses (a path past its
 * length limit, a name or size its filesystem cannot hold, a permission: see refusal in
 * target-files.ts) is reported with its reason, with nothing below it when it is a directory,
 * and the restore goes on; a full, read-only or failing target stops it.
 *
 * Memory does not grow with the snapshot: trees are walked depth-first and their entries
 * gathered into batches of at most BATCH_FILES files (BATCH_BLOBS blobs), each restored part by
 * part while the walk collects and plans the next one: at most two batches at once, and the
 * workers need not wait for the walk between them. What outlives a batch is one entry per
 * directory on the current path and one per file with more than one link (to link its other
 * names to it).
 *
 * Running a restore again onto the same target (after it was interrupted, say) rewrites every
 * file, link and special file and reuses existing directories; see RESUME_POLICY.
 */
import { chmodSync, lstatSync, mkdirSync, statfsSync } from "node:fs";
import { link, mkdir, rm, symlink } from "node:fs/promises";
import { isRempartError, RempartError } from "../errors.js";
import type { Repository, StoredSnapshot } from "../repository/repository.js";
import { fsPath } from "../snapshot/filename.js";
import { applyMetadata, createSpecialNode } from "../snapshot/fs-metadata.js";
import { childPath, type TreeNode } from "../snapshot/tree.js";
import { type ContentTarget, ContentWriter, type FileOutcome } from "./content-writer.js";
import { filesPerWorker, softOpenFileLimit } from "./open-files.js";
import { refusal } from "./target-files.js";

export interface RestoreProgress {
  readonly files: number;
  readonly bytes: number;
  /** what the snapshot holds, when the whole snapshot is restored */
  readonly totalFiles?: number;
  readonly totalBytes?: number;
}

export interface RestoreOptions {
  readonly target: string;
  /** snapshot paths ("/srv/share/docs") to restore; everything when empty */
  readonly include: readonly string[];
  /** restore uid/gid (needs root) */
  readonly owner: boolean;
  readonly onProgress?: (progress: RestoreProgress) => void;
  readonly onWarning?: (path: string, message: string) => void;
  /** the soft open-file limit; read from the system when not given */
  readonly openFileLimit?: number;
}

export interface DamagedFile {
  readonly path: string;
  readonly error: string;
}

/** An entry of the snapshot the target refused (see refusal in target-files.ts). */
export interface RefusedEntry {
  readonly path: string;
  readonly error: string;
}

export interface RestoreResult {
  readonly files: number;
  readonly dirs: number;
  readonly bytes: number;
  readonly damaged: readonly DamagedFile[];
  /** not restored because the target refused them; a directory's entries below it are not listed */
  readonly refused: readonly RefusedEntry[];
  readonly warnings: number;
}

/** For the CLI's help: what a second restore onto the same target does. */
export const RESUME_POLICY =
  "Run again onto the same target (after an interruption, say), restore rewrites every file, " +
  "link and special file from the snapshot and reuses existing directories: an interrupted run " +
  "can leave a file of any size and time, so only its content could prove it complete, and " +
  "reading it back costs about what rewriting it does.";

/**
 * Bounds of one batch. 2,048 small files are still a pack's worth of work or more per batch (and
 * a part is at most 2 MiB of a pack, so a pack split between batches costs few extra reads) in
 * about a MB of entries; 16,384 blob ids bound the entries of large files. Two batches are held at
 * once (one written, the next collected and planned): measured on the benchmark restore, batches
 * of 8,192 files cost ~18 MB more peak RSS that way than one batch did, batches of 2,048 none.
 * A batch always takes at least one whole file, however many blobs it has.
 */
const BATCH_FILES = 2048;
const BATCH_BLOBS = 16_384;
/** Directories finished and awaiting their metadata count towards the batch too. */
const BATCH_ENTRIES = 4096;

interface Entry {
  /** absolute destination */
  readonly path: string;
  /** path inside the snapshot, for messages */
  readonly snapshotPath: string;
  readonly node: TreeNode;
}

/** A directory on the current path of the walk; created only once something below it is. */
interface DirFrame {
  readonly entry: Entry | undefined;
  readonly parent: DirFrame | undefined;
  created: boolean;
  /** the target refused it (or a directory above it): nothing below it is restored */
  refused?: true;
}

/** The first restored name of a file with several links, which its other names link to. */
interface LinkedFile {
  readonly path: string;
  readonly snapshotPath: string;
  damaged: boolean;
  /** the target refused it */
  refused: boolean;
}

interface Batch {
  /** files whose content this batch writes */
  contents: Entry[];
  /** names of files restored earlier (or in this batch), linked once their content is written */
  links: { entry: Entry; first: LinkedFile }[];
  /** symlinks and special files, created after the batch's files */
  deferred: Entry[];
  /** directories whose whole subtree is in this batch or earlier ones, deepest first */
  closedDirs: Entry[];
  blobs: number;
}

const PROGRESS_INTERVAL_MS = 250;
const NO_SPACE = new Set(["ENOSPC", "EDQUOT"]);

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

function emptyBatch(): Batch {
  return { contents: [], links: [], deferred: [], closedDirs: [], blobs: 0 };
}

function errnoOf(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === "string" ? code : undefined;
}

function formatSize(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

class Restorer {
  private readonly damaged: DamagedFile[] = [];
  private readonly refused: RefusedEntry[] = [];
  private readonly include: string[];
  private readonly linked = new Map<string, LinkedFile>();
  private batch = emptyBatch();
  private writer: ContentWriter | undefined;
  private restoredFiles = 0;
  private restoredBytes = 0;
  private dirs = 0;
  private selected = 0;
  private warnings = 0;
  private lastProgress = 0;
  private totals: { files?: number; bytes?: number } = {};
  private filesPerWorker = 1;
  /** the batch being written while the walk collects the next one */
  private writing: Promise<void> | undefined;

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

  /** Returns false when the directory's listing was damaged (see listing). */
  private async walk(treeId: string, frame: DirFrame, snapshotDir: string): Promise<boolean> {
    const read = { damaged: false };
    // A huge directory's listing is read piece by piece (readListing), and each blob from its next
    // location when one fails verification.
    const dir = frame.entry?.path ?? this.options.target;
    for await (const piece of this.listing(treeId, snapshotDir, read))
      for (const node of piece.nodes) {
        if (frame.refused) return true;
        const snapshotPath = `${snapshotDir}/${node.name}`;
        const selected = selection(this.include, snapshotPath);
        if (selected === "none") continue;
        const entry = { path: childPath(dir, node.name), snapshotPath, node };
        if (node.type === "dir" && node.subtree !== undefined) {
          const child: DirFrame = { entry, parent: frame, created: false };
          const intact = await this.walk(node.subtree, child, snapshotPath);
          // Created with its first entry, or now when it is empty: a tree that fails to decode
          // leaves nothing of its directory behind.
          if (selected === "all") {
            this.selected++;
            if (intact) this.ensureCreated(child);
          }
          // Post-order: a directory is closed after everything below it, so deepest first.
          if (child.created) {
            this.batch.closedDirs.push(entry);
            if (this.batchFull()) await this.flush();
          }
        } else if (selected === "all") {
          this.selected++;
          if (!this.ensureCreated(frame)) return true;
          if (node.type === "file") this.addFile(entry);
          else this.batch.deferred.push(entry);
          if (this.batchFull()) await this.flush();
        }
      }
    return !read.damaged;
  }

  /**
   * A directory's listing, piece by piece. One that cannot be read anywhere is damage to that
   * directory alone: reported, with nothing below it (or past the failing piece) restored, and the
   * walk goes on with its siblings.
   */
  private async *listing(
    treeId: string,
    snapshotDir: string,
    read: { damaged: boolean },
  ): AsyncGenerator<{ readonly nodes: readonly TreeNode[] }> {
    try {
      yield* this.repo.readListing(treeId);
    } catch (error) {
      if (!isRempartError(error, "RepositoryCorrupt") && !isRempartError(error, "NotFound"))
        throw error;
      read.damaged = true;
      this.damaged.push({
        path: snapshotDir || "/",
        error: `its listing cannot be read (${error.message}): nothing below it is restored`,
      });
    }
  }

  private addFile(entry: Entry): void {
    const { node } = entry;
    // Files sharing an inode in the snapshot are written once and linked afterwards.
    if (node.links > 1) {
      const key = `${node.device}:${node.inode}`;
      const first = this.linked.get(key);
      if (first) {
        this.batch.links.push({ entry, first });
        return;
      }
      this.linked.set(key, {
        path: entry.path,
        snapshotPath: entry.snapshotPath,
        damaged: false,
        refused: false,
      });
    }
    this.batch.contents.push(entry);
    this.batch.blobs += node.content?.length ?? 0;
  }

  /**
   * Creates the frame's directory and those above it not yet made; false when the target refused
   * one of them (reported once, for the highest: what is below it is not restored).
   */
  private ensureCreated(frame: DirFrame): boolean {
    if (frame.created) return true;
    if (frame.refused) return false;
    if (frame.parent && !this.ensureCreated(frame.parent)) {
      frame.refused = true;
      return false;
    }
    const { entry } = frame;
    if (entry)
      try {
        this.makeDirectory(entry.path);
      } catch (error) {
        this.refuse(entry, error, "; nothing below it is restored");
        frame.refused = true;
        return false;
      }
    frame.created = true;
    this.dirs++;
    return true;
  }

  /** Reports the target's refusal of an entry; throws an error that is not that entry's alone. */
  private refuse(entry: Entry, error: unknown, consequence = ""): void {
    const reason = refusal(error);
    if (reason === undefined) throw error;
    this.refused.push({ path: entry.snapshotPath, error: `${reason}${consequence}` });
  }

  /**
   * mkdir that refuses to pass through anything but a real directory. mkdir first: into a fresh
   * target it succeeds, where an lstat first failed for every directory, each failure a thrown
   * error (mkdir never follows a symlink in its last component: EEXIST). Synchronous: a mkdir
   * takes microseconds, less than a round trip through libuv's thread pool and the event loop,
   * which the walk shares with the batch being written.
   */
  private makeDirectory(path: string): void {
    const name = fsPath(path);
    try {
      mkdirSync(name, { mode: 0o700 });
      return;
    } catch (error) {
      if (errnoOf(error) !== "EEXIST") throw error;
    }
    const stats = lstatSync(name);
    if (stats.isDirectory()) {
      // Left by an earlier restore with its final mode, which may forbid writing into it; the
      // directory's own metadata is applied again once its contents are restored.
      if ((stats.mode & 0o700) !== 0o700) chmodSync(name, (stats.mode & 0o7777) | 0o700);
      return;
    }
    // The target's refusal of this directory (see refusal): nothing goes through it.
    throw Object.assign(
      new Error(`${path} exists and is not a directory: nothing is restored through it`),
      { code: "ENOTDIR" },
    );
  }

  private reportProgress(force = false): void {
    const now = Date.now();
    if (!force && now - this.lastProgress < PROGRESS_INTERVAL_MS) return;
    this.lastProgress = now;
    this.options.onProgress?.({
      files: this.restoredFiles,
      bytes: this.restoredBytes,
      ...(this.totals.files === undefined ? {} : { totalFiles: this.totals.files }),
      ...(this.totals.bytes === undefined ? {} : { totalBytes: this.totals.bytes }),
    });
  }

  /** Checked before awaiting a flush: an await per entry made a promise per file. */
  private batchFull(): boolean {
    const { contents, links, deferred, closedDirs, blobs } = this.batch;
    const files = contents.length + links.length + deferred.length;
    return (
      files >= BATCH_FILES || blobs >= BATCH_BLOBS || files + closedDirs.length >= BATCH_ENTRIES
    );
  }

  /**
   * Plans the batch while the previous one is written, then hands it to the writer and returns:
   * the walk collects the next batch while this one is written. At most one batch is written and
   * one collected (or planned) at a time.
   */
  private async flush(): Promise<void> {
    const batch = this.batch;
    this.batch = emptyBatch();
    const contents = await this.prepareContents(batch.contents);
    await this.settleWriting();
    const writing = (async () => {
      await contents?.write();
      await this.finishBatch(batch);
    })();
    // Awaited by settleWriting; until then a failure must not count as unhandled.
    writing.catch(() => {});
    this.writing = writing;
  }

  /** Waits for the batch being written; throws its failure. */
  private async settleWriting(): Promise<void> {
    const writing = this.writing;
    this.writing = undefined;
    await writing;
  }

  /** Once a batch's contents are written: its links, symlinks, special files and directories. */
  private async finishBatch(batch: Batch): Promise<void> {
    for (const { entry, first } of batch.links) {
      if (first.damaged) {
        this.damaged.push({
          path: entry.snapshotPath,
          error: `hard link to damaged ${first.snapshotPath}`,
        });
        continue;
      }
      if (first.refused) {
        this.refused.push({
          path: entry.snapshotPath,
          error: `hard link to ${first.snapshotPath}, which the target refused`,
        });
        continue;
      }
      try {
        await rm(fsPath(entry.path), { force: true });
        await link(fsPath(first.path), fsPath(entry.path));
        this.restoredFiles++;
      } catch (error) {
        this.refuse(entry, error);
      }
    }
    for (const entry of batch.deferred)
      try {
        await this.restoreDeferred(entry);
      } catch (error) {
        this.refuse(entry, error);
      }
    // Deepest first, so restoring a child does not move its parent's mtime afterwards.
    for (const dir of batch.closedDirs)
      for (const warning of applyMetadata(dir.path, dir.node, { owner: this.options.owner }))
        this.warn(dir.path, warning);
    this.reportProgress();
  }

  private async prepareContents(
    entries: readonly Entry[],
  ): Promise<{ write(): Promise<void> } | undefined> {
    if (entries.length === 0) return undefined;
    const byTarget = new Map<ContentTarget, Entry>();
    const { owner } = this.options;
    for (const entry of entries) {
      const { path, node } = entry;
      const size = node.size ?? 0;
      const content = node.content ?? [];
      // Extended attributes are set by path (applyMetadata); everything else by descriptor.
      const target: ContentTarget =
        node.xattrs !== undefined && node.xattrs.length > 0
          ? { path, size, content }
          : {
              path,
              size,
              content,
              metadata: {
                mode: node.mode,
                uid: node.uid,
                gid: node.gid,
                atimeMs: node.atimeMs,
                mtimeMs: node.mtimeMs,
                owner,
              },
            };
      byTarget.set(target, entry);
    }
    this.writer ??= ContentWriter.start(this.repo, this.filesPerWorker);
    return this.writer.prepare([...byTarget.keys()], {
      onFileDone: (target, outcome) => {
        const entry = byTarget.get(target) as Entry;
        this.finishFile(entry, outcome, target.metadata !== undefined);
      },
      onBytes: (bytes) => {
        this.restoredBytes += bytes;
        this.reportProgress();
      },
    });
  }

  /** `metadataSet`: the writer has set the file's metadata (its warning says what it could not). */
  private finishFile(entry: Entry, outcome: FileOutcome, metadataSet: boolean): void {
    const { damaged, refused, warning } = outcome;
    if (damaged !== undefined || refused !== undefined) {
      if (damaged !== undefined) this.damaged.push({ path: entry.snapshotPath, error: damaged });
      else this.refused.push({ path: entry.snapshotPath, error: refused as string });
      const { node } = entry;
      const first = node.links > 1 ? this.linked.get(`${node.device}:${node.inode}`) : undefined;
      if (first && damaged !== undefined) first.damaged = true;
      else if (first) first.refused = true;
      return;
    }
    if (!metadataSet)
      for (const message of applyMetadata(entry.path, entry.node, { owner: this.options.owner }))
        this.warn(entry.path, message);
    else if (warning !== undefined) this.warn(entry.path, warning);
    this.restoredFiles++;
    this.reportProgress();
  }

  private async restoreDeferred(entry: Entry): Promise<void> {
    const { node, path } = entry;
    await rm(fsPath(path), { force: true });
    if (node.type === "symlink") {
      await symlink(fsPath(node.target ?? ""), fsPath(path));
    } else {
      const warning = createSpecialNode(path, node);
      if (warning !== undefined) {
        this.warn(path, warning);
        return;
      }
    }
    for (const warning of applyMetadata(path, node, { owner: this.options.owner }))
      this.warn(path, warning);
  }

  /** A full target as a sentence: where, how much the snapshot needs, how much there was. */
  private noSpace(cause: unknown): RempartError {
    const { target } = this.options;
    let space = "";
    try {
      const fs = statfsSync(fsPath(target));
      space = `; the filesystem has ${formatSize(fs.bavail * fs.bsize)} free of ${formatSize(fs.blocks * fs.bsize)}`;
    } catch {
      // The size is a courtesy: the message stands without it.
    }
    const needed =
      this.totals.bytes === undefined
        ? ""
        : `; the snapshot holds ${formatSize(this.totals.bytes)} of file data`;
    return new RempartError(
      "StorageFull",
      `not enough space to restore into ${target}: ${formatSize(this.restoredBytes)} restored before it filled up${needed}${space}. Files restored so far are complete; the ones being written were removed. Free space, or restore onto a larger target.`,
      { target, errno: errnoOf(cause) ?? "ENOSPC" },
    );
  }

  async run(snapshot: StoredSnapshot): Promise<RestoreResult> {
    if (this.include.length === 0)
      this.totals = {
        files: snapshot.snapshot.summary.totalFiles,
        bytes: snapshot.snapshot.summary.totalBytes,
      };
    // Before anything is written: a limit too low for any restore is refused up front.
    this.filesPerWorker = filesPerWorker(
      this.options.openFileLimit ?? softOpenFileLimit(),
      ContentWriter.workerCount,
    );
    try {
      await mkdir(fsPath(this.options.target), { recursive: true });
      const root: DirFrame = { entry: undefined, parent: undefined, created: true };
      await this.walk(snapshot.snapshot.tree, root, "");
      await this.flush();
      await this.settleWriting();
    } catch (error) {
      if (isRempartError(error, "StorageFull") || NO_SPACE.has(errnoOf(error) ?? ""))
        throw this.noSpace(error);
      if (isRempartError(error)) throw error;
      const code = errnoOf(error);
      if (code === undefined) throw error;
      throw new RempartError(
        "Io",
        `restoring into ${this.options.target}: ${(error as Error).message}`,
        { errno: code },
      );
    } finally {
      // A failed walk leaves a batch being written: its workers finish it before they stop.
      await this.writing?.catch(() => {});
      await this.writer?.close();
    }
    if (this.include.length > 0 && this.selected === 0 && this.damaged.length === 0)
      throw new RempartError(
        "NotFound",
        `nothing in snapshot ${snapshot.id.slice(0, 8)} matches ${this.include.join(", ")}`,
      );
    this.reportProgress(true);
    return {
      files: this.restoredFiles,
      dirs: this.dirs,
      bytes: this.restoredBytes,
      damaged: this.damaged,
      refused: this.refused,
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
