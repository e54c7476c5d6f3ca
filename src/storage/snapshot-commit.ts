/**
 * A snapshot is committed, not merely put: it is refused unless every pack it needs is present,
 * and a server records the pack list so that garbage collection never needs tenant keys. That is
 * a protocol concern, not storage: a store holds bytes, a committer decides whether a snapshot
 * may join them. A Rempart server commits (HttpObjectStore sends the commit route); any other
 * store is committed to by checking its packs, then putting the snapshot (`CheckedCommitter`).
 */
import type { DetectionSummary } from "../detection/summary.js";
import { RempartError } from "../errors.js";
import type { ObjectStore, PutOutcome } from "./object-store.js";

export interface SnapshotCommit {
  /** SHA-256 hex of `bytes` */
  readonly name: string;
  readonly bytes: Uint8Array;
  /** every pack (data and tree) the snapshot references */
  readonly packs: readonly string[];
  /** the committing machine's clock; informational, never used for retention */
  readonly claimedTime: string;
  /** total size of the files in the snapshot, for accounting (the server cannot read it) */
  readonly logicalBytes?: number;
  /** the agent's ransomware verdict and signals: counts and extensions, never names or paths */
  readonly detection?: DetectionSummary;
}

export interface SnapshotCommitter {
  /**
   * Stores a snapshot object after checking that every listed pack exists; `NotFound` (with the
   * missing names in `details.missing`) otherwise. Write-once like `ObjectStore.put`.
   */
  commitSnapshot(commit: SnapshotCommit): Promise<PutOutcome>;
}

/** Commits into a store that holds every object itself: stat each pack, then put. */
export class CheckedCommitter implements SnapshotCommitter {
  constructor(private readonly store: ObjectStore) {}

  async commitSnapshot(commit: SnapshotCommit): Promise<PutOutcome> {
    const missing: string[] = [];
    for (const pack of commit.packs)
      if (!(await this.store.stat({ kind: "data", name: pack }))) missing.push(pack);
    if (missing.length > 0)
      throw new RempartError(
        "NotFound",
        `snapshot ${commit.name} refused: ${missing.length} pack(s) it needs are not stored (first: ${missing[0]})`,
        { missing },
      );
    return this.store.put({ kind: "snapshots", name: commit.name }, commit.bytes);
  }
}

/** The store's own committer when it has one (a server's), else a `CheckedCommitter` over it. */
export function committerFor(store: ObjectStore): SnapshotCommitter {
  return isCommitter(store) ? store : new CheckedCommitter(store);
}

function isCommitter(store: ObjectStore): store is ObjectStore & SnapshotCommitter {
  return typeof (store as Partial<SnapshotCommitter>).commitSnapshot === "function";
}
