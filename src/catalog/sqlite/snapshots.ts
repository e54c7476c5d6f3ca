/** Snapshot commits in SQLite: the `snapshots` and `snapshot_packs` tables. */
import { RempartError } from "../../errors.js";
import type { NewSnapshot, SnapshotCatalog, SnapshotRecord } from "../snapshots.js";
import {
  checkDetection,
  checkLimit,
  checkObjectName,
  checkTime,
  DAY_MS,
  normalizePacks,
} from "../validation.js";
import { HIDDEN } from "./conditions.js";
import { notFound, type SqliteDb } from "./db.js";
import { activeTenant, agentRow, snapshotRow } from "./lookups.js";
import { SNAPSHOT_COLUMNS, type SnapshotRow, toSnapshot } from "./rows.js";

export class SqliteSnapshots implements SnapshotCatalog {
  constructor(private readonly db: SqliteDb) {}

  async recordSnapshot(snapshot: NewSnapshot, now: Date): Promise<SnapshotRecord> {
    const id = checkObjectName("snapshots", snapshot.id);
    const packs = normalizePacks(snapshot.packs);
    const committedAt = checkTime("now", now);
    const claimedTime = checkTime("claimedTime", snapshot.claimedTime);
    const recordedBy =
      snapshot.packsRecordedBy === undefined
        ? Number.MAX_SAFE_INTEGER
        : checkTime("packsRecordedBy", snapshot.packsRecordedBy);
    const detection =
      snapshot.detection === undefined ? undefined : checkDetection(snapshot.detection);
    const tenantId = snapshot.tenantId;
    return this.db.write(() => {
      const tenant = activeTenant(this.db, tenantId);
      if (agentRow(this.db, snapshot.agentId)?.tenant_id !== tenantId) {
        notFound("agent of this tenant", snapshot.agentId);
      }
      if (snapshotRow(this.db, tenantId, id) !== undefined) {
        throw new RempartError("ObjectConflict", `snapshot ${id} is already recorded`, { id });
      }
      const exists = this.db.statement(
        `SELECT 1 FROM objects o WHERE tenant_id = ? AND kind = ? AND name = ? AND created_at <= ?
          AND NOT ${HIDDEN}`,
      );
      const missing = [
        ...(exists.get(tenantId, "snapshots", id, Number.MAX_SAFE_INTEGER) === undefined
          ? [`snapshots/${id}`]
          : []),
        ...packs
          .filter((pack) => exists.get(tenantId, "data", pack, recordedBy) === undefined)
          .map((pack) => `data/${pack}`),
      ];
      if (missing.length > 0) {
        throw new RempartError(
          "NotFound",
          `snapshot ${id} refers to ${missing.length} object(s) this tenant does not have`,
          { missing: missing.slice(0, 100), missingCount: missing.length },
        );
      }
      const row: SnapshotRow = {
        tenant_id: tenantId,
        id,
        agent_id: snapshot.agentId,
        committed_at: committedAt,
        claimed_time: claimedTime,
        immutable_until: committedAt + tenant.immutable_days * DAY_MS,
        state: "active",
        known_good: 0,
        logical_bytes: snapshot.logicalBytes ?? null,
        detection_verdict: detection?.verdict ?? null,
        detection_score: detection?.score ?? null,
        detection_reasons: detection?.reasons ?? null,
        detection_signals: detection?.signals ?? null,
      };
      this.db
        .statement(
          `INSERT INTO snapshots (${SNAPSHOT_COLUMNS}) VALUES (@tenant_id, @id, @agent_id,
          @committed_at, @claimed_time, @immutable_until, @state, @known_good, @logical_bytes,
          @detection_verdict, @detection_score, @detection_reasons, @detection_signals)`,
        )
        .run(row);
      const addPack = this.db.statement(
        "INSERT INTO snapshot_packs (tenant_id, snapshot_id, pack) VALUES (?, ?, ?)",
      );
      for (const pack of packs) addPack.run(tenantId, id, pack);
      return toSnapshot(row);
    });
  }

  async getSnapshot(tenantId: string, id: string): Promise<SnapshotRecord | undefined> {
    const row = snapshotRow(this.db, tenantId, id);
    return row && toSnapshot(row);
  }

  async listSnapshots(tenantId: string): Promise<SnapshotRecord[]> {
    return this.db
      .statement<SnapshotRow>(
        `SELECT ${SNAPSHOT_COLUMNS} FROM snapshots WHERE tenant_id = ? ORDER BY committed_at, id`,
      )
      .all(tenantId)
      .map(toSnapshot);
  }

  async listAgentSnapshots(
    tenantId: string,
    agentId: string,
    limit: number,
  ): Promise<SnapshotRecord[]> {
    return this.db
      .statement<SnapshotRow>(
        `SELECT ${SNAPSHOT_COLUMNS} FROM snapshots WHERE tenant_id = ? AND agent_id = ?
        ORDER BY committed_at DESC, id DESC LIMIT ?`,
      )
      .all(tenantId, agentId, checkLimit(limit))
      .map(toSnapshot)
      .reverse();
  }

  async listSnapshotPacks(tenantId: string, id: string): Promise<string[]> {
    return this.db.read(() => {
      snapshotRow(this.db, tenantId, id) ?? notFound("snapshot", id);
      return this.db
        .statement<string>(
          "SELECT pack FROM snapshot_packs WHERE tenant_id = ? AND snapshot_id = ? ORDER BY pack",
        )
        .pluck()
        .all(tenantId, id);
    });
  }
}
