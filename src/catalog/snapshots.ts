/** The server's records of committed snapshots and the packs each one needs. */
import type { DetectionVerdict } from "../protocol/constants.js";

export const SNAPSHOT_STATES = ["active", "held", "deleted"] as const;
export type SnapshotState = (typeof SNAPSHOT_STATES)[number];

/** The server's record of a committed snapshot; `id` is the name of its `snapshots` object. */
export interface SnapshotRecord {
  readonly tenantId: string;
  readonly id: string;
  readonly agentId: string;
  /** The server's receipt time: the only time retention and immutability are computed from. */
  readonly committedAt: Date;
  /** What the agent says; kept to show and to flag skew, never trusted. */
  readonly claimedTime: Date;
  /** `committedAt + immutableDays` of the tenant at commit; nobody can delete it before then. */
  readonly immutableUntil: Date;
  /** `active` ⇄ `held`; `active` → `deleted` (final). A held snapshot must be released first. */
  readonly state: SnapshotState;
  /** Marked by an operator or a detection as a clean restore point (retention's known-good rule). */
  readonly knownGood: boolean;
  /** Size of the snapshot's files as its agent reported it: accounting only, never trusted. */
  readonly logicalBytes: number | null;
  /** The server's judgement of the commit (src/server/detection/); null before detection existed. */
  readonly detection: SnapshotDetection | null;
}

/**
 * A commit's verdict and what it was judged from. The verdict is the worse of the agent's and the
 * server's own; `signals` is a JSON object of counts and extensions (the agent's summary and the
 * server's own measures), never a file name or path: `MAX_DETECTION_SIGNALS_BYTES` at most.
 */
export interface SnapshotDetection {
  readonly verdict: DetectionVerdict;
  /** 0 to 100 */
  readonly score: number;
  readonly reasons: readonly string[];
  readonly signals: Readonly<Record<string, unknown>>;
}

export interface NewSnapshot {
  readonly tenantId: string;
  readonly id: string;
  readonly agentId: string;
  readonly claimedTime: Date;
  /** Names of the `data` objects (packs) the snapshot needs; each must be recorded already. */
  readonly packs: readonly string[];
  /**
   * When given, a pack recorded after this time counts as missing: the caller checked the packs'
   * files before then, and a record made since may be a re-upload of a pack GC was removing at
   * that moment (docs/GC.md). The commit route passes the time it started checking.
   */
  readonly packsRecordedBy?: Date;
  readonly logicalBytes?: number;
  readonly detection?: SnapshotDetection;
}

/** Committing and reading snapshot records. */
export interface SnapshotCatalog {
  /**
   * Records a committed snapshot at `now`. Refused with `NotFound` (and `details.missing`) unless
   * its `snapshots` object and every pack are recorded for the tenant (a pack a quarantine hides
   * counts as missing), and the agent belongs to
   * the tenant; an id already recorded for the tenant fails `ObjectConflict`; a tenant no longer
   * active fails `InvalidArgument` (reason `tenant-inactive`), so that a commit racing an
   * offboarding cannot add a snapshot to a deletion in progress.
   */
  recordSnapshot(snapshot: NewSnapshot, now: Date): Promise<SnapshotRecord>;
  getSnapshot(tenantId: string, id: string): Promise<SnapshotRecord | undefined>;
  /** Every state, by `committedAt` then id. */
  listSnapshots(tenantId: string): Promise<SnapshotRecord[]>;
  /** The agent's newest `limit` (1 to `MAX_PAGE`) snapshots, every state, oldest first. */
  listAgentSnapshots(tenantId: string, agentId: string, limit: number): Promise<SnapshotRecord[]>;
  /** Sorted; `NotFound` for an unknown snapshot. */
  listSnapshotPacks(tenantId: string, id: string): Promise<string[]>;
}
