import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import Sqlite from "better-sqlite3";
import { at, hashOf } from "../suite/fixtures.js";
import { openSqliteCatalog } from "./catalog.js";
import { MIGRATIONS, OPERATOR_SECURITY } from "./schema.js";

describe("SqliteCatalog operator security migration", () => {
  it("rebuilds operators for the read-only role, keeping them and everything that points at them", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rempart-catalog-"));
    try {
      const path = join(dir, "catalog.db");
      const raw = new Sqlite(path);
      raw.pragma("foreign_keys = ON");
      const before = MIGRATIONS.indexOf(OPERATOR_SECURITY);
      for (const migration of MIGRATIONS.slice(0, before)) raw.exec(migration);
      raw.pragma(`user_version = ${before}`);
      raw.exec(`
        INSERT INTO tenants (id, name, created_at, retention_days) VALUES ('t1', 'acme', 0, 30);
        INSERT INTO operators (id, username, password_hash, role, created_at)
          VALUES ('o1', 'alice', 'x', 'admin', 0), ('o2', 'bob', 'y', 'technician', 1);
        INSERT INTO sessions (token_hash, operator_id, created_at, expires_at)
          VALUES ('${hashOf("s1")}', 'o2', 10, ${at(86_400_000).getTime()});
        INSERT INTO enrollment_tokens (token_hash, tenant_id, created_by, created_at, expires_at, scopes)
          VALUES ('${hashOf("e1")}', 't1', 'o1', 0, 1, 'backup');
      `);
      raw.close();
      const catalog = openSqliteCatalog(path);
      try {
        const bob = await catalog.getOperatorByUsername("bob");
        assert.equal(bob?.role, "technician");
        assert.equal(bob?.totp, null);
        const found = await catalog.findSession(hashOf("s1"));
        assert.equal(found?.operator.username, "bob");
        assert.equal(
          found?.session.lastUsedAt.getTime(),
          10,
          "an old session was last used when made",
        );
        assert.equal(found?.session.mfa, false);
        const carol = await catalog.createOperator(
          { username: "carol", passwordHash: "z", role: "read-only" },
          at(0),
        );
        assert.equal(carol.role, "read-only");
      } finally {
        await catalog.close();
      }
      // The foreign keys still hold against the rebuilt table.
      const check = new Sqlite(path);
      try {
        assert.deepEqual(check.pragma("foreign_key_check"), []);
        check.pragma("foreign_keys = ON");
        assert.throws(() =>
          check
            .prepare(
              "INSERT INTO sessions (token_hash, operator_id, created_at, expires_at) VALUES (?, 'nobody', 0, 1)",
            )
            .run(hashOf("s2")),
        );
      } finally {
        check.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
