/**
 * Condition alerts close by themselves: a real server (TLS, SQLite, its alerts job, a signed
 * webhook receiver on 127.0.0.1) raises stale and failing alerts, the agents back up again, and
 * the job's next run resolves them as the system, with why, audited and told to the webhook as
 * "resolved"; a ransomware alert stays open for a person; a condition that comes back opens a
 * new alert.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import type { Alert, AlertPage } from "../../protocol/api.js";
import { expectExit, jsonOutput } from "../../testing/cli.js";
import { openDataDir } from "../data-dir.js";
import { startWebhookReceiver } from "../delivery/receivers-test-support.js";
import { admin } from "../operators/operators-test-support.js";
import { json, type TestServer } from "../test-support.js";
import { eventually, reportFailedBackup, startOpsServer } from "./ops-test-support.js";

const HOUR_MS = 3_600_000;
const SECRET = "webhook secret of the MSP";

async function commit(server: TestServer, credential: string): Promise<void> {
  const answer = await server.commit(credential, randomBytes(40), [], new Date().toISOString());
  assert.equal(answer.status, 201, answer.body.toString());
}

/** Through a new session each time: the test clock's days end sessions. */
async function alertsOf(server: TestServer, state = "all"): Promise<Alert[]> {
  const session = await server.login();
  const answer = await server.send({
    path: `/v1/alerts?tenant=acme&state=${state}`,
    token: session,
  });
  assert.equal(answer.status, 200, answer.body.toString());
  return [...json<AlertPage>(answer).alerts];
}

describe("alerts the system resolves", () => {
  it("closes stale and failing alerts once backups arrive, told to the webhook; ransomware stays open; a relapse opens a new alert", async (t) => {
    const hook = await startWebhookReceiver(SECRET, () => 204);
    t.after(() => hook.close());
    const { test: server, started } = await startOpsServer(t, {
      jobs: { schedules: {} },
      alertDelivery: {
        pollMs: 20,
        retry: { baseDelayMs: 20, maxDelayMs: 100, maxAttempts: 5 },
        destinations: [{ tenantId: null, kind: "webhook", target: hook.url, secret: SECRET }],
      },
    });
    const jobs = started.jobs;
    assert.ok(jobs);
    const session = await server.login();
    const acme = await server.createTenant(session, "acme");
    const pc = await server.agentOf(session, "acme", "pc");
    const nas = await server.agentOf(session, "acme", "nas");
    const data = await openDataDir(server.dataDir);
    t.after(() => data.catalog.close());
    const ransomware = await data.catalog.raiseAlert(
      {
        tenantId: acme.id,
        agentId: pc.agent_id,
        snapshotId: null,
        kind: "detection",
        severity: "critical",
        message: "Ransomware suspected on pc",
      },
      { actor: { kind: "system", id: "detection" } },
      server.clock.now(),
    );

    server.clock.advance(25 * HOUR_MS);
    await reportFailedBackup(server, nas.credential, "disk gone");
    const first = await jobs.run("alerts");
    assert.equal(first.counts.alerts_raised, 3, first.summary);
    assert.equal(first.counts.alerts_resolved, 0);
    const conditions = (await alertsOf(server, "open")).filter((a) => a.id !== ransomware.id);
    assert.deepEqual(conditions.map((a) => `${a.kind}:${a.hostname}`).sort(), [
      "backup-failing:nas",
      "backup-stale:nas",
      "backup-stale:pc",
    ]);
    await hook.waitFor(4);

    // Both machines back up again: the next run closes all three, and only those.
    server.clock.advance(HOUR_MS);
    await commit(server, pc.credential);
    await commit(server, nas.credential);
    const before = server.clock.now().getTime();
    const second = await jobs.run("alerts");
    const after = server.clock.now().getTime();
    assert.equal(second.counts.alerts_resolved, 3, second.summary);
    assert.equal(second.counts.alerts_raised, 0);
    const byId = new Map((await alertsOf(server)).map((a) => [a.id, a]));
    for (const raised of conditions) {
      const alert = byId.get(raised.id);
      assert.equal(alert?.resolved_by, "system");
      const resolvedAt = Date.parse(alert?.resolved_at ?? "");
      assert.ok(resolvedAt >= before && resolvedAt <= after, "resolved by this run");
      assert.equal(alert?.acknowledged_by, null, "resolved, not acknowledged");
      assert.match(
        alert?.resolve_reason ?? "",
        raised.kind === "backup-stale"
          ? new RegExp(
              `^a backup of ${raised.hostname} was committed at .*, within its RPO of 24 h$`,
            )
          : /^a backup of nas was committed at .*, after the failure$/,
      );
    }
    assert.equal(byId.get(ransomware.id)?.resolved_at, null, "a person decides about ransomware");
    assert.deepEqual(
      (await alertsOf(server, "open")).map((a) => a.id),
      [ransomware.id],
    );

    // The webhook hears of each resolution once, signed, under a key of its own.
    await hook.waitFor(7);
    const notices = hook.received.filter((r) => r.body.event === "resolved");
    assert.deepEqual(
      notices.map((r) => r.body.alert.id).sort(),
      conditions.map((a) => a.id).sort(),
    );
    assert.ok(notices.every((r) => r.signatureValid && r.body.alert.resolved_by === "system"));
    assert.equal(new Set(hook.received.map((r) => r.key)).size, hook.received.length);

    const resolutions = (await data.catalog.listAudit({ tenantId: acme.id, limit: 100 })).filter(
      (e) => e.action === "alert.resolve",
    );
    assert.deepEqual(
      resolutions.map((e) => e.details.alert_id).sort(),
      conditions.map((a) => a.id).sort(),
    );
    assert.ok(
      resolutions.every((e) => e.actor.kind === "system" && e.details.resolved_by === "system"),
    );

    // The CLI lists the resolution with its reason.
    const listed = expectExit(await admin(server, ["alerts", "--tenant", "acme"]), 0).stdout;
    assert.match(
      listed,
      /backup-stale .*resolved by the system at .*: a backup of pc was committed/,
    );
    assert.match(listed, /detection .*OPEN/);
    // The receiver answered; the loop records that just after.
    await eventually("every delivery recorded delivered", async () =>
      (await data.catalog.listDeliveries({ limit: 100 })).every((d) => d.state === "delivered"),
    );
    const deliveries = jsonOutput<{ alert_id: number; event: string; state: string }[]>(
      expectExit(await admin(server, ["alerts", "deliveries", "--json"]), 0),
    );
    assert.deepEqual(
      deliveries
        .filter((d) => d.event === "resolve")
        .map((d) => [d.alert_id, d.state])
        .sort(),
      conditions.map((a) => [a.id, "delivered"]).sort(),
    );

    // Nothing new on a run with nothing changed; the condition coming back opens a new alert.
    assert.equal((await jobs.run("alerts")).counts.alerts_resolved, 0);
    server.clock.advance(25 * HOUR_MS);
    const relapse = await jobs.run("alerts");
    assert.equal(relapse.counts.alerts_raised, 2, relapse.summary);
    const open = (await alertsOf(server, "open")).filter((a) => a.id !== ransomware.id);
    assert.deepEqual(open.map((a) => `${a.kind}:${a.hostname}`).sort(), [
      "backup-stale:nas",
      "backup-stale:pc",
    ]);
    assert.ok(open.every((a) => conditions.every((old) => a.id > old.id)));
  });
});
