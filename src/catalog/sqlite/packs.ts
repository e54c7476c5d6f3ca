/** GC's view of packs in SQLite: `data` objects no live snapshot lists. */
import type { ForgetOutcome, PackCatalog, PackUsage, UnreferencedPackQuery } from "../packs.js";
import { checkObjectName, checkPage, checkTime } from "../validation.js";
import { UNREFERENCED } from "./conditions.js";
import type { SqliteDb } from "./db.js";

export class SqlitePacks implements PackCatalog {
  constructor(private readonly db: SqliteDb) {}

  async listUnreferencedPacks(tenantId: string, query: UnreferencedPackQuery): Promise<string[]> {
    const { after, limit } = checkPage(query);
    const before = checkTime("createdBefore", query.createdBefore);
    return this.db
      .statement<string>(
        `SELECT o.name FROM objects o
        WHERE o.tenant_id = ? AND o.kind = 'data' AND o.created_at < ? AND o.name > ?
          AND ${UNREFERENCED}
        ORDER BY o.name LIMIT ?`,
      )
      .pluck()
      .all(tenantId, before, after, limit);
  }

  async unreferencedPackUsage(tenantId: string, createdBefore: Date): Promise<PackUsage> {
    const before = checkTime("createdBefore", createdBefore);
    const row = this.db
      .statement<{ count: number; bytes: number | null }>(
        `SELECT count(*) AS count, sum(o.size) AS bytes FROM objects o
        WHERE o.tenant_id = ? AND o.kind = 'data' AND o.created_at < ? AND ${UNREFERENCED}`,
      )
      .get(tenantId, before);
    return { count: row?.count ?? 0, bytes: row?.bytes ?? 0 };
  }

  async forgetPack(
    tenantId: string,
    name: string,
    createdBefore: Date,
  ): Promise<{ outcome: ForgetOutcome; size: number }> {
    const pack = checkObjectName("data", name);
    const before = checkTime("createdBefore", createdBefore);
    return this.db.write(() => {
      const row = this.db
        .statement<{ size: number; created_at: number; unreferenced: number }>(
          `SELECT size, created_at, ${UNREFERENCED} AS unreferenced FROM objects o
          WHERE o.tenant_id = ? AND o.kind = 'data' AND o.name = ?`,
        )
        .get(tenantId, pack);
      if (row === undefined) return { outcome: "absent", size: 0 };
      if (row.created_at >= before) return { outcome: "recent", size: row.size };
      if (row.unreferenced !== 1) return { outcome: "referenced", size: row.size };
      // Only deleted snapshots still list it; their lists go with it (the foreign key wants so).
      this.db
        .statement("DELETE FROM snapshot_packs WHERE tenant_id = ? AND pack = ?")
        .run(tenantId, pack);
      this.db
        .statement("DELETE FROM objects WHERE tenant_id = ? AND kind = 'data' AND name = ?")
        .run(tenantId, pack);
      return { outcome: "forgotten", size: row.size };
    });
  }
}
