/**
 * Check: proves that every snapshot can be restored. The structure check walks every tree of
 * every snapshot and confirms each referenced blob is indexed in a pack that exists with the size
 * its index implies. `readData` additionally reads packs, verifies their SHA-256 names and
 * headers, and authenticates and re-hashes every blob. Problems name the pack, the blob and the
 * files that need it.
 */
import { createHash, randomInt } from "node:crypto";
import { isRempartError } from "../errors.js";
import { type PackEntry, packSizeFor } from "../repository/pack.js";
import type { Repository, SkippedObject, StoredSnapshot } from "../repository/repository.js";
import { skipped } from "../repository/untrusted.js";
import type { ObjectInfo } from "../storage/object-store.js";

export interface CheckOptions {
  /** fraction of packs (0..1) whose data is read and verified; 0 for the structure check only */
  readonly readDataFraction: number;
  readonly onProgress?: (message: string) => void;
}

export interface CheckProblem {
  readonly kind:
    | "key"
    | "index"
    | "snapshot"
    | "tree"
    | "missing-blob"
    | "missing-pack"
    | "pack-size"
    | "pack"
    | "blob";
  readonly message: string;
  /** the stored object at fault (key slot, index, snapshot or pack name), when one is */
  readonly object?: string;
  /** the agent that uploaded that object, when the store knows */
  readonly uploadedBy?: string;
  readonly pack?: string;
  readonly blob?: string;
  readonly snapshot?: string;
  /** "snapshot-id:/path" of files that need the damaged or missing blob */
  readonly files?: readonly string[];
}

export interface CheckReport {
  readonly snapshots: number;
  readonly trees: number;
  readonly blobs: number;
  readonly packs: number;
  readonly packsRead: number;
  /** packs no index lists: leftovers of an interrupted backup that the next backup adopts */
  readonly unindexedPacks: readonly string[];
  readonly problems: readonly CheckProblem[];
}

const PROBLEM_KIND = {
  keys: "key",
  index: "index",
  snapshots: "snapshot",
  data: "pack",
  config: "key",
} as const;

/** An object a reader skipped, as a problem naming it (and who uploaded it, when known). */
function problemOf(object: SkippedObject): CheckProblem {
  const by = object.uploadedBy === undefined ? "" : ` (uploaded by agent ${object.uploadedBy})`;
  return {
    kind: PROBLEM_KIND[object.kind],
    object: object.name,
    message: `${object.reason.includes(object.name) ? "" : `${object.kind} object ${object.name}: `}${object.reason}${by}`,
    ...(object.kind === "data" ? { pack: object.name } : {}),
    ...(object.kind === "snapshots" ? { snapshot: object.name } : {}),
    ...(object.uploadedBy === undefined ? {} : { uploadedBy: object.uploadedBy }),
  };
}

class Checker {
  private readonly problems: CheckProblem[] = [];
  private readonly snapshots: StoredSnapshot[] = [];
  private readonly seenTrees = new Set<string>();
  /** blobs with at least one copy read and verified (--read-data) */
  private readonly intactBlobs = new Set<string>();
  /** tree id → why it could not be read */
  private readonly failedTrees = new Map<string, string>();
  private readonly usedBlobs = new Set<string>();
  /** blob → pack, for blobs whose pack an index lists but the store no longer holds */
  private readonly goneBlobs = new Map<string, string>();

  constructor(
    private readonly repo: Repository,
    private readonly options: CheckOptions,
  ) {}

  private problem(problem: CheckProblem): void {
    this.problems.push(problem);
  }

  /**
   * Indexes list packs that may since have gone: collected by the server's GC once no snapshot
   * needed them (it cannot rewrite encrypted indexes), or lost. Only stored packs are indexed;
   * the blobs of the others are remembered so that a snapshot still needing one is reported
   * with the pack it was in. Indexes that fail, or that lie about a pack, are skipped by the
   * repository and reported at the end with everything else it skipped.
   */
  private async loadIndexes(): Promise<ObjectInfo[]> {
    return this.repo.auditIndex((pack) => {
      for (const blob of pack.blobs) this.goneBlobs.set(blob.id, pack.pack);
    });
  }

  /**
   * Packs no index lists are leftovers of an interrupted backup, which the next backup adopts,
   * or uploads of someone else: each must at least be a well-formed pack.
   */
  private async checkUnindexedPacks(unindexed: readonly ObjectInfo[]): Promise<void> {
    for (const info of unindexed) {
      try {
        await this.repo.readPackHeader(info);
      } catch (error) {
        if (!isRempartError(error)) throw error;
        if (error.code === "NotFound") continue;
        this.problem(
          problemOf(
            skipped(
              info,
              `unindexed pack ${info.name} is not a well-formed pack: ${error.message}`,
            ),
          ),
        );
      }
    }
  }

  /**
   * Walks every tree once. `onFile` sees each file that references a blob of interest, for
   * naming affected files once damage is known.
   */
  private async walk(
    treeId: string,
    path: string,
    snapshot: string,
    visit: (blob: string, file: string) => void | Promise<void>,
    seen: Set<string>,
  ): Promise<void> {
    if (seen.has(treeId)) {
      // A root tree that failed for an earlier snapshot fails for this one too: name it, so
      // every snapshot that cannot be restored is listed (forged ones often share a tree).
      const failed = this.failedTrees.get(treeId);
      if (failed !== undefined && path === "" && seen === this.seenTrees)
        this.problem({ kind: "tree", blob: treeId, snapshot, message: `/: ${failed}` });
      return;
    }
    seen.add(treeId);
    let nodes: Awaited<ReturnType<Repository["readTree"]>>["nodes"];
    try {
      if (!(await this.repo.hasBlob(treeId, "tree"))) {
        const pack = this.goneBlobs.get(treeId);
        throw new Error(
          pack
            ? `tree blob ${treeId} was in pack ${pack}, which is no longer stored`
            : `tree blob ${treeId} is not in any index`,
        );
      }
      nodes = (await this.repo.readTree(treeId)).nodes;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.failedTrees.set(treeId, message);
      this.problem({ kind: "tree", blob: treeId, snapshot, message: `${path || "/"}: ${message}` });
      return;
    }
    for (const node of nodes) {
      const child = `${path}/${node.name}`;
      if (node.type === "dir" && node.subtree)
        await this.walk(node.subtree, child, snapshot, visit, seen);
      for (const blob of node.content ?? []) await visit(blob, `${snapshot.slice(0, 8)}:${child}`);
    }
  }

  private async checkStructure(): Promise<void> {
    const missing = new Map<string, string[]>();
    for (const { id, snapshot } of this.snapshots) {
      await this.walk(
        snapshot.tree,
        "",
        id,
        async (blob, file) => {
          this.usedBlobs.add(blob);
          if (!(await this.repo.hasBlob(blob, "data")))
            missing.set(blob, [...(missing.get(blob) ?? []), file]);
        },
        this.seenTrees,
      );
    }
    for (const [blob, files] of missing) {
      const pack = this.goneBlobs.get(blob);
      this.problem({
        kind: "missing-blob",
        blob,
        files,
        ...(pack ? { pack } : {}),
        message: pack
          ? `data blob ${blob} was in pack ${pack}, which is no longer stored`
          : `data blob ${blob} is not in any index`,
      });
    }
  }

  /** Only stored packs are indexed (see loadIndexes); each must have the size its index implies. */
  private async checkPacks(packs: Map<string, ObjectInfo>): Promise<void> {
    for (const [pack, blobs] of await this.repo.indexedPacks()) {
      const info = packs.get(pack);
      if (info === undefined) continue;
      const expected = packSizeFor(blobs);
      if (info.size !== expected)
        this.problem({
          kind: "pack-size",
          pack,
          message: `pack ${pack} is ${info.size} bytes, its index implies ${expected} (truncated or damaged)`,
        });
    }
  }

  /** A whole pack's name (its SHA-256) and its own header, against what the index says of it. */
  private verifyPack(info: ObjectInfo, bytes: Uint8Array, indexed: readonly PackEntry[]): void {
    const hash = createHash("sha256").update(bytes).digest("hex");
    if (hash !== info.name)
      this.problem({
        kind: "pack",
        pack: info.name,
        message: `pack ${info.name} content hashes to ${hash}: the pack is damaged`,
      });
    const claimed = new Map<string, PackEntry>();
    for (const entry of indexed) if (!claimed.has(entry.id)) claimed.set(entry.id, entry);
    let header: PackEntry[];
    try {
      header = this.repo.packHeaderIn(bytes, info.name);
    } catch (error) {
      if (!isRempartError(error)) throw error;
      this.problem({ kind: "pack", pack: info.name, message: error.message });
      return;
    }
    for (const entry of header) {
      const claim = claimed.get(entry.id);
      if (claim && (claim.offset !== entry.offset || claim.length !== entry.length))
        this.problem({
          kind: "index",
          pack: info.name,
          blob: entry.id,
          message: `index entry for blob ${entry.id} disagrees with the header of pack ${info.name}`,
        });
    }
  }

  /** Reads one pack whole and verifies name, header and every blob its index lists. */
  private async readPack(info: ObjectInfo, indexed: readonly PackEntry[]): Promise<void> {
    const blobs = this.repo.packBlobs(info.name, indexed, {
      onWholePack: (bytes) => this.verifyPack(info, bytes, indexed),
    });
    try {
      for await (const blob of blobs) {
        if ("plaintext" in blob) this.intactBlobs.add(blob.location.id);
        else
          this.problem({
            kind: "blob",
            pack: info.name,
            blob: blob.location.id,
            message: blob.error.message,
          });
      }
    } catch (error) {
      if (!isRempartError(error)) throw error;
      // Unreadable as a whole: every file needing it is affected, as for a missing pack.
      this.problem({ kind: "missing-pack", pack: info.name, message: error.message });
    }
  }

  private async readData(packs: Map<string, ObjectInfo>): Promise<number> {
    const fraction = this.options.readDataFraction;
    const indexed = [...(await this.repo.indexedPacks())].filter(([pack]) => packs.has(pack));
    const chosen =
      fraction >= 1 ? indexed : indexed.filter(() => randomInt(1_000_000) < fraction * 1_000_000);
    let done = 0;
    for (const [pack, entries] of chosen) {
      await this.readPack(packs.get(pack) as ObjectInfo, entries);
      this.options.onProgress?.(`read ${++done}/${chosen.length} packs`);
    }
    return chosen.length;
  }

  /**
   * Second walk, only on damage: attaches to each problem the files that need its blob, or for
   * a missing or truncated pack, the files that need any blob in it.
   */
  private async nameAffectedFiles(): Promise<void> {
    const indexedPacks = await this.repo.indexedPacks();
    const blobsOf = (problem: CheckProblem): readonly string[] => {
      // A copy that fails while another verified copy exists (a forged or damaged duplicate)
      // is still named, but no file is affected: readers move on to the intact copy.
      if (problem.kind === "blob" && problem.blob)
        return this.intactBlobs.has(problem.blob) ? [] : [problem.blob];
      if ((problem.kind === "missing-pack" || problem.kind === "pack-size") && problem.pack)
        return (indexedPacks.get(problem.pack) ?? []).map((entry) => entry.id);
      return [];
    };
    const damaged = new Set(this.problems.flatMap(blobsOf));
    if (damaged.size === 0) return;
    const files = new Map<string, string[]>();
    const seen = new Set<string>();
    for (const { id, snapshot } of this.snapshots)
      await this.walk(
        snapshot.tree,
        "",
        id,
        (blob, file) => {
          if (damaged.has(blob)) files.set(blob, [...(files.get(blob) ?? []), file]);
        },
        seen,
      );
    for (const [i, problem] of this.problems.entries()) {
      const affected = [...new Set(blobsOf(problem).flatMap((blob) => files.get(blob) ?? []))];
      if (affected.length > 0) this.problems[i] = { ...problem, files: affected };
    }
  }

  async run(): Promise<CheckReport> {
    const { repo } = this;
    const packs = new Map<string, ObjectInfo>();
    for (const info of await repo.listPacks()) packs.set(info.name, info);
    this.options.onProgress?.("checking key slots");
    await repo.listKeySlots();
    this.options.onProgress?.("loading indexes");
    const unindexed = await this.loadIndexes();
    this.options.onProgress?.("loading snapshots");
    this.snapshots.push(...(await repo.listSnapshots()));
    this.options.onProgress?.("checking trees");
    await this.checkStructure();
    await this.checkPacks(packs);
    await this.checkUnindexedPacks(unindexed);
    const packsRead = this.options.readDataFraction > 0 ? await this.readData(packs) : 0;
    await this.nameAffectedFiles();
    return {
      snapshots: this.snapshots.length,
      trees: this.seenTrees.size,
      blobs: this.usedBlobs.size,
      packs: packs.size,
      packsRead,
      unindexedPacks: unindexed.map((info) => info.name),
      // Everything the repository skipped this session, key slots met while opening included.
      problems: [...repo.skipped.map(problemOf), ...this.problems],
    };
  }
}

export function check(repo: Repository, options: CheckOptions): Promise<CheckReport> {
  return new Checker(repo, options).run();
}
