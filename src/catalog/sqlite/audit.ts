/**
 * The audit log in SQLite: the `audit_log` table, a hash chain (the schema refuses updates and
 * deletes, and an insert that does not extend the chain).
 */
import { RempartError } from "../../errors.js";
import {
  type AuditCatalog,
  type AuditChainQuery,
  type AuditEntry,
  type AuditNote,
  type AuditQuery,
  type ChainedAuditEntry,
  detailsWithCredential,
  type NewAuditEntry,
} from "../audit.js";
import { auditEntryHash, type ChainFields, GENESIS_HASH } from "../audit-chain.js";
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
      details: serializeAuditDetails(detailsWithCredential(actor, entry.details ?? {})),
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

  async readAuditChain(query: AuditChainQuery): Promise<ChainedAuditEntry[]> {
    const afterId = query.afterId ?? 0;
    if (!Number.isSafeInteger(afterId))
      throw new RempartError("InvalidArgument", "afterId must be a whole number", {
        field: "afterId",
        value: afterId,
      });
    return this.db
      .statement<ChainRow>(
        `SELECT id, seq, at, actor_kind, actor_id, action, tenant_id, details, prev_hash, hash
        FROM audit_log WHERE id > ? ORDER BY id LIMIT ?`,
      )
      .all(afterId, checkLimit(query.limit))
      .map((row) => ({
        ...chainFields(row, row.seq),
        id: row.id,
        prevHash: row.prev_hash,
        hash: row.hash,
      }));
  }
}

function chainFields(row: Omit<AuditRow, "id">, seq: number): ChainFields {
  return {
    seq,
    at: row.at,
    actorKind: row.actor_kind,
    actorId: row.actor_id,
    action: row.action,
    tenantId: row.tenant_id,
    details: row.details,
  };
}

interface ChainRow extends AuditRow {
  seq: number;
  prev_hash: string;
  hash: string;
}

/**
 * Inside a write: appends an entry already checked to the chain, and answers it with its id. The
 * write's IMMEDIATE transaction holds the lock from reading the head to the insert.
 */
export function insertAuditEntry(db: SqliteDb, row: Omit<AuditRow, "id">): AuditEntry {
  const head = db
    .statement<{ seq: number; hash: string }>(
      "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
    )
    .get();
  const prevHash = head?.hash ?? GENESIS_HASH;
  const seq = (head?.seq ?? 0) + 1;
  const hash = auditEntryHash(prevHash, chainFields(row, seq));
  const id = db
    .statement<number>(
      `INSERT INTO audit_log (seq, at, actor_kind, actor_id, action, tenant_id, details,
      prev_hash, hash) VALUES (@seq, @at, @actor_kind, @actor_id, @action, @tenant_id, @details,
      @prev_hash, @hash) RETURNING id`,
    )
    .pluck()
    .get({ ...row, seq, prev_hash: prevHash, hash }) as number;
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
  tenantId: string | null,
  facts: Record<string, unknown>,
  at: number,
): void {
  insertAuditEntry(db, {
    at,
    actor_kind: note.actor.kind,
    actor_id: note.actor.id,
    action,
    tenant_id: tenantId,
    details: serializeAuditDetails(
      detailsWithCredential(note.actor, { ...note.details, ...facts }),
    ),
  });
}

/** Checked before a write: a malformed note must not abort the step half-way, or at all. */
export function checkAuditNote(note: AuditNote): AuditNote {
  const actor = checkActor(note.actor);
  serializeAuditDetails(note.details ?? {});
  return { actor, details: note.details ?? {} };
}
