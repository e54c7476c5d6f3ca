/** Tenants in SQLite: the `tenants` table. */
import { RempartError } from "../../errors.js";
import { DEFAULT_RPO_SECONDS } from "../../protocol/constants.js";
import {
  DEFAULT_IMMUTABLE_DAYS,
  type NewTenant,
  type Tenant,
  type TenantCatalog,
  type TenantChanges,
  type TenantStatus,
} from "../tenants.js";
import {
  checkDays,
  checkQuota,
  checkRpo,
  checkTenantName,
  checkTenantStatus,
  checkTime,
} from "../validation.js";
import { newId, notFound, type SqliteDb } from "./db.js";
import { pendingDeletion, tenantRow } from "./lookups.js";
import { TENANT_COLUMNS, type TenantRow, toTenant } from "./rows.js";

export class SqliteTenants implements TenantCatalog {
  constructor(private readonly db: SqliteDb) {}

  async createTenant(tenant: NewTenant, now: Date): Promise<Tenant> {
    const row: TenantRow = {
      id: newId(),
      name: checkTenantName(tenant.name),
      created_at: checkTime("now", now),
      retention_days: checkDays("retentionDays", tenant.retentionDays, 1),
      immutable_days: checkDays("immutableDays", tenant.immutableDays ?? DEFAULT_IMMUTABLE_DAYS, 0),
      quota_bytes: checkQuota(tenant.quotaBytes ?? null),
      status: "active",
      rpo_seconds: checkRpo(tenant.rpoSeconds ?? DEFAULT_RPO_SECONDS),
    };
    return this.db.write(() => {
      if (tenantByName(this.db, row.name) !== undefined) {
        throw new RempartError("ObjectConflict", `a tenant named ${row.name} already exists`, {
          name: row.name,
        });
      }
      this.db
        .statement(
          `INSERT INTO tenants (${TENANT_COLUMNS}) VALUES (@id, @name, @created_at,
          @retention_days, @immutable_days, @quota_bytes, @status, @rpo_seconds)`,
        )
        .run(row);
      return toTenant(row);
    });
  }

  async getTenant(id: string): Promise<Tenant | undefined> {
    const row = tenantRow(this.db, id);
    return row && toTenant(row);
  }

  async getTenantByName(name: string): Promise<Tenant | undefined> {
    const row = tenantByName(this.db, name);
    return row && toTenant(row);
  }

  async listTenants(): Promise<Tenant[]> {
    return this.db
      .statement<TenantRow>(`SELECT ${TENANT_COLUMNS} FROM tenants ORDER BY name`)
      .all()
      .map(toTenant);
  }

  async updateTenant(id: string, changes: TenantChanges): Promise<Tenant> {
    const retention = changes.retentionDays;
    const immutable = changes.immutableDays;
    const status = changes.status === undefined ? undefined : checkTenantStatus(changes.status);
    if (retention !== undefined) checkDays("retentionDays", retention, 1);
    if (immutable !== undefined) checkDays("immutableDays", immutable, 0);
    if (changes.quotaBytes !== undefined) checkQuota(changes.quotaBytes);
    if (changes.rpoSeconds !== undefined) checkRpo(changes.rpoSeconds);
    return this.db.write(() => {
      const row = tenantRow(this.db, id) ?? notFound("tenant", id);
      const from = row.status as TenantStatus;
      if (status !== undefined && status !== from && pendingDeletion(this.db, id) !== undefined) {
        throw new RempartError(
          "ObjectConflict",
          `tenant ${row.name} has a scheduled deletion: cancel it (another admin) or let it run`,
          { reason: "deletion-scheduled", from, to: status },
        );
      }
      if (status !== undefined && status !== from && !TENANT_TRANSITIONS[from].includes(status)) {
        throw new RempartError(
          "ObjectConflict",
          `tenant ${row.name} cannot go from ${from} to ${status}`,
          { reason: "status-transition", from, to: status },
        );
      }
      const updated: TenantRow = {
        ...row,
        retention_days: retention ?? row.retention_days,
        immutable_days: immutable ?? row.immutable_days,
        quota_bytes: changes.quotaBytes === undefined ? row.quota_bytes : changes.quotaBytes,
        status: status ?? row.status,
        rpo_seconds: changes.rpoSeconds ?? row.rpo_seconds,
      };
      this.db
        .statement(
          `UPDATE tenants SET retention_days = @retention_days, immutable_days = @immutable_days,
          quota_bytes = @quota_bytes, status = @status, rpo_seconds = @rpo_seconds WHERE id = @id`,
        )
        .run(updated);
      return toTenant(updated);
    });
  }
}

function tenantByName(db: SqliteDb, name: string): TenantRow | undefined {
  return db.statement<TenantRow>(`SELECT ${TENANT_COLUMNS} FROM tenants WHERE name = ?`).get(name);
}

/** Which tenant status may follow which: offboarding can be cancelled, deletion cannot. */
const TENANT_TRANSITIONS: Readonly<Record<TenantStatus, readonly TenantStatus[]>> = {
  active: ["offboarding"],
  offboarding: ["active", "deleted"],
  deleted: [],
};
