import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import Sqlite from "better-sqlite3";
import { auditEntryHash } from "../../catalog/audit-chain.js";
import { MIGRATIONS } from "../../catalog/sqlite/schema.js";
import { openDataDir } from "../data-dir.js";
import { tempDir } from "../test-support.js";

const BIN = fileURLToPath(new URL("../../../bin/rempart.js", import.meta.url));

function verify(dir: string, ...args: string[]) {
  const run = spawnSync(
    process.execPath,
    [BIN, "admin", "audit", "verify", ...args, "--data", dir],
    {
      encoding: "utf8",
    },
  );
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

interface Verdict {
  ok: boolean;
  entries: number;
  head: { seq: number; hash: string } | null;
  broken: { problem: string; seq: number; id: number | null; message: string } | null;
}

function verifyJson(dir: string, ...args: string[]): { code: number | null; verdict: Verdict } {
  const run = verify(dir, "--json", ...args);
  return { code: run.code, verdict: JSON.parse(run.stdout) as Verdict };
}

/** A data directory whose log holds `count` entries (ids 1…count, seq = id), and its file. */
async function logOf(t: { after(fn: () => void): void }, count: number) {
  const dir = tempDir(t, "audit-chain");
  const data = await openDataDir(dir);
  for (let i = 1; i <= count; i += 1)
    await data.catalog.appendAudit(
      {
        actor: { kind: "operator", id: "op" },
        action: "tenant.create",
        tenantId: null,
        details: { i },
      },
      new Date(Date.UTC(2030, 0, 1, 0, i)),
    );
  await data.catalog.close();
  return { dir, file: join(dir, "catalog.sqlite") };
}

/** Edits the file as someone holding it would: the append-only triggers go first. */
function tamper(file: string, sql: string): void {
  const db = new Sqlite(file);
  db.exec(`DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;
    DROP TRIGGER audit_log_no_replace; DROP TRIGGER audit_log_chain; ${sql}`);
  db.close();
}

describe("rempart admin audit verify", () => {
  it("passes an intact chain, prints its head, and checks a recorded head later", async (t) => {
    const { dir } = await logOf(t, 5);
    const run = verify(dir);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /audit log intact: 5 entries/);
    const { verdict } = verifyJson(dir);
    assert.equal(verdict.ok, true);
    assert.equal(verdict.head?.seq, 5);
    const anchor = `${verdict.head?.seq}:${verdict.head?.hash}`;
    assert.equal(verify(dir, "--anchor", anchor).code, 0);
    // Cutting the tail leaves a valid chain: only the recorded head shows it.
    tamper(join(dir, "catalog.sqlite"), "DELETE FROM audit_log WHERE seq >= 4;");
    assert.equal(verify(dir).code, 0);
    const cut = verifyJson(dir, "--anchor", anchor);
    assert.equal(cut.code, 11);
    assert.equal(cut.verdict.broken?.problem, "truncated");
    assert.equal(cut.verdict.broken?.seq, 5);
  });

  it("names an entry edited by hand", async (t) => {
    const { dir, file } = await logOf(t, 6);
    tamper(file, `UPDATE audit_log SET details = '{"i":99}' WHERE seq = 3;`);
    const run = verify(dir);
    assert.equal(run.code, 11);
    assert.match(run.stdout, /BROKEN at entry 3: entry 3 \(id 3\) was edited/);
    const { verdict } = verifyJson(dir);
    assert.deepEqual([verdict.broken?.problem, verdict.broken?.seq], ["edited", 3]);
  });

  it("names an entry edited with its hash recomputed, by the link after it", async (t) => {
    const { dir, file } = await logOf(t, 6);
    const db = new Sqlite(file);
    const row = db.prepare("SELECT * FROM audit_log WHERE seq = 2").get() as Record<
      string,
      unknown
    >;
    db.close();
    // The forger knows the hash function (it is not keyed): entry 2 is consistent with itself.
    const forged = auditEntryHash(String(row.prev_hash), {
      seq: 2,
      at: Number(row.at),
      actorKind: "system",
      actorId: null,
      action: "tenant.create",
      tenantId: null,
      details: "{}",
    });
    tamper(
      file,
      `UPDATE audit_log SET actor_kind = 'system', actor_id = NULL, details = '{}', hash = '${forged}' WHERE seq = 2;`,
    );
    const { code, verdict } = verifyJson(dir);
    assert.equal(code, 11);
    assert.deepEqual([verdict.broken?.problem, verdict.broken?.seq], ["edited", 2]);
    assert.match(
      verdict.broken?.message ?? "",
      /hash recomputed: entry 3 \(id 3\) no longer follows it/,
    );
  });

  it("names an entry removed by hand", async (t) => {
    const { dir, file } = await logOf(t, 6);
    tamper(file, "DELETE FROM audit_log WHERE seq = 4;");
    const run = verify(dir);
    assert.equal(run.code, 11);
    assert.match(
      run.stdout,
      /BROKEN at entry 4: entry 4 was removed \(entry 5 \(id 5\) follows entry 3\)/,
    );
  });

  it("names entries moved by hand", async (t) => {
    const { dir, file } = await logOf(t, 6);
    // Entries 3 and 4 swap places in the table's order.
    tamper(
      file,
      "UPDATE audit_log SET id = 100 WHERE seq = 3; UPDATE audit_log SET id = 3 WHERE seq = 4; UPDATE audit_log SET id = 4 WHERE seq = 3;",
    );
    const { code, verdict } = verifyJson(dir);
    assert.equal(code, 11);
    assert.deepEqual(
      [verdict.broken?.problem, verdict.broken?.seq, verdict.broken?.id],
      ["reordered", 4, 3],
    );
    assert.match(
      verdict.broken?.message ?? "",
      /entry 4 \(id 3\) was moved: it comes before entry 3/,
    );
  });

  it("chains the entries a catalog held before the chain existed, in id order", async (t) => {
    const dir = tempDir(t, "audit-migrate");
    const raw = new Sqlite(join(dir, "catalog.sqlite"));
    for (const migration of MIGRATIONS.slice(0, 6)) raw.exec(migration);
    raw.pragma("user_version = 6");
    const insert = raw.prepare(
      "INSERT INTO audit_log (at, actor_kind, actor_id, action, tenant_id, details) VALUES (?, 'system', NULL, ?, NULL, '{}')",
    );
    for (const action of ["first.one", "second.one", "third.one"]) insert.run(1000, action);
    raw.close();
    const data = await openDataDir(dir);
    await data.catalog.appendAudit(
      { actor: { kind: "system", id: null }, action: "fourth.one", tenantId: null },
      new Date(2000),
    );
    const chain = await data.catalog.readAuditChain({ limit: 10 });
    await data.catalog.close();
    assert.deepEqual(
      chain.map((e) => [e.seq, e.action]),
      [
        [1, "first.one"],
        [2, "second.one"],
        [3, "third.one"],
        [4, "fourth.one"],
      ],
    );
    const { code, verdict } = verifyJson(dir);
    assert.equal(code, 0);
    assert.equal(verdict.entries, 4);
  });
});
