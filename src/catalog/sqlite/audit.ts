/** The audit log in SQLite: the `audit_log` table (the schema refuses updates and deletes). */
import { RempartError } from "../../errors.js";
import type { AuditCatalog, AuditEntry, AuditNote, AuditQuery, NewAuditEntry } from "../audit.js";
import {
  checkActor,
  checkAuditAction,
  checkLimit,
  checkTime,
  serializeAuditDetails,
} from "../validation.js";
import type { SqliteDb } from "./db.js";
import { AUDIT_COLUMNS, type AuditRow, toAuditEntry } from "./rows.js";

export class SqliteAudit implements AuditCatalog {
  constructor(private readonly db: SqliteDb) {}

  async appendAudit(entry: NewAuditEntry, now: Date): Promise<AuditEntry> {
    const actor = checkActor(entry.actor);
    const row: Omit<AuditRow, "id"> = {
      at: checkTime("now", now),
      actor_kind: actor.kind,
      actor_id: actor.id,
      action: checkAuditAction(entry.action),
      tenant_id: entry.tenantId ?? null,
      details: serializeAuditDetails(entry.details ?? {}),
    };
    return this.db.write(() => insertAuditEntry(this.db, row));
  }

  async listAudit(query: AuditQuery): Promise<AuditEntry[]> {
    const beforeId = query.beforeId ?? Number.MAX_SAFE_INTEGER;
    if (!Number.isSafeInteger(beforeId)) {
      throw new RempartError("InvalidArgument", "beforeId must be a whole number", {
        field: "beforeId",
        value: beforeId,
      });
    }
    const params = {
      since: query.since === undefined ? Number.MIN_SAFE_INTEGER : checkTime("since", query.since),
      before_id: beforeId,
      limit: checkLimit(query.limit),
    };
    const select = `SELECT ${AUDIT_COLUMNS} FROM audit_log WHERE at >= @since AND id < @before_id`;
    const order = "ORDER BY id DESC LIMIT @limit";
    // Two statements rather than `(@tenant_id IS NULL OR tenant_id = @tenant_id)`, which would
    // keep SQLite from using the (tenant_id, id) index.
    const rows =
      query.tenantId === undefined
        ? this.db.statement<AuditRow>(`${select} ${order}`).all(params)
        : this.db.statement<AuditRow>(`${select} AND tenant_id = @tenant_id ${order}`).all({
            ...params,
            tenant_id: query.tenantId,
          });
    return rows.map(toAuditEntry);
  }
}

/** Inside a write: appends an entry already checked, and answers it with its id. */
export function insertAuditEntry(db: SqliteDb, row: Omit<AuditRow, "id">): AuditEntry {
  const id = db
    .statement<number>(
      `INSERT INTO audit_log (at, actor_kind, actor_id, action, tenant_id, details)
      VALUES (@at, @actor_kind, @actor_id, @action, @tenant_id, @details) RETURNING id`,
    )
    .pluck()
    .get(row) as number;
  return toAuditEntry({ id, ...row });
}

/**
 * Inside a write: the entry of a step the catalog audits in the step's own transaction (a deletion
 * step, a quarantine), with the catalog's facts over the caller's.
 */
export function auditStep(
  db: SqliteDb,
  note: AuditNote,
  action: string,
  tenantId: string,
  facts: Record<string, unknown>,
  at: number,
): void {
  insertAuditEntry(db, {
    at,
    actor_kind: note.actor.kind,
    actor_id: note.actor.id,
    action,
    tenant_id: tenantId,
    details: serializeAuditDetails({ ...note.details, ...facts }),
  });
}

/** Checked before a write: a malformed note must not abort the step half-way, or at all. */
export function checkAuditNote(note: AuditNote): AuditNote {
  const actor = checkActor(note.actor);
  serializeAuditDetails(note.details ?? {});
  return { actor, details: note.details ?? {} };
}
