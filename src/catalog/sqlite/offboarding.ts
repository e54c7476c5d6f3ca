/**
 * Tenant deletions in SQLite: the `tenant_deletions` table and the steps that change
 * the tenant, its agents, snapshots and objects with it, each in one transaction.
 */
import { RempartError } from "../../errors.js";
import type { AuditNote } from "../audit.js";
import type { NewTenantDeletion, OffboardingCatalog, TenantDeletion } from "../offboarding.js";
import { checkDeletionReason, checkTime } from "../validation.js";
import { revokeAgentsOf } from "./agents.js";
import { auditStep, checkAuditNote } from "./audit.js";
import { iso, notFound, type SqliteDb } from "./db.js";
import { operatorRow, pendingDeletion, tenantRow } from "./lookups.js";
import { DELETION_COLUMNS, type DeletionRow, type OperatorRow, toTenantDeletion } from "./rows.js";

export class SqliteOffboarding implements OffboardingCatalog {
  constructor(private readonly db: SqliteDb) {}

  async scheduleTenantDeletion(
    deletion: NewTenantDeletion,
    audit: AuditNote,
    now: Date,
  ): Promise<TenantDeletion> {
    const at = checkTime("now", now);
    const dueAt = checkTime("dueAt", deletion.dueAt);
    const reason = checkDeletionReason(deletion.reason);
    const note = checkAuditNote(audit);
    if (dueAt <= at)
      throw new RempartError("InvalidArgument", "a deletion must be due after it is requested", {
        field: "dueAt",
        reason: "not-delayed",
      });
    return this.db.write(() => {
      const tenant = tenantRow(this.db, deletion.tenantId) ?? notFound("tenant", deletion.tenantId);
      if (tenant.status !== "active") {
        const pending = pendingDeletion(this.db, tenant.id);
        throw new RempartError(
          "ObjectConflict",
          pending === undefined
            ? `tenant ${tenant.name} is ${tenant.status}`
            : `the deletion of tenant ${tenant.name} is already scheduled, due at ${iso(pending.due_at)}`,
          { reason: "tenant-not-active", status: tenant.status },
        );
      }
      const requester = enabledAdmin(this.db, deletion.requestedBy, "requesting a deletion");
      const latest = this.db
        .statement<number | null>(
          "SELECT max(immutable_until) FROM snapshots WHERE tenant_id = ? AND state <> 'deleted'",
        )
        .pluck()
        .get(tenant.id);
      if (latest != null && dueAt < latest) {
        throw new RempartError(
          "InvalidArgument",
          `tenant ${tenant.name} has snapshots immutable until ${iso(latest)}: its deletion cannot be due before then`,
          { reason: "before-immutability", until: iso(latest) },
        );
      }
      this.db.statement("UPDATE tenants SET status = 'offboarding' WHERE id = ?").run(tenant.id);
      const revoked = revokeAgentsOf(this.db, tenant.id, at);
      const row: Omit<DeletionRow, "id"> = {
        tenant_id: tenant.id,
        requested_by: requester.id,
        requested_at: at,
        due_at: dueAt,
        reason,
        cancelled_by: null,
        cancelled_at: null,
        started_at: null,
        completed_at: null,
      };
      const id = this.db
        .statement<number>(
          `INSERT INTO tenant_deletions (${DELETION_COLUMNS}) VALUES (NULL, @tenant_id,
          @requested_by, @requested_at, @due_at, @reason, @cancelled_by, @cancelled_at,
          @started_at, @completed_at) RETURNING id`,
        )
        .pluck()
        .get(row) as number;
      auditStep(
        this.db,
        note,
        "tenant.delete.schedule",
        tenant.id,
        {
          deletion_id: id,
          tenant: tenant.name,
          requested_by: requester.username,
          requested_by_id: requester.id,
          due_at: iso(dueAt),
          reason,
          agents_revoked: revoked,
        },
        at,
      );
      return toTenantDeletion({ id, ...row });
    });
  }

  async cancelTenantDeletion(
    tenantId: string,
    cancelledBy: string,
    audit: AuditNote,
    now: Date,
  ): Promise<TenantDeletion> {
    const at = checkTime("now", now);
    const note = checkAuditNote(audit);
    return this.db.write(() => {
      const tenant = tenantRow(this.db, tenantId) ?? notFound("tenant", tenantId);
      const row = pendingDeletion(this.db, tenantId);
      if (row === undefined)
        throw new RempartError(
          "NotFound",
          `tenant ${tenant.name} has no scheduled deletion to cancel`,
          { reason: "no-deletion" },
        );
      const canceller = enabledAdmin(this.db, cancelledBy, "cancelling a deletion");
      if (canceller.id === row.requested_by)
        throw new RempartError(
          "InvalidArgument",
          `${canceller.username} requested this deletion, so another admin must cancel it (two-person rule)`,
          { reason: "same-operator", operator: canceller.username },
        );
      if (row.started_at !== null || at >= row.due_at)
        throw new RempartError(
          "ObjectConflict",
          row.started_at !== null
            ? `the deletion of tenant ${tenant.name} started at ${iso(row.started_at)}; it can no longer be cancelled`
            : `the deletion of tenant ${tenant.name} was due at ${iso(row.due_at)}; it can no longer be cancelled`,
          { reason: "not-cancellable", due_at: iso(row.due_at) },
        );
      this.db
        .statement("UPDATE tenant_deletions SET cancelled_by = ?, cancelled_at = ? WHERE id = ?")
        .run(canceller.id, at, row.id);
      this.db.statement("UPDATE tenants SET status = 'active' WHERE id = ?").run(tenant.id);
      auditStep(
        this.db,
        note,
        "tenant.delete.cancel",
        tenant.id,
        {
          deletion_id: row.id,
          tenant: tenant.name,
          cancelled_by: canceller.username,
          cancelled_by_id: canceller.id,
          requested_by: operatorRow(this.db, row.requested_by)?.username ?? null,
          requested_by_id: row.requested_by,
          due_at: iso(row.due_at),
        },
        at,
      );
      return toTenantDeletion({ ...row, cancelled_by: canceller.id, cancelled_at: at });
    });
  }

  async listTenantDeletions(tenantId: string): Promise<TenantDeletion[]> {
    return this.db
      .statement<DeletionRow>(
        `SELECT ${DELETION_COLUMNS} FROM tenant_deletions WHERE tenant_id = ? ORDER BY id`,
      )
      .all(tenantId)
      .map(toTenantDeletion);
  }

  async listPendingTenantDeletions(): Promise<TenantDeletion[]> {
    return this.db
      .statement<DeletionRow>(
        `SELECT ${DELETION_COLUMNS} FROM tenant_deletions
        WHERE cancelled_at IS NULL AND completed_at IS NULL ORDER BY due_at, id`,
      )
      .all()
      .map(toTenantDeletion);
  }

  async startTenantDeletion(id: number, audit: AuditNote, now: Date): Promise<TenantDeletion> {
    const at = checkTime("now", now);
    const note = checkAuditNote(audit);
    return this.db.write(() => {
      const row = deletionRow(this.db, id);
      const tenant = tenantRow(this.db, row.tenant_id) ?? notFound("tenant", row.tenant_id);
      const refuse = (reason: string, message: string, more: object = {}): never => {
        throw new RempartError("ObjectConflict", message, { reason, deletion_id: id, ...more });
      };
      if (row.cancelled_at !== null || row.completed_at !== null)
        refuse(
          "not-pending",
          `the deletion of tenant ${tenant.name} was ${row.cancelled_at !== null ? "cancelled" : "completed"}`,
        );
      if (at < row.due_at)
        refuse("not-due", `the deletion of tenant ${tenant.name} is due at ${iso(row.due_at)}`, {
          due_at: iso(row.due_at),
        });
      const blocking = this.db
        .statement<{ id: string; state: string; immutable_until: number }>(
          `SELECT id, state, immutable_until FROM snapshots
          WHERE tenant_id = ? AND state <> 'deleted' AND (state = 'held' OR immutable_until > ?)
          ORDER BY immutable_until DESC, id`,
        )
        .all(tenant.id, at);
      const held = blocking.filter((s) => s.state === "held");
      if (held.length > 0)
        refuse(
          "held",
          `${held.length} snapshot(s) of tenant ${tenant.name} are held: release them before its deletion can run`,
          { snapshots: held.slice(0, 100).map((s) => s.id), count: held.length },
        );
      const [latest] = blocking;
      if (latest !== undefined)
        refuse(
          "immutable",
          `${blocking.length} snapshot(s) of tenant ${tenant.name} are immutable until ${iso(latest.immutable_until)}: nothing was deleted`,
          {
            snapshots: blocking.slice(0, 100).map((s) => s.id),
            count: blocking.length,
            until: iso(latest.immutable_until),
          },
        );
      const marked = this.db
        .statement(
          "UPDATE snapshots SET state = 'deleted' WHERE tenant_id = ? AND state <> 'deleted'",
        )
        .run(tenant.id).changes;
      const startedAt = row.started_at ?? at;
      if (row.started_at === null)
        this.db.statement("UPDATE tenant_deletions SET started_at = ? WHERE id = ?").run(at, id);
      auditStep(
        this.db,
        note,
        "tenant.delete.start",
        tenant.id,
        {
          deletion_id: id,
          tenant: tenant.name,
          snapshots_deleted: marked,
          resumed: row.started_at !== null,
        },
        at,
      );
      return toTenantDeletion({ ...row, started_at: startedAt });
    });
  }

  async completeTenantDeletion(id: number, audit: AuditNote, now: Date): Promise<TenantDeletion> {
    const at = checkTime("now", now);
    const note = checkAuditNote(audit);
    return this.db.write(() => {
      const row = deletionRow(this.db, id);
      if (row.completed_at !== null) return toTenantDeletion(row);
      const tenant = tenantRow(this.db, row.tenant_id) ?? notFound("tenant", row.tenant_id);
      if (row.cancelled_at !== null || row.started_at === null)
        throw new RempartError(
          "ObjectConflict",
          row.cancelled_at !== null
            ? `the deletion of tenant ${tenant.name} was cancelled`
            : `the deletion of tenant ${tenant.name} has not started`,
          { reason: row.cancelled_at !== null ? "not-pending" : "not-started", deletion_id: id },
        );
      // The snapshot rows (deleted) stay as history with their objects' rows; the packs, indexes
      // and keys are gone from the disk, so their records go.
      this.db.statement("DELETE FROM snapshot_packs WHERE tenant_id = ?").run(tenant.id);
      const forgotten = this.db
        .statement("DELETE FROM objects WHERE tenant_id = ? AND kind <> 'snapshots'")
        .run(tenant.id).changes;
      this.db.statement("UPDATE tenant_deletions SET completed_at = ? WHERE id = ?").run(at, id);
      this.db.statement("UPDATE tenants SET status = 'deleted' WHERE id = ?").run(tenant.id);
      auditStep(
        this.db,
        note,
        "tenant.delete.complete",
        tenant.id,
        { deletion_id: id, tenant: tenant.name, objects_forgotten: forgotten },
        at,
      );
      return toTenantDeletion({ ...row, completed_at: at });
    });
  }
}

function deletionRow(db: SqliteDb, id: number): DeletionRow {
  return (
    db
      .statement<DeletionRow>(`SELECT ${DELETION_COLUMNS} FROM tenant_deletions WHERE id = ?`)
      .get(id) ?? notFound("tenant deletion", String(id))
  );
}

/** An operator who may take part in a deletion: enabled, with the role admin. */
function enabledAdmin(db: SqliteDb, id: string, what: string): OperatorRow {
  const operator = operatorRow(db, id) ?? notFound("operator", id);
  if (operator.disabled === 1 || operator.role !== "admin")
    throw new RempartError(
      "InvalidArgument",
      `${what} needs an enabled operator with the role admin; ${operator.username} ${operator.disabled === 1 ? "is disabled" : `is a ${operator.role}`}`,
      { reason: "not-admin", operator: operator.username },
    );
  return operator;
}
