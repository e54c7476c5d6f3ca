/** Alert destinations and the outbox in SQLite: `alert_destinations`, `alert_outbox`. */
import { RempartError } from "../../errors.js";
import type { AuditNote } from "../audit.js";
import {
  type AlertDestination,
  checkDestination,
  type Delivery,
  type DeliveryCatalog,
  type DeliveryEvent,
  type DeliveryOutcome,
  type DeliveryQuery,
  type DeliveryState,
  type DestinationKind,
  type DestinationOrigin,
  type DueDelivery,
  type NewAlertDestination,
} from "../delivery.js";
import { checkLimit, checkTime } from "../validation.js";
import { auditStep, checkAuditNote } from "./audit.js";
import { newId, notFound, type SqliteDb } from "./db.js";
import { tenantRow } from "./lookups.js";
import { type AlertRow, toAlert } from "./rows.js";

interface DestinationRow {
  id: string;
  tenant_id: string | null;
  kind: string;
  target: string;
  secret: string | null;
  origin: string;
  created_at: number;
  removed_at: number | null;
}

interface OutboxRow {
  id: number;
  alert_id: number;
  tenant_id: string;
  destination_id: string;
  kind: string;
  target: string;
  event: string;
  created_at: number;
  attempts: number;
  next_attempt_at: number | null;
  last_error: string | null;
  delivered_at: number | null;
  failed_at: number | null;
}

const OUTBOX_SELECT = `SELECT o.id, o.alert_id, a.tenant_id, o.destination_id, d.kind, d.target,
  o.event, o.created_at, o.attempts, o.next_attempt_at, o.last_error, o.delivered_at, o.failed_at
  FROM alert_outbox o JOIN alerts a ON a.id = o.alert_id
  JOIN alert_destinations d ON d.id = o.destination_id`;

/** Errors are kept to a line: they come from remote servers. */
const MAX_ERROR_LENGTH = 500;

function toDestination(row: DestinationRow): AlertDestination {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    kind: row.kind as DestinationKind,
    target: row.target,
    origin: row.origin as DestinationOrigin,
    createdAt: new Date(row.created_at),
    removedAt: row.removed_at === null ? null : new Date(row.removed_at),
  };
}

function stateOf(row: OutboxRow): DeliveryState {
  if (row.delivered_at !== null) return "delivered";
  return row.failed_at === null ? "pending" : "failed";
}

function toDelivery(row: OutboxRow): Delivery {
  const date = (ms: number | null) => (ms === null ? null : new Date(ms));
  return {
    id: row.id,
    alertId: row.alert_id,
    tenantId: row.tenant_id,
    destinationId: row.destination_id,
    kind: row.kind as DestinationKind,
    target: row.target,
    event: row.event as DeliveryEvent,
    createdAt: new Date(row.created_at),
    state: stateOf(row),
    attempts: row.attempts,
    nextAttemptAt: date(row.next_attempt_at),
    lastError: row.last_error,
    deliveredAt: date(row.delivered_at),
    failedAt: date(row.failed_at),
  };
}

function oneLine(text: string): string {
  const line = text.replace(/[\p{Cc}\s]+/gu, " ").trim();
  return line.length > MAX_ERROR_LENGTH ? `${line.slice(0, MAX_ERROR_LENGTH - 1)}…` : line;
}

/**
 * Inside the write that raised an alert: one pending delivery, due at once, for each destination
 * in force for its tenant.
 */
export function enqueueAlertDeliveries(
  db: SqliteDb,
  alertId: number,
  tenantId: string,
  at: number,
): void {
  db.statement(
    `INSERT INTO alert_outbox (alert_id, destination_id, created_at, next_attempt_at)
    SELECT @alert_id, id, @at, @at FROM alert_destinations
    WHERE removed_at IS NULL AND (tenant_id IS NULL OR tenant_id = @tenant_id)`,
  ).run({ alert_id: alertId, at, tenant_id: tenantId });
}

/**
 * Inside the write that resolved an alert: a pending "resolved" notice, due at once, for each
 * destination the alert's raise was queued for and that is still in force.
 */
export function enqueueResolvedNotices(db: SqliteDb, alertId: number, at: number): void {
  db.statement(
    `INSERT INTO alert_outbox (alert_id, destination_id, event, created_at, next_attempt_at)
    SELECT o.alert_id, o.destination_id, 'resolve', @at, @at FROM alert_outbox o
    JOIN alert_destinations d ON d.id = o.destination_id
    WHERE o.alert_id = @alert_id AND o.event = 'raise' AND d.removed_at IS NULL`,
  ).run({ alert_id: alertId, at });
}

export class SqliteDelivery implements DeliveryCatalog {
  constructor(private readonly db: SqliteDb) {}

  async addAlertDestination(
    destination: NewAlertDestination,
    audit: AuditNote,
    now: Date,
  ): Promise<AlertDestination> {
    const note = checkAuditNote(audit);
    const checked = checkDestination(destination);
    const at = checkTime("now", now);
    return this.db.write(() => insertDestination(this.db, checked, "admin", note, at));
  }

  async removeAlertDestination(id: string, audit: AuditNote, now: Date): Promise<AlertDestination> {
    const note = checkAuditNote(audit);
    const at = checkTime("now", now);
    return this.db.write(() => {
      const row = destinationRow(this.db, id);
      if (row === undefined || row.removed_at !== null) notFound("alert destination", id);
      return removeDestination(this.db, row, note, at);
    });
  }

  async listAlertDestinations(query: { tenantId?: string }): Promise<AlertDestination[]> {
    const where =
      query.tenantId === undefined ? "" : "AND (tenant_id IS NULL OR tenant_id = @tenant_id)";
    return this.db
      .statement<DestinationRow>(
        `SELECT * FROM alert_destinations WHERE removed_at IS NULL ${where}
        ORDER BY created_at, id`,
      )
      .all(query.tenantId === undefined ? {} : { tenant_id: query.tenantId })
      .map(toDestination);
  }

  async setConfiguredDestinations(
    destinations: readonly NewAlertDestination[],
    audit: AuditNote,
    now: Date,
  ): Promise<void> {
    const note = checkAuditNote(audit);
    const wanted = destinations.map((d) => checkDestination({ ...d, tenantId: null }));
    const at = checkTime("now", now);
    const same = (row: DestinationRow, d: NewAlertDestination) =>
      row.kind === d.kind && row.target === d.target && row.secret === d.secret;
    this.db.write(() => {
      const current = this.db
        .statement<DestinationRow>(
          `SELECT * FROM alert_destinations WHERE origin = 'config' AND removed_at IS NULL`,
        )
        .all();
      for (const row of current)
        if (!wanted.some((d) => same(row, d))) removeDestination(this.db, row, note, at);
      for (const d of wanted)
        if (!current.some((row) => same(row, d))) insertDestination(this.db, d, "config", note, at);
    });
  }

  async dueDeliveries(now: Date, limit: number): Promise<DueDelivery[]> {
    const at = checkTime("now", now);
    return this.db.read(() =>
      this.db
        .statement<OutboxRow & { secret: string | null }>(
          `${OUTBOX_SELECT.replace("d.target,", "d.target, d.secret,")}
          WHERE o.next_attempt_at IS NOT NULL AND o.next_attempt_at <= ?
          ORDER BY o.next_attempt_at, o.id LIMIT ?`,
        )
        .all(at, checkLimit(limit))
        .map((row) => {
          const alert = this.db
            .statement<AlertRow>("SELECT * FROM alerts WHERE id = ?")
            .get(row.alert_id) as AlertRow;
          const tenant = tenantRow(this.db, alert.tenant_id);
          const hostname =
            alert.agent_id === null
              ? null
              : (this.db
                  .statement<string>("SELECT hostname FROM agents WHERE id = ?")
                  .pluck()
                  .get(alert.agent_id) ?? null);
          return {
            ...toDelivery(row),
            alert: toAlert(alert),
            tenantName: tenant?.name ?? alert.tenant_id,
            hostname,
            secret: row.secret,
          };
        }),
    );
  }

  async recordDeliveryAttempt(id: number, outcome: DeliveryOutcome, now: Date): Promise<Delivery> {
    const at = checkTime("now", now);
    const fields =
      outcome.state === "delivered"
        ? { next_attempt_at: null, last_error: null, delivered_at: at, failed_at: null }
        : outcome.state === "retry"
          ? {
              next_attempt_at: checkTime("retryAt", outcome.retryAt),
              last_error: oneLine(outcome.error),
              delivered_at: null,
              failed_at: null,
            }
          : {
              next_attempt_at: null,
              last_error: oneLine(outcome.error),
              delivered_at: null,
              failed_at: at,
            };
    return this.db.write(() => {
      const row = outboxRow(this.db, id) ?? notFound("alert delivery", String(id));
      if (row.next_attempt_at === null)
        throw new RempartError("ObjectConflict", `alert delivery ${id} is ${stateOf(row)}`, {
          reason: "delivery-final",
          id,
        });
      this.db
        .statement(
          `UPDATE alert_outbox SET attempts = attempts + 1, next_attempt_at = @next_attempt_at,
          last_error = @last_error, delivered_at = @delivered_at, failed_at = @failed_at
          WHERE id = @id`,
        )
        .run({ id, ...fields });
      return toDelivery(outboxRow(this.db, id) as OutboxRow);
    });
  }

  async listDeliveries(query: DeliveryQuery): Promise<Delivery[]> {
    const conditions = ["1"];
    if (query.tenantId !== undefined) conditions.push("a.tenant_id = @tenant_id");
    if (query.state === "pending") conditions.push("o.next_attempt_at IS NOT NULL");
    if (query.state === "delivered") conditions.push("o.delivered_at IS NOT NULL");
    if (query.state === "failed") conditions.push("o.failed_at IS NOT NULL");
    return this.db
      .statement<OutboxRow>(
        `${OUTBOX_SELECT} WHERE ${conditions.join(" AND ")} ORDER BY o.id DESC LIMIT @limit`,
      )
      .all({
        limit: checkLimit(query.limit),
        ...(query.tenantId === undefined ? {} : { tenant_id: query.tenantId }),
      })
      .map(toDelivery);
  }
}

function destinationRow(db: SqliteDb, id: string): DestinationRow | undefined {
  return db.statement<DestinationRow>("SELECT * FROM alert_destinations WHERE id = ?").get(id);
}

function outboxRow(db: SqliteDb, id: number): OutboxRow | undefined {
  if (!Number.isSafeInteger(id)) return undefined;
  return db.statement<OutboxRow>(`${OUTBOX_SELECT} WHERE o.id = ?`).get(id);
}

/** Audits a change of a destination, in its transaction: what it is, never its secret. */
function auditDestination(
  db: SqliteDb,
  note: AuditNote,
  action: string,
  row: DestinationRow,
  facts: Record<string, unknown>,
  at: number,
): void {
  auditStep(
    db,
    note,
    action,
    row.tenant_id,
    { destination_id: row.id, kind: row.kind, target: row.target, origin: row.origin, ...facts },
    at,
  );
}

function insertDestination(
  db: SqliteDb,
  destination: NewAlertDestination,
  origin: DestinationOrigin,
  note: AuditNote,
  at: number,
): AlertDestination {
  if (destination.tenantId !== null && tenantRow(db, destination.tenantId) === undefined)
    notFound("tenant", destination.tenantId);
  const row: DestinationRow = {
    id: newId(),
    tenant_id: destination.tenantId,
    kind: destination.kind,
    target: destination.target,
    secret: destination.secret,
    origin,
    created_at: at,
    removed_at: null,
  };
  db.statement(
    `INSERT INTO alert_destinations (id, tenant_id, kind, target, secret, origin, created_at,
    removed_at) VALUES (@id, @tenant_id, @kind, @target, @secret, @origin, @created_at, NULL)`,
  ).run(row);
  auditDestination(db, note, "alert.destination.add", row, {}, at);
  return toDestination(row);
}

function removeDestination(
  db: SqliteDb,
  row: DestinationRow,
  note: AuditNote,
  at: number,
): AlertDestination {
  db.statement("UPDATE alert_destinations SET removed_at = ? WHERE id = ?").run(at, row.id);
  const abandoned = db
    .statement(
      `UPDATE alert_outbox SET next_attempt_at = NULL, failed_at = @at,
      last_error = 'the destination was removed' WHERE destination_id = @id
      AND next_attempt_at IS NOT NULL`,
    )
    .run({ at, id: row.id }).changes;
  auditDestination(db, note, "alert.destination.remove", row, { pending_abandoned: abandoned }, at);
  return toDestination({ ...row, removed_at: at });
}
