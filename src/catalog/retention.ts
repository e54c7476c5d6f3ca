/** Retention and holds: what keeps a snapshot, and the moves of a snapshot between states. */
import type { SnapshotRecord, SnapshotState } from "./snapshots.js";

/** What retention keeps (evaluated by src/server/retention/policy.ts). */
export interface RetentionRules {
  /** keep every snapshot committed within this many days */
  readonly keepWithinDays: number;
  readonly keepDaily: number;
  readonly keepWeekly: number;
  readonly keepMonthly: number;
  readonly keepYearly: number;
  /** keep the newest known-good snapshot committed at least this many days ago (0: off) */
  readonly knownGoodAfterDays: number;
}

/** A tenant's policy (`agentId` null) or one agent's override of it. */
export interface PolicyRecord {
  readonly tenantId: string;
  readonly agentId: string | null;
  readonly rules: RetentionRules;
  readonly updatedAt: Date;
}

/** Snapshot states, known-good marks and retention policies. */
export interface RetentionCatalog {
  /**
   * Moves a snapshot between states. Refused (`ObjectConflict`, `details.reason`): leaving
   * `deleted` (`deleted-is-final`), deleting a held snapshot (`held`), deleting before
   * `immutableUntil` (`immutable`).
   */
  setSnapshotState(
    tenantId: string,
    id: string,
    state: SnapshotState,
    now: Date,
  ): Promise<SnapshotRecord>;
  /** Idempotent; `ObjectConflict` (reason `deleted-is-final`) for a deleted snapshot. */
  markSnapshotKnownGood(tenantId: string, id: string): Promise<SnapshotRecord>;

  /**
   * Sets the tenant's policy (`agentId` null) or an agent's override, replacing the one there.
   * `NotFound` for an unknown tenant or an agent of another tenant; `InvalidArgument` for counts
   * that are not whole numbers in range, or rules that keep nothing.
   */
  setRetentionPolicy(
    tenantId: string,
    agentId: string | null,
    rules: RetentionRules,
    now: Date,
  ): Promise<PolicyRecord>;
  /** The tenant's policy first (if set), then agent overrides by agent id. */
  listRetentionPolicies(tenantId: string): Promise<PolicyRecord[]>;
}
