/** Alerts in SQLite: the `alerts` table (the schema refuses deletes, and changes once closed). */
import { RempartError } from "../../errors.js";
import {
  type Alert,
  type AlertCatalog,
  type AlertQuery,
  isSelfResolving,
  type NewAlert,
} from "../alerts.js";
import type { AuditNote } from "../audit.js";
import {
  checkAlertKind,
  checkAlertMessage,
  checkAlertReason,
  checkAlertSeverity,
  checkLimit,
  checkTime,
  serializeAuditDetails,
} from "../validation.js";
import { auditStep, checkAuditNote } from "./audit.js";
import { notFound, type SqliteDb } from "./db.js";
import { enqueueAlertDeliveries, enqueueResolvedNotices } from "./delivery.js";
import { operatorRow, tenantOfRecord } from "./lookups.js";
import { ALERT_COLUMNS, type AlertRow, toAlert } from "./rows.js";

export class SqliteAlerts implements AlertCatalog {
  constructor(private readonly db: SqliteDb) {}

  async raiseAlert(alert: NewAlert, audit: AuditNote, now: Date): Promise<Alert> {
    const note = checkAuditNote(audit);
    const row: Omit<AlertRow, "id"> = {
      tenant_id: alert.tenantId,
      agent_id: alert.agentId ?? null,
      snapshot_id: alert.snapshotId ?? null,
      kind: checkAlertKind(alert.kind),
      severity: checkAlertSeverity(alert.severity),
      message: checkAlertMessage(alert.message),
      details: serializeAuditDetails(alert.details ?? {}),
      created_at: checkTime("now", now),
      acknowledged_by: null,
      acknowledged_at: null,
      acknowledge_reason: null,
      resolved_by: null,
      resolved_at: null,
      resolve_reason: null,
    };
    return this.db.write(() => {
      const tenant = tenantOfRecord(this.db, row.tenant_id, row.agent_id, row.snapshot_id);
      const id = this.db
        .statement<number>(
          `INSERT INTO alerts (${ALERT_COLUMNS}) VALUES (NULL, @tenant_id, @agent_id,
          @snapshot_id, @kind, @severity, @message, @details, @created_at, @acknowledged_by,
          @acknowledged_at, @acknowledge_reason, @resolved_by, @resolved_at, @resolve_reason)
          RETURNING id`,
        )
        .pluck()
        .get(row) as number;
      auditStep(
        this.db,
        note,
        "alert.raise",
        tenant.id,
        {
          alert_id: id,
          tenant: tenant.name,
          kind: row.kind,
          severity: row.severity,
          agent_id: row.agent_id,
          snapshot_id: row.snapshot_id,
        },
        row.created_at,
      );
      enqueueAlertDeliveries(this.db, id, tenant.id, row.created_at);
      return toAlert({ id, ...row });
    });
  }

  async getAlert(id: number): Promise<Alert | undefined> {
    const row = alertRow(this.db, id);
    return row && toAlert(row);
  }

  async listAlerts(query: AlertQuery): Promise<Alert[]> {
    const beforeId = query.beforeId ?? Number.MAX_SAFE_INTEGER;
    if (!Number.isSafeInteger(beforeId))
      throw new RempartError("InvalidArgument", "beforeId must be a whole number", {
        field: "beforeId",
        value: beforeId,
      });
    const params = { limit: checkLimit(query.limit), before_id: beforeId };
    const open = query.open === true ? `AND ${OPEN}` : "";
    // Two statements rather than `(@tenant_id IS NULL OR …)`, which would keep SQLite from using
    // the (tenant_id, id) index.
    const where = query.tenantId === undefined ? "1" : "tenant_id = @tenant_id";
    return this.db
      .statement<AlertRow>(
        `SELECT ${ALERT_COLUMNS} FROM alerts WHERE ${where} AND id < @before_id ${open}
        ORDER BY id DESC LIMIT @limit`,
      )
      .all(query.tenantId === undefined ? params : { ...params, tenant_id: query.tenantId })
      .map(toAlert);
  }

  async openAlertCounts(): Promise<ReadonlyMap<string, number>> {
    const rows = this.db
      .statement<{ tenant_id: string; open: number }>(
        `SELECT tenant_id, count(*) AS open FROM alerts WHERE ${OPEN} GROUP BY tenant_id`,
      )
      .all();
    return new Map(rows.map((r) => [r.tenant_id, r.open]));
  }

  async acknowledgeAlert(
    id: number,
    operatorId: string,
    reason: string,
    audit: AuditNote,
    now: Date,
  ): Promise<Alert> {
    const note = checkAuditNote(audit);
    const why = checkAlertReason(reason);
    const at = checkTime("now", now);
    return this.db.write(() => {
      const row = alertRow(this.db, id) ?? notFound("alert", String(id));
      const operator = operatorRow(this.db, operatorId) ?? notFound("operator", operatorId);
      refuseClosed(row);
      this.db
        .statement(
          `UPDATE alerts SET acknowledged_by = ?, acknowledged_at = ?, acknowledge_reason = ?
          WHERE id = ?`,
        )
        .run(operator.id, at, why, id);
      auditStep(
        this.db,
        note,
        "alert.acknowledge",
        row.tenant_id,
        {
          alert_id: id,
          kind: row.kind,
          severity: row.severity,
          operator_id: operator.id,
          username: operator.username,
          reason: why,
        },
        at,
      );
      return toAlert({
        ...row,
        acknowledged_by: operator.id,
        acknowledged_at: at,
        acknowledge_reason: why,
      });
    });
  }

  async resolveAlert(id: number, reason: string, audit: AuditNote, now: Date): Promise<Alert> {
    const note = checkAuditNote(audit);
    if (note.actor.kind !== "system")
      throw new RempartError(
        "InvalidArgument",
        "only the system resolves an alert; an operator acknowledges it",
        { field: "actor.kind" },
      );
    const why = checkAlertReason(reason);
    const at = checkTime("now", now);
    return this.db.write(() => {
      const row = alertRow(this.db, id) ?? notFound("alert", String(id));
      refuseClosed(row);
      if (!isSelfResolving(row.kind as Alert["kind"]))
        throw new RempartError(
          "ObjectConflict",
          `alert ${id} is a ${row.kind} alert: only an operator closes it`,
          { reason: "operator-only", id, kind: row.kind },
        );
      this.db
        .statement(
          `UPDATE alerts SET resolved_by = 'system', resolved_at = ?, resolve_reason = ?
          WHERE id = ?`,
        )
        .run(at, why, id);
      auditStep(
        this.db,
        note,
        "alert.resolve",
        row.tenant_id,
        {
          alert_id: id,
          kind: row.kind,
          severity: row.severity,
          agent_id: row.agent_id,
          resolved_by: "system",
          reason: why,
        },
        at,
      );
      enqueueResolvedNotices(this.db, id, at);
      return toAlert({ ...row, resolved_by: "system", resolved_at: at, resolve_reason: why });
    });
  }
}

/** The SQL of an open alert (the `alerts_open` partial index's condition). */
const OPEN = "acknowledged_at IS NULL AND resolved_at IS NULL";

/** A closed alert keeps how it closed. */
function refuseClosed(row: AlertRow): void {
  if (row.acknowledged_at !== null)
    throw new RempartError(
      "ObjectConflict",
      `alert ${row.id} was acknowledged at ${new Date(row.acknowledged_at).toISOString()}`,
      { reason: "already-acknowledged", id: row.id },
    );
  if (row.resolved_at !== null)
    throw new RempartError(
      "ObjectConflict",
      `alert ${row.id} was resolved at ${new Date(row.resolved_at).toISOString()}: ${row.resolve_reason}`,
      { reason: "already-resolved", id: row.id },
    );
}

function alertRow(db: SqliteDb, id: number): AlertRow | undefined {
  if (!Number.isSafeInteger(id)) return undefined;
  return db.statement<AlertRow>(`SELECT ${ALERT_COLUMNS} FROM alerts WHERE id = ?`).get(id);
}
