/**
 * Alerts: what the server raises for an operator to look at, and their acknowledgement. One model
 * for every source (detection now; leftover agents, coverage, drills and quota in issue 11), so
 * that listing, the tenant's red state and delivery read one table. Rows are history: an alert is
 * never removed, and once acknowledged it never changes.
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
  /** Only alerts not yet acknowledged. */
  readonly open?: boolean;
  /** Alerts with a smaller id: the cursor for the next (older) page. */
  readonly beforeId?: number;
  readonly limit: number;
}

/** Raising, listing and acknowledging alerts. */
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
   * `ObjectConflict` (reason `already-acknowledged`) for one acknowledged before, which keeps
   * its first acknowledgement; `InvalidArgument` for an empty, too long or multi-line reason.
   */
  acknowledgeAlert(
    id: number,
    operatorId: string,
    reason: string,
    audit: AuditNote,
    now: Date,
  ): Promise<Alert>;
}
