/**
 * The server's own jobs, inside a real server (real SQLite, real files): prune and GC on a
 * schedule, one run for overlapping triggers, the maintenance lock shared with `rempart admin`,
 * failures audited without stopping the server, and backup-health alerts raised once.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { Catalog } from "../../catalog/catalog.js";
import { openDataDir } from "../data-dir.js";
import { asPack, sha256, type TestServer } from "../test-support.js";
import { eventually, every, reportFailedBackup, startOpsServer } from "./ops-test-support.js";

const DAY_MS = 24 * 3_600_000;

async function catalogOf(t: { after(fn: () => unknown): void }, server: TestServer) {
  const data = await openDataDir(server.dataDir);
  t.after(() => data.catalog.close());
  return data.catalog;
}

async function commit(server: TestServer, credential: string, packs: readonly string[]) {
  const snapshot = randomBytes(40);
  const answer = await server.commit(credential, snapshot, packs, new Date().toISOString());
  assert.equal(answer.status, 201, answer.body.toString());
  return sha256(snapshot);
}

async function uploadPack(server: TestServer, credential: string): Promise<string> {
  const pack = asPack(randomBytes(300));
  const answer = await server.put(credential, "data", sha256(pack), pack);
  assert.equal(answer.status, 201, answer.body.toString());
  return sha256(pack);
}

function packPath(server: TestServer, tenantId: string, name: string): string {
  return join(server.tenantDir(tenantId), "data", name.slice(0, 2), name);
}

async function auditActions(catalog: Catalog, action: string): Promise<number> {
  return (await catalog.listAudit({ limit: 1000 })).filter((e) => e.action === action).length;
}

describe("server jobs", () => {
  it("prune then GC run on their schedule inside the server: an expired snapshot and its pack go", async (t) => {
    const { test: server, started } = await startOpsServer(t, {
      jobs: { schedules: {}, gcGraceMs: 0 },
    });
    const session = await server.login();
    const tenant = await server.createTenant(session, "acme", { immutable_days: 0 });
    const agent = await server.agentOf(session, "acme");
    const pack = await uploadPack(server, agent.credential);
    const old = await commit(server, agent.credential, [pack]);
    server.clock.advance(40 * DAY_MS);
    const recent = await commit(server, agent.credential, []);
    const catalog = await catalogOf(t, server);
    const state = async (id: string) =>
      (await catalog.listSnapshots(tenant.id)).find((s) => s.id === id)?.state;
    assert.equal(await state(old), "active");
    assert.ok(existsSync(packPath(server, tenant.id, pack)));

    // Nothing is scheduled yet: the server above ran no job.
    assert.equal(started.jobs?.stats().get("prune")?.runs.ok, 0);
    await started.close();
    const { test: restarted, started: again } = await startOpsServer(t, {
      dataDir: server.dataDir,
      jobs: { schedules: { prune: every(20), gc: every(20) }, gcGraceMs: 0 },
    });
    restarted.clock.advance(40 * DAY_MS);
    const reopened = await catalogOf(t, server);
    // The pack file goes while GC still runs: its run counts only once it has ended.
    const ended = (job: "prune" | "gc") => (again.jobs?.stats().get(job)?.runs.ok ?? 0) >= 1;
    await eventually("prune removes the 40-day-old snapshot and GC frees its pack", async () => {
      const snapshots = await reopened.listSnapshots(tenant.id);
      return (
        snapshots.find((s) => s.id === old)?.state === "deleted" &&
        !existsSync(packPath(server, tenant.id, pack)) &&
        ended("prune") &&
        ended("gc")
      );
    });
    assert.equal(
      (await reopened.listSnapshots(tenant.id)).find((s) => s.id === recent)?.state,
      "active",
    );
    assert.equal(
      again.jobs?.stats().get("deletions")?.runs.ok,
      0,
      "a job without a schedule does not run",
    );
    assert.ok((await auditActions(reopened, "retention.prune")) >= 1);
    assert.ok((await auditActions(reopened, "gc.run")) >= 1);
  });

  it("runs a job once for two overlapping triggers", async (t) => {
    const { test: server, started } = await startOpsServer(t, {
      jobs: { schedules: {}, gcGraceMs: 0 },
    });
    const session = await server.login();
    const tenant = await server.createTenant(session, "acme");
    const agent = await server.agentOf(session, "acme");
    const pack = await uploadPack(server, agent.credential);
    const jobs = started.jobs;
    assert.ok(jobs);
    const [first, second] = await Promise.all([jobs.run("gc"), jobs.run("gc")]);
    assert.equal(first, second, "the second trigger gets the run in progress");
    assert.equal(first.outcome, "ok", first.error ?? "");
    assert.equal(first.counts.freed_objects, 1);
    assert.equal(jobs.stats().get("gc")?.runs.ok, 1);
    assert.equal(existsSync(packPath(server, tenant.id, pack)), false);
    assert.equal(await auditActions(await catalogOf(t, server), "gc.run"), 1);
    // Once it has ended, a trigger starts a new run.
    assert.notEqual(await jobs.run("gc"), first);
    assert.equal(jobs.stats().get("gc")?.runs.ok, 2);
  });

  it("skips a maintenance job while another process holds the lock, and runs it after", async (t) => {
    const { test: server, started } = await startOpsServer(t, { jobs: { schedules: {} } });
    const jobs = started.jobs;
    assert.ok(jobs);
    const lock = join(server.dataDir, "gc.lock");
    // A live process other than this one: the test runner that started this file.
    writeFileSync(lock, String(process.ppid));
    const busy = await jobs.run("prune");
    assert.equal(busy.outcome, "busy", busy.summary);
    assert.match(busy.error ?? "", /another GC is running/);
    assert.equal(existsSync(lock), true, "the other process's lock is left alone");
    rmSync(lock);
    assert.equal((await jobs.run("prune")).outcome, "ok");
    assert.equal(existsSync(lock), false, "the job released the lock it took");
  });

  it("logs and audits a failing job, and the server goes on serving", async (t) => {
    const { test: server, started } = await startOpsServer(t, {
      jobs: { schedules: {}, gcGraceMs: 0 },
    });
    const session = await server.login();
    const broken = await server.createTenant(session, "broken");
    const fineTenant = await server.createTenant(session, "fine");
    const fine = await server.agentOf(session, "fine");
    const pack = await uploadPack(server, fine.credential);
    await uploadPack(server, (await server.agentOf(session, "broken")).credential);
    // The broken tenant's trash is a file: GC cannot set its unreferenced pack aside.
    const trash = join(server.tenantDir(broken.id), "gc-trash");
    rmSync(trash, { recursive: true, force: true });
    writeFileSync(trash, "not a directory");

    const result = await started.jobs?.run("gc");
    assert.equal(result?.outcome, "failed");
    assert.match(result?.error ?? "", /tenant broken/);
    assert.equal(result?.counts.freed_objects, 1, "the other tenant was still collected");
    const catalog = await catalogOf(t, server);
    const failures = (await catalog.listAudit({ limit: 100 })).filter(
      (e) => e.action === "job.fail",
    );
    assert.equal(failures.length, 1);
    assert.equal(failures[0]?.details.job, "gc");
    assert.equal((await server.send({ path: "/v1/health" })).status, 200);
    assert.equal(existsSync(packPath(server, fineTenant.id, pack)), false);
  });

  it("raises one stale alert per agent, one failing alert and one quota alert, however often it runs", async (t) => {
    const { test: server, started } = await startOpsServer(t, { jobs: { schedules: {} } });
    const session = await server.login();
    const acme = await server.createTenant(session, "acme", { quota_bytes: 1000 });
    const quiet = await server.agentOf(session, "acme", "quiet-pc");
    const failing = await server.agentOf(session, "acme", "failing-pc");
    const healthy = await server.agentOf(session, "acme", "healthy-pc");
    const jobs = started.jobs;
    assert.ok(jobs);
    // Fresh agents within the RPO: nothing to say.
    assert.equal((await jobs.run("alerts")).counts.alerts_raised, 0);

    server.clock.advance(25 * 3_600_000);
    await commit(server, healthy.credential, []);
    await reportFailedBackup(server, failing.credential, "disk gone");
    // 950 of 1000 bytes: above 90 % of the quota.
    const big = asPack(Buffer.alloc(950, 1));
    const stored = await server.put(healthy.credential, "data", sha256(big), big);
    assert.equal(stored.status, 201, stored.body.toString());

    for (let run = 0; run < 3; run += 1) assert.equal((await jobs.run("alerts")).outcome, "ok");
    const catalog = await catalogOf(t, server);
    const alerts = await catalog.listAlerts({ tenantId: acme.id, limit: 100 });
    const seen = alerts.map((a) => `${a.kind}:${a.agentId ?? "-"}`).sort();
    assert.deepEqual(
      seen,
      [
        `backup-failing:${failing.agent_id}`,
        `backup-stale:${failing.agent_id}`,
        `backup-stale:${quiet.agent_id}`,
        "quota:-",
      ].sort(),
    );
    const stale = alerts.find((a) => a.kind === "backup-stale" && a.agentId === quiet.agent_id);
    assert.match(stale?.message ?? "", /quiet-pc .*never completed a backup/);
  });
});
