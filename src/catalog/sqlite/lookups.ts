/** Row lookups more than one part of the SQLite catalog needs inside its own transactions. */
import { RempartError } from "../../errors.js";
import { notFound, type SqliteDb } from "./db.js";
import {
  AGENT_COLUMNS,
  type AgentRow,
  DELETION_COLUMNS,
  type DeletionRow,
  OPERATOR_COLUMNS,
  type OperatorRow,
  SNAPSHOT_COLUMNS,
  type SnapshotRow,
  TENANT_COLUMNS,
  type TenantRow,
} from "./rows.js";

export function tenantRow(db: SqliteDb, id: string): TenantRow | undefined {
  return db.statement<TenantRow>(`SELECT ${TENANT_COLUMNS} FROM tenants WHERE id = ?`).get(id);
}

export function activeTenant(db: SqliteDb, id: string): TenantRow {
  const row = tenantRow(db, id) ?? notFound("tenant", id);
  if (row.status !== "active") {
    throw new RempartError("InvalidArgument", `tenant ${row.name} is ${row.status}`, {
      reason: "tenant-inactive",
      tenantId: id,
    });
  }
  return row;
}

export function pendingDeletion(db: SqliteDb, tenantId: string): DeletionRow | undefined {
  return db
    .statement<DeletionRow>(
      `SELECT ${DELETION_COLUMNS} FROM tenant_deletions
      WHERE tenant_id = ? AND cancelled_at IS NULL AND completed_at IS NULL`,
    )
    .get(tenantId);
}

export function operatorRow(db: SqliteDb, id: string): OperatorRow | undefined {
  return db
    .statement<OperatorRow>(`SELECT ${OPERATOR_COLUMNS} FROM operators WHERE id = ?`)
    .get(id);
}

export function agentRow(db: SqliteDb, id: string): AgentRow | undefined {
  return db.statement<AgentRow>(`SELECT ${AGENT_COLUMNS} FROM agents WHERE id = ?`).get(id);
}

export function snapshotRow(db: SqliteDb, tenantId: string, id: string): SnapshotRow | undefined {
  return db
    .statement<SnapshotRow>(
      `SELECT ${SNAPSHOT_COLUMNS} FROM snapshots WHERE tenant_id = ? AND id = ?`,
    )
    .get(tenantId, id);
}

/**
 * The tenant a record names, refused unless its agent and snapshot (when it names them) are the
 * tenant's own: alerts and drills point inside one tenant.
 */
export function tenantOfRecord(
  db: SqliteDb,
  tenantId: string,
  agentId: string | null,
  snapshotId: string | null,
): TenantRow {
  const tenant = tenantRow(db, tenantId) ?? notFound("tenant", tenantId);
  if (agentId !== null && agentRow(db, agentId)?.tenant_id !== tenant.id)
    notFound("agent of this tenant", agentId);
  if (snapshotId !== null && snapshotRow(db, tenant.id, snapshotId) === undefined)
    notFound("snapshot of this tenant", snapshotId);
  return tenant;
}
