/**
 * Restore drills: an agent restores a sample of its latest snapshot into a scratch folder, checks
 * every file against the snapshot and reports what it found. The server keeps each report as
 * history (never changed nor removed), so coverage can show when restores last worked and how
 * fast, and a failure can be traced back. The server never holds the key: it only records what
 * the agent says, the agent does the restore.
 */
import type { AuditNote } from "./audit.js";

export interface RestoreDrill {
  /** Increasing, never reused. */
  readonly id: number;
  readonly tenantId: string;
  readonly agentId: string;
  /** The snapshot restored (one of the tenant's); null when the drill failed before choosing one. */
  readonly snapshotId: string | null;
  /** The server's receipt time. */
  readonly at: Date;
  readonly ok: boolean;
  /** Files and bytes restored and verified. */
  readonly files: number;
  readonly bytes: number;
  /** Restore and verification, as the agent measured them. */
  readonly durationMs: number;
  /** The first failure in words; null exactly when `ok`. */
  readonly error: string | null;
}

export interface NewRestoreDrill {
  readonly tenantId: string;
  readonly agentId: string;
  readonly snapshotId: string | null;
  readonly ok: boolean;
  readonly files: number;
  readonly bytes: number;
  readonly durationMs: number;
  readonly error: string | null;
}

export interface DrillQuery {
  readonly tenantId?: string;
  readonly limit: number;
}

/** Restore drills as agents report them. */
export interface DrillCatalog {
  /**
   * Records a drill at `now`, audited as `drill.report` in the same transaction. `NotFound` for an
   * unknown tenant, an agent or a snapshot not of that tenant; `InvalidArgument` for counts that
   * are not whole non-negative numbers, or an error that is missing on a failure, given on a
   * success, empty, longer than `MAX_ERROR_LENGTH` or holding control characters.
   */
  recordDrill(drill: NewRestoreDrill, audit: AuditNote, now: Date): Promise<RestoreDrill>;
  /** Newest first, at most `limit` (1 to `MAX_PAGE`). */
  listDrills(query: DrillQuery): Promise<RestoreDrill[]>;
  /** Each agent's newest drill; agents that never reported one are absent. */
  latestDrills(): Promise<ReadonlyMap<string, RestoreDrill>>;
}
