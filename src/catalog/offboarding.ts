/** Offboarding: the scheduled, two-person-cancellable deletion of all of a tenant's data. */
import type { DeletionReason } from "../protocol/constants.js";
import type { AuditNote } from "./audit.js";

export { DELETION_REASONS, type DeletionReason } from "../protocol/constants.js";

/**
 * The deletion of all of a tenant's data (offboarding, contract end). Scheduled by one admin,
 * cancellable by another until `dueAt`, run by the server's deletion job. Never removed: a
 * cancelled or completed deletion stays as history and never changes again.
 */
export interface TenantDeletion {
  /** Increasing, never reused. */
  readonly id: number;
  readonly tenantId: string;
  /** The operator (id) who asked for it. */
  readonly requestedBy: string;
  readonly requestedAt: Date;
  /** Not before: the end of the delay, or the latest `immutableUntil` of the snapshots if later. */
  readonly dueAt: Date;
  readonly reason: DeletionReason;
  /** The second operator (id) who cancelled it; never `requestedBy`. */
  readonly cancelledBy: string | null;
  readonly cancelledAt: Date | null;
  /** When the job marked every snapshot deleted: from then on it cannot be cancelled. */
  readonly startedAt: Date | null;
  /** When the tenant became `deleted`: the end. */
  readonly completedAt: Date | null;
}

export interface NewTenantDeletion {
  readonly tenantId: string;
  readonly requestedBy: string;
  readonly dueAt: Date;
  readonly reason: DeletionReason;
}

/** Tenant deletions, from scheduling to completion. */
export interface OffboardingCatalog {
  /**
   * Schedules the deletion of an active tenant's data and, in the same transaction: the tenant
   * becomes `offboarding`, every agent is revoked, enrollment tokens issued until now stop
   * working for good, and `tenant.delete.schedule` is audited. Refused, changing nothing: tenant
   * not active (`ObjectConflict`, reason `tenant-not-active`); requester not an enabled admin
   * (`InvalidArgument`, `not-admin`); `dueAt` not after `now` (`InvalidArgument`, `not-delayed`)
   * or before the `immutableUntil` of a snapshot not deleted (`InvalidArgument`,
   * `before-immutability`, with `details.until`). The minimum delay is the caller's policy.
   */
  scheduleTenantDeletion(
    deletion: NewTenantDeletion,
    audit: AuditNote,
    now: Date,
  ): Promise<TenantDeletion>;
  /**
   * Cancels the tenant's pending deletion (two-person rule) and makes the tenant `active` again;
   * its agents stay revoked. Audited as `tenant.delete.cancel`. Refused, changing nothing: no
   * pending deletion (`NotFound`, `no-deletion`); `cancelledBy` not an enabled admin
   * (`InvalidArgument`, `not-admin`) or the requester (`InvalidArgument`, `same-operator`);
   * started, or `now >= dueAt` (`ObjectConflict`, `not-cancellable`).
   */
  cancelTenantDeletion(
    tenantId: string,
    cancelledBy: string,
    audit: AuditNote,
    now: Date,
  ): Promise<TenantDeletion>;
  /** The tenant's deletions, cancelled and completed ones included, oldest first. */
  listTenantDeletions(tenantId: string): Promise<TenantDeletion[]>;
  /** Every deletion neither cancelled nor completed, of any tenant, by `dueAt` then id. */
  listPendingTenantDeletions(): Promise<TenantDeletion[]>;
  /**
   * The irreversible step, all at once: marks every snapshot of the tenant deleted and the
   * deletion started; audited as `tenant.delete.start`. Refused with nothing changed
   * (`ObjectConflict`): cancelled or completed (`not-pending`), `now < dueAt` (`not-due`), a
   * snapshot held (`held`) or still immutable (`immutable`, with `details.until`);
   * `details.snapshots` names the snapshots in the way. Again on a started deletion: audited as
   * resumed, nothing else to mark.
   */
  startTenantDeletion(id: number, audit: AuditNote, now: Date): Promise<TenantDeletion>;
  /**
   * The last step, once the caller has removed the tenant's files: forgets the records of its
   * objects (those of its deleted snapshots stay with them), sets the tenant `deleted` and the
   * deletion completed; audited as `tenant.delete.complete`. Refused unless started
   * (`ObjectConflict`, `not-started` or `not-pending` when cancelled). A completed deletion is
   * answered as it is, without a second entry.
   */
  completeTenantDeletion(id: number, audit: AuditNote, now: Date): Promise<TenantDeletion>;
}
