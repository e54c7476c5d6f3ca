/** Quarantines in SQLite: the `quarantines` table; what one hides is the HIDDEN condition. */
import { RempartError } from "../../errors.js";
import type { AuditNote } from "../audit.js";
import type { Quarantine, QuarantineCatalog } from "../quarantines.js";
import { checkTime } from "../validation.js";
import { auditStep, checkAuditNote } from "./audit.js";
import { HIDDEN } from "./conditions.js";
import { iso, notFound, type SqliteDb } from "./db.js";
import { agentRow, tenantRow } from "./lookups.js";
import { QUARANTINE_COLUMNS, type QuarantineRow, toQuarantine } from "./rows.js";

export class SqliteQuarantines implements QuarantineCatalog {
  constructor(private readonly db: SqliteDb) {}

  async quarantineAgent(
    tenantId: string,
    agentId: string,
    since: Date,
    audit: AuditNote,
    now: Date,
  ): Promise<Quarantine> {
    const at = checkTime("now", now);
    const from = checkTime("since", since);
    const note = checkAuditNote(audit);
    return this.db.write(() => {
      const tenant = tenantRow(this.db, tenantId) ?? notFound("tenant", tenantId);
      const agent = agentRow(this.db, agentId);
      if (agent?.tenant_id !== tenantId) notFound("agent of this tenant", agentId);
      if (activeQuarantine(this.db, tenantId, agentId) !== undefined)
        throw new RempartError(
          "ObjectConflict",
          `agent ${agentId} is already quarantined: release it first to quarantine it from another time`,
          { reason: "already-quarantined", agent_id: agentId },
        );
      const row: Omit<QuarantineRow, "id"> = {
        tenant_id: tenantId,
        agent_id: agentId,
        since: from,
        created_at: at,
        released_at: null,
      };
      const id = this.db
        .statement<number>(
          `INSERT INTO quarantines (${QUARANTINE_COLUMNS}) VALUES (NULL, @tenant_id, @agent_id,
          @since, @created_at, @released_at) RETURNING id`,
        )
        .pluck()
        .get(row) as number;
      const quarantine = withImpact(this.db, { id, ...row });
      auditStep(
        this.db,
        note,
        "agent.quarantine",
        tenantId,
        {
          quarantine_id: id,
          tenant: tenant.name,
          agent_id: agentId,
          hostname: agent?.hostname ?? null,
          since: iso(from),
          hidden_objects: quarantine.hidden.objects,
          hidden_bytes: quarantine.hidden.bytes,
          affected_snapshots: quarantine.affectedSnapshots,
        },
        at,
      );
      return quarantine;
    });
  }

  async releaseQuarantine(
    tenantId: string,
    agentId: string,
    audit: AuditNote,
    now: Date,
  ): Promise<Quarantine> {
    const at = checkTime("now", now);
    const note = checkAuditNote(audit);
    return this.db.write(() => {
      const tenant = tenantRow(this.db, tenantId) ?? notFound("tenant", tenantId);
      const row = activeQuarantine(this.db, tenantId, agentId);
      if (row === undefined)
        throw new RempartError("NotFound", `agent ${agentId} is not quarantined`, {
          reason: "not-quarantined",
          agent_id: agentId,
        });
      const before = withImpact(this.db, row);
      this.db.statement("UPDATE quarantines SET released_at = ? WHERE id = ?").run(at, row.id);
      auditStep(
        this.db,
        note,
        "agent.quarantine.release",
        tenantId,
        {
          quarantine_id: row.id,
          tenant: tenant.name,
          agent_id: agentId,
          since: iso(row.since),
          shown_objects: before.hidden.objects,
        },
        at,
      );
      return withImpact(this.db, { ...row, released_at: at });
    });
  }

  async listQuarantines(tenantId: string): Promise<Quarantine[]> {
    return this.db.read(() =>
      this.db
        .statement<QuarantineRow>(
          `SELECT ${QUARANTINE_COLUMNS} FROM quarantines WHERE tenant_id = ? ORDER BY id`,
        )
        .all(tenantId)
        .map((row) => withImpact(this.db, row)),
    );
  }
}

function activeQuarantine(
  db: SqliteDb,
  tenantId: string,
  agentId: string,
): QuarantineRow | undefined {
  return db
    .statement<QuarantineRow>(
      `SELECT ${QUARANTINE_COLUMNS} FROM quarantines
      WHERE tenant_id = ? AND agent_id = ? AND released_at IS NULL`,
    )
    .get(tenantId, agentId);
}

/** A quarantine with what it hides now (nothing once released) and whom that hurts. */
function withImpact(db: SqliteDb, row: QuarantineRow): Quarantine {
  if (row.released_at !== null) return toQuarantine(row, { objects: 0, bytes: 0 }, 0);
  const hidden = db
    .statement<{ objects: number; bytes: number | null }>(
      `SELECT count(*) AS objects, sum(o.size) AS bytes FROM objects o
      WHERE o.tenant_id = ? AND o.created_by_agent = ? AND ${HIDDEN}`,
    )
    .get(row.tenant_id, row.agent_id);
  const affected = db
    .statement<number>(
      `SELECT count(DISTINCT s.id) FROM snapshots s
      JOIN snapshot_packs sp ON sp.tenant_id = s.tenant_id AND sp.snapshot_id = s.id
      JOIN objects o ON o.tenant_id = sp.tenant_id AND o.kind = 'data' AND o.name = sp.pack
      WHERE s.tenant_id = ? AND s.agent_id <> ? AND s.state <> 'deleted'
        AND o.created_by_agent = ? AND o.created_at >= ?`,
    )
    .pluck()
    .get(row.tenant_id, row.agent_id, row.agent_id, row.since) as number;
  return toQuarantine(row, { objects: hidden?.objects ?? 0, bytes: hidden?.bytes ?? 0 }, affected);
}
