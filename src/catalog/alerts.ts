/**
 * Alerts: what the server raises for an operator to look at, and how each closes. One model for
 * every source (detection, leftover agents, coverage, drills, quota), so that listing, the
 * tenant's red state and delivery read one table. Rows are history: an alert is never removed,
 * and once closed it never changes.
 *
 * An alert closes once, one of two ways: an operator acknowledges it (any kind), or the system
 * resolves it because the condition it reported has cleared (a backup arrived, usage fell below
 * the quota threshold). Only condition alerts may be resolved by the system: a ransomware verdict,
 * a misused credential or a failed drill stays open until a person has looked.
 */
import type { AlertKind, AlertSeverity } from "../protocol/constants.js";
import type { AuditNote } from "./audit.js";

export interface Alert {
  /** Increasing, never reused. */
  readonly id: number;
  readonly tenantId: string;
  /** The agent it is about, if any (an agent of the tenant). */
  readonly agentId: string | null;
  /** The snapshot it is about, if any (a snapshot of the tenant). */
  readonly snapshotId: string | null;
  readonly kind: AlertKind;
  readonly severity: AlertSeverity;
  /** One or a few sentences for the operator. */
  readonly message: string;
  /** Facts for machines (a JSON object, audit-details rules): scores, the held snapshot… */
  readonly details: Readonly<Record<string, unknown>>;
  readonly createdAt: Date;
  /** All three set together, once, by the operator who acknowledged it (an operator id). */
  readonly acknowledgedBy: string | null;
  readonly acknowledgedAt: Date | null;
  readonly acknowledgeReason: string | null;
  /** All three set together, once, when the system saw the condition clear; never with the above. */
  readonly resolvedBy: "system" | null;
  readonly resolvedAt: Date | null;
  readonly resolveReason: string | null;
}

/**
 * Alerts about a condition the server itself re-checks (alerts job): the only ones the system may
 * resolve. Everything else needs an operator's judgement.
 */
export const SELF_RESOLVING_KINDS: readonly AlertKind[] = [
  "backup-stale",
  "backup-failing",
  "quota",
];

export function isSelfResolving(kind: AlertKind): boolean {
  return SELF_RESOLVING_KINDS.includes(kind);
}

export interface NewAlert {
  readonly tenantId: string;
  readonly agentId: string | null;
  readonly snapshotId: string | null;
  readonly kind: AlertKind;
  readonly severity: AlertSeverity;
  readonly message: string;
  readonly details?: Readonly<Record<string, unknown>>;
}

export interface AlertQuery {
  readonly tenantId?: string;
  /** Only open alerts: neither acknowledged nor resolved. */
  readonly open?: boolean;
  /** Alerts with a smaller id: the cursor for the next (older) page. */
  readonly beforeId?: number;
  readonly limit: number;
}

/** Raising, listing and closing alerts. */
export interface AlertCatalog {
  /**
   * Records an alert at `now`, audited as `alert.raise` and queued for delivery to each
   * destination in force for its tenant (delivery.ts), all in the same transaction. `NotFound` for
   * an unknown tenant, or an agent or snapshot not of that tenant; `InvalidArgument` for an
   * unknown kind or severity, or a message that is empty, too long or holds control characters.
   */
  raiseAlert(alert: NewAlert, audit: AuditNote, now: Date): Promise<Alert>;
  getAlert(id: number): Promise<Alert | undefined>;
  /** Newest first. */
  listAlerts(query: AlertQuery): Promise<Alert[]>;
  /** How many alerts each tenant has open; tenants without any are absent. */
  openAlertCounts(): Promise<ReadonlyMap<string, number>>;
  /**
   * Closes an alert: `operatorId` (an operator of the catalog) says why, audited as
   * `alert.acknowledge` in the same transaction. `NotFound` for an unknown alert or operator;
   * `ObjectConflict` (reason `already-acknowledged`, or `already-resolved`) for one closed
   * before, which keeps how it closed; `InvalidArgument` for an empty, too long or multi-line
   * reason.
   */
  acknowledgeAlert(
    id: number,
    operatorId: string,
    reason: string,
    audit: AuditNote,
    now: Date,
  ): Promise<Alert>;
  /**
   * Closes an open alert because its condition cleared, `reason` saying how (one line): resolved
   * by the system, audited as `alert.resolve` and queued as a "resolved" notice to each
   * destination its raise was queued for that is still in force, in the same transaction.
   * `NotFound` for an unknown alert; `ObjectConflict` with reason `already-acknowledged` or
   * `already-resolved` for one closed before (it keeps how it closed), `operator-only` for a kind
   * not in `SELF_RESOLVING_KINDS`; `InvalidArgument` for a bad reason.
   */
  resolveAlert(id: number, reason: string, audit: AuditNote, now: Date): Promise<Alert>;
}
