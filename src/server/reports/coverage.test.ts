/**
 * Coverage over a fleet in every state, built through the real API (tenants, enrollment, commits,
 * check-ins, drill reports) and, for offboarding and former clients, the catalog: the route, and
 * `rempart admin report coverage` in table, JSON and CSV, worst first with the right totals.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { describe, it } from "node:test";
import { openSqliteCatalog } from "../../catalog/sqlite/catalog.js";
import type { CoverageReport } from "../../protocol/api.js";
import { expectExit, jsonOutput, runCli } from "../../testing/cli.js";
import { assertError, json, sha256, startTestServer, type TestServer } from "../test-support.js";

const HOUR = 3_600_000;
const QUOTED_HOST = 'pc "one", main';
const FORMULA_HOST = "=HYPERLINK(1)";

async function backedUp(server: TestServer, session: string, tenant: string, host: string) {
  const agent = await server.agentOf(session, tenant, host);
  const snapshot = randomBytes(300);
  const answer = await server.commit(agent.credential, snapshot);
  assert.equal(answer.status, 201, answer.body.toString());
  return { token: agent.credential, snapshotId: sha256(snapshot) };
}

function checkIn(server: TestServer, token: string, outcome: string, error?: string) {
  return server.send({
    method: "POST",
    path: "/v1/agent/checkin",
    token,
    json: {
      version: "0.1.0",
      last_backup: { at: new Date().toISOString(), outcome, ...(error ? { error } : {}) },
    },
  });
}

function drill(server: TestServer, token: string, body: Record<string, unknown>) {
  return server.send({ method: "POST", path: "/v1/agent/drills", token, json: body });
}

/** Every state once: a client each, named so that name order differs from status order. */
async function buildFleet(server: TestServer) {
  const session = await server.login();
  for (const name of ["f-none", "e-never", "d-failing", "c-stale", "b-alert", "a-ok"])
    await server.createTenant(session, name, name === "c-stale" ? { rpo_seconds: 3600 } : {});
  await server.createTenant(session, "g-leaving");
  await server.createTenant(session, "h-gone");

  await server.agentOf(session, "e-never", FORMULA_HOST);
  const failing = await backedUp(server, session, "d-failing", "fs1");
  assert.equal((await checkIn(server, failing.token, "failure", "disk full")).status, 204);
  // Committed three hours ago by the server's clock, against an RPO of one hour.
  server.clock.advance(-3 * HOUR);
  await backedUp(server, session, "c-stale", "fs2");
  server.clock.advance(3 * HOUR);
  const alerted = await backedUp(server, session, "b-alert", "fs3");
  const failed = await drill(server, alerted.token, {
    snapshot_id: alerted.snapshotId,
    ok: false,
    files: 0,
    bytes: 0,
    duration_ms: 40,
    error: "1 of 1 sampled file(s) failed; the first could not be restored",
  });
  assert.equal(failed.status, 201, failed.body.toString());
  const ok = await backedUp(server, session, "a-ok", QUOTED_HOST);
  assert.equal((await checkIn(server, ok.token, "success")).status, 204);
  const passed = await drill(server, ok.token, {
    snapshot_id: ok.snapshotId,
    ok: true,
    files: 200,
    bytes: 50_000_000,
    duration_ms: 2000,
  });
  assert.equal(passed.status, 201, passed.body.toString());
  await backedUp(server, session, "g-leaving", "fs4");
  await backedUp(server, session, "h-gone", "fs5");

  const catalog = openSqliteCatalog(join(server.dataDir, "catalog.sqlite"));
  try {
    for (const name of ["g-leaving", "h-gone"]) {
      const tenant = await catalog.getTenantByName(name);
      assert.ok(tenant);
      await catalog.revokeTenantAgents(tenant.id, new Date());
      await catalog.updateTenant(tenant.id, { status: "offboarding" });
      if (name === "h-gone") await catalog.updateTenant(tenant.id, { status: "deleted" });
    }
  } finally {
    await catalog.close();
  }
  return session;
}

const EXPECTED = [
  ["e-never", "unprotected"],
  ["f-none", "unprotected"],
  ["d-failing", "failing"],
  ["c-stale", "stale"],
  ["b-alert", "at-risk"],
  ["a-ok", "protected"],
  ["g-leaving", "offboarding"],
  ["h-gone", "former"],
];
const SUMMARY = "1 of 6 clients protected, 16 % (not counted: 1 offboarding, 1 former)";

function assertReport(report: CoverageReport): void {
  assert.deepEqual(
    report.clients.map((c) => [c.tenant, c.status]),
    EXPECTED,
  );
  assert.equal(report.summary, SUMMARY);
  assert.deepEqual(report.totals, {
    clients: 6,
    protected: 1,
    percent: 16,
    offboarding: 1,
    former: 1,
    by_status: {
      unprotected: 2,
      failing: 1,
      stale: 1,
      "at-risk": 1,
      protected: 1,
      offboarding: 1,
      former: 1,
    },
  });
  const client = (name: string) => {
    const found = report.clients.find((c) => c.tenant === name);
    assert.ok(found, name);
    return found;
  };
  assert.deepEqual(client("f-none").machines, []);
  assert.equal(client("f-none").reason, "no agent enrolled");
  assert.equal(client("e-never").machines[0]?.reason, "never backed up");
  assert.equal(client("d-failing").reason, "last backup failed: disk full");
  assert.match(client("c-stale").reason, /older than the RPO of 60 min/);
  assert.equal(client("c-stale").rpo_seconds, 3600);
  const stale = client("c-stale").machines[0];
  assert.ok(stale?.age_seconds !== null && (stale?.age_seconds ?? 0) >= 3 * 3600 - 60);
  const atRisk = client("b-alert").machines[0];
  assert.equal(atRisk?.open_alerts, 1);
  assert.equal(atRisk?.last_drill?.ok, false);
  assert.equal(atRisk?.last_drill?.rate_mb_s, null);
  const ok = client("a-ok").machines[0];
  assert.equal(ok?.hostname, QUOTED_HOST);
  assert.equal(ok?.detection_verdict, "ok");
  assert.equal(ok?.last_outcome, "success");
  assert.deepEqual(
    [ok?.last_drill?.ok, ok?.last_drill?.files, ok?.last_drill?.rate_mb_s],
    [true, 200, 25],
  );
  assert.equal(client("h-gone").machines[0]?.status, "former");
}

describe("the coverage report", () => {
  it("lists a fleet in every state worst first, with totals, over HTTP and from the CLI as a table, JSON and CSV", async (t) => {
    const server = await startTestServer(t);
    const session = await buildFleet(server);

    assertError(await server.send({ path: "/v1/reports/coverage" }), "Unauthorized");
    const answer = await server.send({ path: "/v1/reports/coverage", token: session });
    assert.equal(answer.status, 200, answer.body.toString());
    assertReport(json<CoverageReport>(answer));

    const data = ["--data", server.dataDir];
    assertReport(
      jsonOutput<CoverageReport>(
        expectExit(await runCli(["admin", "report", "coverage", ...data, "--json"]), 0),
      ),
    );

    const table = expectExit(await runCli(["admin", "report", "coverage", ...data]), 0).stdout;
    const lines = table.trimEnd().split("\n");
    assert.equal(lines[0], SUMMARY);
    assert.deepEqual(
      lines
        .filter((l) => !l.startsWith(" "))
        .slice(1)
        .map((l) => l.split("  ").slice(0, 2)),
      EXPECTED.map(([tenant, status]) => [status?.toUpperCase(), tenant]),
    );
    assert.match(table, /drill ok \d{4}-\d\d-\d\d 25 MB\/s/);
    assert.match(table, /drill FAILED/);

    const csv = expectExit(
      await runCli(["admin", "report", "coverage", ...data, "--csv"]),
      0,
    ).stdout;
    assert.ok(csv.endsWith("\r\n"));
    const rows = csv.split("\r\n").slice(0, -1);
    assert.equal(rows.length, 1 + EXPECTED.length);
    assert.match(rows[0] ?? "", /^tenant,tenant_status,rpo_seconds,client_status,hostname,/);
    assert.deepEqual(
      rows.slice(1).map((r) => r.split(",")[0]),
      EXPECTED.map(([tenant]) => tenant),
    );
    // RFC 4180: a field with a comma or quote is quoted, its quotes doubled; a formula is defused.
    const okRow = rows.find((r) => r.startsWith("a-ok,"));
    assert.match(okRow ?? "", /,"pc ""one"", main",/);
    assert.match(rows.find((r) => r.startsWith("e-never,")) ?? "", /,'=HYPERLINK\(1\),/);
    assert.match(
      rows.find((r) => r.startsWith("f-none,")) ?? "",
      /^f-none,active,86400,unprotected,,,unprotected,no agent enrolled,/,
    );
  });
});
