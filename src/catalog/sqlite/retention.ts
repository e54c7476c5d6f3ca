/** Retention and holds in SQLite: snapshot states, known-good marks, `retention_policies`. */
import { RempartError } from "../../errors.js";
import type { PolicyRecord, RetentionCatalog, RetentionRules } from "../retention.js";
import type { SnapshotRecord, SnapshotState } from "../snapshots.js";
import { checkRetentionRules, checkSnapshotState, checkTime } from "../validation.js";
import { notFound, type SqliteDb } from "./db.js";
import { agentRow, snapshotRow, tenantRow } from "./lookups.js";
import { POLICY_COLUMNS, type PolicyRow, toPolicy, toSnapshot } from "./rows.js";

export class SqliteRetention implements RetentionCatalog {
  constructor(private readonly db: SqliteDb) {}

  async setSnapshotState(
    tenantId: string,
    id: string,
    state: SnapshotState,
    now: Date,
  ): Promise<SnapshotRecord> {
    const to = checkSnapshotState(state);
    const at = checkTime("now", now);
    return this.db.write(() => {
      const row = snapshotRow(this.db, tenantId, id) ?? notFound("snapshot", id);
      const refuse = (reason: string, message: string): never => {
        throw new RempartError("ObjectConflict", message, { reason, id, from: row.state, to });
      };
      if (row.state === to) return toSnapshot(row);
      if (row.state === "deleted") refuse("deleted-is-final", `snapshot ${id} is deleted`);
      if (to === "deleted" && row.state === "held") {
        refuse("held", `snapshot ${id} is held; release the hold before deleting it`);
      }
      if (to === "deleted" && at < row.immutable_until) {
        refuse(
          "immutable",
          `snapshot ${id} is immutable until ${new Date(row.immutable_until).toISOString()}`,
        );
      }
      this.db
        .statement("UPDATE snapshots SET state = ? WHERE tenant_id = ? AND id = ?")
        .run(to, tenantId, id);
      return toSnapshot({ ...row, state: to });
    });
  }

  async markSnapshotKnownGood(tenantId: string, id: string): Promise<SnapshotRecord> {
    return this.db.write(() => {
      const row = snapshotRow(this.db, tenantId, id) ?? notFound("snapshot", id);
      if (row.state === "deleted")
        throw new RempartError("ObjectConflict", `snapshot ${id} is deleted`, {
          reason: "deleted-is-final",
          id,
        });
      this.db
        .statement("UPDATE snapshots SET known_good = 1 WHERE tenant_id = ? AND id = ?")
        .run(tenantId, id);
      return toSnapshot({ ...row, known_good: 1 });
    });
  }

  async setRetentionPolicy(
    tenantId: string,
    agentId: string | null,
    rules: RetentionRules,
    now: Date,
  ): Promise<PolicyRecord> {
    const checked = checkRetentionRules(rules);
    const row: PolicyRow = {
      tenant_id: tenantId,
      agent_id: agentId,
      keep_within_days: checked.keepWithinDays,
      keep_daily: checked.keepDaily,
      keep_weekly: checked.keepWeekly,
      keep_monthly: checked.keepMonthly,
      keep_yearly: checked.keepYearly,
      known_good_after_days: checked.knownGoodAfterDays,
      updated_at: checkTime("now", now),
    };
    return this.db.write(() => {
      tenantRow(this.db, tenantId) ?? notFound("tenant", tenantId);
      if (agentId !== null && agentRow(this.db, agentId)?.tenant_id !== tenantId)
        notFound("agent of this tenant", agentId);
      this.db
        .statement(
          "DELETE FROM retention_policies WHERE tenant_id = ? AND ifnull(agent_id, '') = ?",
        )
        .run(tenantId, agentId ?? "");
      this.db
        .statement(
          `INSERT INTO retention_policies (${POLICY_COLUMNS}) VALUES (@tenant_id, @agent_id,
          @keep_within_days, @keep_daily, @keep_weekly, @keep_monthly, @keep_yearly,
          @known_good_after_days, @updated_at)`,
        )
        .run(row);
      return toPolicy(row);
    });
  }

  async listRetentionPolicies(tenantId: string): Promise<PolicyRecord[]> {
    return this.db
      .statement<PolicyRow>(
        `SELECT ${POLICY_COLUMNS} FROM retention_policies WHERE tenant_id = ?
        ORDER BY agent_id IS NOT NULL, agent_id`,
      )
      .all(tenantId)
      .map(toPolicy);
  }
}
