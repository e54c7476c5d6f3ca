import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import Sqlite from "better-sqlite3";
import { at } from "../suite/fixtures.js";
import { openSqliteCatalog } from "./catalog.js";
import { migrate, SCHEMA_VERSION } from "./schema.js";

const SYSTEM = { actor: { kind: "system", id: "alerts" } } as const;

describe("SqliteCatalog alert resolution migration", () => {
  it("opens a catalog of the version before: alerts keep how they stand, deliveries keep their ids, open ones can be resolved", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rempart-catalog-"));
    try {
      const path = join(dir, "catalog.db");
      const raw = new Sqlite(path);
      raw.pragma("foreign_keys = ON");
      migrate(raw, SCHEMA_VERSION - 1);
      raw.exec(`
        INSERT INTO tenants (id, name, created_at, retention_days) VALUES ('t1', 'acme', 0, 30);
        INSERT INTO operators (id, username, password_hash, role, created_at)
          VALUES ('o1', 'alice', 'x', 'admin', 0);
        INSERT INTO agents (id, tenant_id, hostname, secret_hash, scopes, created_at, expires_at)
          VALUES ('a1', 't1', 'pc', '${"0".repeat(64)}', 'backup', 0, 1);
        INSERT INTO alerts (id, tenant_id, agent_id, kind, severity, message, details, created_at)
          VALUES (7, 't1', 'a1', 'backup-stale', 'warning', 'pc is 30 h old', '{}', 10);
        INSERT INTO alerts (id, tenant_id, kind, severity, message, details, created_at,
          acknowledged_by, acknowledged_at, acknowledge_reason)
          VALUES (8, 't1', 'quota', 'high', 'full', '{}', 11, 'o1', 12, 'bought more disk');
        INSERT INTO alert_destinations (id, tenant_id, kind, target, secret, origin, created_at)
          VALUES ('d1', 't1', 'webhook', 'https://hooks.example.com/a', 's', 'admin', 0);
        INSERT INTO alert_outbox (id, alert_id, destination_id, created_at, attempts,
          delivered_at) VALUES (41, 7, 'd1', 10, 1, 11);
        INSERT INTO alert_outbox (id, alert_id, destination_id, created_at, next_attempt_at)
          VALUES (42, 8, 'd1', 11, 11);
      `);
      raw.close();

      const catalog = openSqliteCatalog(path);
      try {
        const stale = await catalog.getAlert(7);
        assert.equal(stale?.resolvedAt, null);
        assert.equal(stale?.resolvedBy, null);
        assert.equal((await catalog.getAlert(8))?.acknowledgeReason, "bought more disk");
        assert.deepEqual(await catalog.openAlertCounts(), new Map([["t1", 1]]));
        assert.deepEqual(
          (await catalog.listDeliveries({ limit: 10 })).map((d) => [d.id, d.event, d.state]),
          [
            [42, "raise", "pending"],
            [41, "raise", "delivered"],
          ],
        );

        await catalog.resolveAlert(7, "a backup of pc arrived", SYSTEM, at(20));
        assert.deepEqual(await catalog.openAlertCounts(), new Map());
        const [notice] = await catalog.listDeliveries({ limit: 1 });
        assert.deepEqual([notice?.id, notice?.alertId, notice?.event], [43, 7, "resolve"]);
      } finally {
        await catalog.close();
      }

      const after = new Sqlite(path);
      try {
        assert.equal(after.pragma("user_version", { simple: true }), SCHEMA_VERSION);
        assert.throws(
          () => after.exec("UPDATE alerts SET resolve_reason = 'nothing happened' WHERE id = 7"),
          /a closed alert is final/,
        );
        // Acknowledged and resolved at once is not a state an alert can be in.
        after.exec(`INSERT INTO alerts (id, tenant_id, kind, severity, message, details, created_at)
          VALUES (9, 't1', 'quota', 'high', 'full', '{}', 30)`);
        assert.throws(
          () =>
            after.exec(`UPDATE alerts SET acknowledged_by = 'o1', acknowledged_at = 31,
              acknowledge_reason = 'r', resolved_by = 'system', resolved_at = 31,
              resolve_reason = 'r' WHERE id = 9`),
          /CHECK constraint failed/,
        );
        assert.throws(
          () =>
            after.exec(`UPDATE alerts SET resolved_by = 'alice', resolved_at = 31,
              resolve_reason = 'r' WHERE id = 9`),
          /CHECK constraint failed/,
        );
        assert.throws(() => after.exec("DELETE FROM alert_outbox"), /keeps its history/);
      } finally {
        after.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
