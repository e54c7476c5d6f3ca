/** Object records in SQLite: the `objects` table, and what an agent may see of it. */
import { RempartError } from "../../errors.js";
import { OBJECT_KINDS, type ObjectKind, type PutOutcome } from "../../storage/object-store.js";
import {
  type KindUsage,
  MAX_LOOKUP,
  type NewObject,
  type ObjectCatalog,
  type ObjectUsage,
  type Page,
  type StoredObject,
  type UploadVolume,
} from "../objects.js";
import {
  checkObjectKind,
  checkObjectName,
  checkPage,
  checkSize,
  checkTime,
} from "../validation.js";
import { VISIBLE } from "./conditions.js";
import { notFound, type SqliteDb } from "./db.js";
import { agentRow, tenantRow } from "./lookups.js";
import { OBJECT_COLUMNS, type ObjectRow, toStoredObject } from "./rows.js";

export class SqliteObjects implements ObjectCatalog {
  constructor(private readonly db: SqliteDb) {}

  async recordObject(object: NewObject, now: Date): Promise<PutOutcome> {
    const kind = checkObjectKind(object.kind);
    const row = {
      tenant_id: object.tenantId,
      kind,
      name: checkObjectName(kind, object.name),
      size: checkSize(object.size),
      created_at: checkTime("now", now),
      created_by_agent: object.createdByAgent ?? null,
    };
    return this.db.write(() => {
      tenantRow(this.db, row.tenant_id) ?? notFound("tenant", row.tenant_id);
      const agent = row.created_by_agent;
      if (agent !== null && agentRow(this.db, agent)?.tenant_id !== row.tenant_id) {
        notFound("agent of this tenant", agent);
      }
      const existing = this.db
        .statement<{ size: number }>(
          "SELECT size FROM objects WHERE tenant_id = ? AND kind = ? AND name = ?",
        )
        .get(row.tenant_id, row.kind, row.name);
      if (existing === undefined) {
        this.db
          .statement(
            `INSERT INTO objects (tenant_id, kind, name, size, created_at, created_by_agent)
            VALUES (@tenant_id, @kind, @name, @size, @created_at, @created_by_agent)`,
          )
          .run(row);
        return "created";
      }
      if (existing.size !== row.size) {
        throw new RempartError(
          "ObjectConflict",
          `${kind}/${row.name} is recorded with ${existing.size} bytes, not ${row.size}`,
          { kind, name: row.name, recorded: existing.size, offered: row.size },
        );
      }
      return "exists";
    });
  }

  async objectExists(tenantId: string, kind: ObjectKind, name: string): Promise<boolean> {
    return (
      this.db
        .statement("SELECT 1 FROM objects WHERE tenant_id = ? AND kind = ? AND name = ?")
        .get(tenantId, kind, name) !== undefined
    );
  }

  async listObjectNames(tenantId: string, kind: ObjectKind, page: Page): Promise<string[]> {
    const { after, limit } = checkPage(page);
    return this.db
      .statement<string>(
        `SELECT name FROM objects WHERE tenant_id = ? AND kind = ? AND name > ?
        ORDER BY name LIMIT ?`,
      )
      .pluck()
      .all(tenantId, checkObjectKind(kind), after, limit);
  }

  async objectUsage(tenantId: string): Promise<ObjectUsage> {
    // A deleted snapshot keeps its object's row (its record refers to it) but not its bytes.
    const rows = this.db
      .statement<{ kind: ObjectKind; count: number; bytes: number }>(
        `SELECT kind, count(*) AS count, sum(size) AS bytes FROM objects o
        WHERE tenant_id = ? AND NOT (kind = 'snapshots' AND EXISTS (
          SELECT 1 FROM snapshots s
            WHERE s.tenant_id = o.tenant_id AND s.id = o.name AND s.state = 'deleted'))
        GROUP BY kind`,
      )
      .all(tenantId);
    const byKind = Object.fromEntries(
      OBJECT_KINDS.map((kind) => [kind, { count: 0, bytes: 0 }]),
    ) as Record<ObjectKind, KindUsage>;
    for (const { kind, count, bytes } of rows) byKind[kind] = { count, bytes };
    return {
      totalBytes: rows.reduce((sum, row) => sum + row.bytes, 0),
      totalCount: rows.reduce((sum, row) => sum + row.count, 0),
      byKind,
    };
  }

  async listVisibleObjects(
    tenantId: string,
    kind: ObjectKind,
    page: Page,
  ): Promise<StoredObject[]> {
    const { after, limit } = checkPage(page);
    return this.db
      .statement<ObjectRow>(
        `SELECT ${OBJECT_COLUMNS} FROM objects o
        WHERE o.tenant_id = ? AND o.kind = ? AND o.name > ? AND ${VISIBLE}
        ORDER BY o.name LIMIT ?`,
      )
      .all(tenantId, checkObjectKind(kind), after, limit)
      .map(toStoredObject);
  }

  async getVisibleObject(
    tenantId: string,
    kind: ObjectKind,
    name: string,
  ): Promise<StoredObject | undefined> {
    const row = this.db
      .statement<ObjectRow>(
        `SELECT ${OBJECT_COLUMNS} FROM objects o
        WHERE o.tenant_id = ? AND o.kind = ? AND o.name = ? AND ${VISIBLE}`,
      )
      .get(tenantId, checkObjectKind(kind), name);
    return row && toStoredObject(row);
  }

  async visibleObjects(
    tenantId: string,
    kind: ObjectKind,
    names: readonly string[],
  ): Promise<string[]> {
    if (
      !Array.isArray(names) ||
      names.length > MAX_LOOKUP ||
      !names.every((n) => typeof n === "string")
    ) {
      throw new RempartError(
        "InvalidArgument",
        `visibleObjects takes at most ${MAX_LOOKUP} names, as strings`,
        { field: "names", count: Array.isArray(names) ? names.length : null },
      );
    }
    if (names.length === 0) return [];
    // One statement for any number of names: the list travels as one JSON array parameter.
    return this.db
      .statement<string>(
        `SELECT o.name FROM objects o WHERE o.tenant_id = ? AND o.kind = ?
        AND o.name IN (SELECT value FROM json_each(?)) AND ${VISIBLE}`,
      )
      .pluck()
      .all(tenantId, checkObjectKind(kind), JSON.stringify(names));
  }

  async uploadsByAgent(tenantId: string, agentId: string, after: Date): Promise<UploadVolume> {
    const row = this.db
      .statement<{
        objects: number;
        bytes: number | null;
        packs: number;
        pack_bytes: number | null;
      }>(
        `SELECT count(*) AS objects, sum(size) AS bytes,
          count(*) FILTER (WHERE kind = 'data') AS packs,
          sum(size) FILTER (WHERE kind = 'data') AS pack_bytes
        FROM objects WHERE tenant_id = ? AND created_by_agent = ? AND created_at > ?`,
      )
      .get(tenantId, agentId, checkTime("after", after));
    return {
      objects: row?.objects ?? 0,
      bytes: row?.bytes ?? 0,
      packs: row?.packs ?? 0,
      packBytes: row?.pack_bytes ?? 0,
    };
  }
}
