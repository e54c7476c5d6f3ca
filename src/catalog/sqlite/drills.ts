/** Restore drills in SQLite: the `restore_drills` table (the schema refuses changes and deletes). */
import type { AuditNote } from "../audit.js";
import type { DrillCatalog, DrillQuery, NewRestoreDrill, RestoreDrill } from "../drills.js";
import { checkCount, checkDrillError, checkLimit, checkTime } from "../validation.js";
import { auditStep, checkAuditNote } from "./audit.js";
import type { SqliteDb } from "./db.js";
import { tenantOfRecord } from "./lookups.js";

const DRILL_COLUMNS =
  "id, tenant_id, agent_id, snapshot_id, at, ok, files, bytes, duration_ms, error";

interface DrillRow {
  id: number;
  tenant_id: string;
  agent_id: string;
  snapshot_id: string | null;
  at: number;
  ok: number;
  files: number;
  bytes: number;
  duration_ms: number;
  error: string | null;
}

function toDrill(row: DrillRow): RestoreDrill {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    agentId: row.agent_id,
    snapshotId: row.snapshot_id,
    at: new Date(row.at),
    ok: row.ok === 1,
    files: row.files,
    bytes: row.bytes,
    durationMs: row.duration_ms,
    error: row.error,
  };
}

export class SqliteDrills implements DrillCatalog {
  constructor(private readonly db: SqliteDb) {}

  async recordDrill(drill: NewRestoreDrill, audit: AuditNote, now: Date): Promise<RestoreDrill> {
    const note = checkAuditNote(audit);
    const row: Omit<DrillRow, "id"> = {
      tenant_id: drill.tenantId,
      agent_id: drill.agentId,
      snapshot_id: drill.snapshotId ?? null,
      at: checkTime("now", now),
      ok: drill.ok ? 1 : 0,
      files: checkCount("files", drill.files),
      bytes: checkCount("bytes", drill.bytes),
      duration_ms: checkCount("durationMs", drill.durationMs),
      error: checkDrillError(drill.ok, drill.error),
    };
    return this.db.write(() => {
      const tenant = tenantOfRecord(this.db, row.tenant_id, row.agent_id, row.snapshot_id);
      const id = this.db
        .statement<number>(
          `INSERT INTO restore_drills (${DRILL_COLUMNS}) VALUES (NULL, @tenant_id, @agent_id,
          @snapshot_id, @at, @ok, @files, @bytes, @duration_ms, @error) RETURNING id`,
        )
        .pluck()
        .get(row) as number;
      auditStep(
        this.db,
        note,
        "drill.report",
        tenant.id,
        {
          drill_id: id,
          agent_id: row.agent_id,
          snapshot_id: row.snapshot_id,
          ok: row.ok === 1,
          files: row.files,
          bytes: row.bytes,
          duration_ms: row.duration_ms,
          error: row.error,
        },
        row.at,
      );
      return toDrill({ id, ...row });
    });
  }

  async listDrills(query: DrillQuery): Promise<RestoreDrill[]> {
    const limit = checkLimit(query.limit);
    // Two statements rather than `(@tenant_id IS NULL OR …)`, which would keep SQLite from using
    // the (tenant_id, id) index.
    if (query.tenantId === undefined)
      return this.db
        .statement<DrillRow>(`SELECT ${DRILL_COLUMNS} FROM restore_drills ORDER BY id DESC LIMIT ?`)
        .all(limit)
        .map(toDrill);
    return this.db
      .statement<DrillRow>(
        `SELECT ${DRILL_COLUMNS} FROM restore_drills WHERE tenant_id = ? ORDER BY id DESC LIMIT ?`,
      )
      .all(query.tenantId, limit)
      .map(toDrill);
  }

  async latestDrills(): Promise<ReadonlyMap<string, RestoreDrill>> {
    const rows = this.db
      .statement<DrillRow>(
        `SELECT ${DRILL_COLUMNS} FROM restore_drills WHERE id IN
        (SELECT max(id) FROM restore_drills GROUP BY agent_id)`,
      )
      .all();
    return new Map(rows.map((row) => [row.agent_id, toDrill(row)]));
  }
}
