/**
 * The server's response to ransomware, end to end through a real server (TLS, SQLite, files): a
 * flagged commit holds the machine's last restore point from before it, raises an alert and turns
 * the tenant red until an operator acknowledges it; the server judges commits itself, so an agent
 * that lies is flagged too; a malformed summary is refused naming the field.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import type { DetectionSummary, TenantDetails } from "../../protocol/api.js";
import { expectExit, jsonOutput, runCli } from "../../testing/cli.js";
import type { AlertView } from "../alerts.js";
import {
  asPack,
  assertError,
  json,
  sha256,
  startTestServer,
  type TestServer,
} from "../test-support.js";

const MIB = 2 ** 20;
const DAY = 86_400_000;

function summary(verdict: DetectionSummary["verdict"], score: number, reasons: string[] = []) {
  return {
    verdict,
    score,
    reasons,
    signals: {
      files_total: 1000,
      files_added: 5,
      files_changed: verdict === "ok" ? 20 : 600,
      files_deleted: 0,
      files_renamed: verdict === "ok" ? 0 : 590,
      extension_changes: verdict === "ok" ? 0 : 590,
      type_mismatches: verdict === "ok" ? 0 : 580,
      high_entropy_changes: verdict === "ok" ? 0 : 600,
      ransom_notes: verdict === "ok" ? 0 : 12,
      known_ransom_extensions: verdict === "ok" ? 0 : 590,
      new_extensions: verdict === "ok" ? [] : [".locked"],
    },
  } satisfies DetectionSummary;
}

/** Uploads packs of the given sizes, then commits a new snapshot that lists them. */
async function backUp(
  server: TestServer,
  credential: string,
  packSizes: readonly number[],
  detection?: unknown,
): Promise<string> {
  const packs: string[] = [];
  for (const size of packSizes) {
    const pack = asPack(randomBytes(size));
    const put = await server.put(credential, "data", sha256(pack), pack);
    assert.equal(put.status, 201, put.body.toString());
    packs.push(sha256(pack));
  }
  const snapshot = randomBytes(300);
  const answer = await server.send({
    method: "POST",
    path: "/v1/repo/snapshots",
    token: credential,
    json: {
      name: sha256(snapshot),
      snapshot: snapshot.toString("base64"),
      packs,
      claimed_time: "2030-01-01T00:00:00Z",
      ...(detection === undefined ? {} : { detection }),
    },
  });
  assert.equal(answer.status, 201, answer.body.toString());
  return sha256(snapshot);
}

async function alertsOf(server: TestServer, session: string, query = ""): Promise<AlertView[]> {
  const answer = await server.send({ path: `/v1/alerts${query}`, token: session });
  assert.equal(answer.status, 200, answer.body.toString());
  return json<{ alerts: AlertView[] }>(answer).alerts;
}

async function tenant(server: TestServer, session: string, name: string): Promise<TenantDetails> {
  const answer = await server.send({ path: `/v1/tenants/${name}`, token: session });
  assert.equal(answer.status, 200, answer.body.toString());
  return json<TenantDetails>(answer);
}

async function snapshotsListed(server: TestServer, credential: string): Promise<string[]> {
  const answer = await server.send({ path: "/v1/repo/objects/snapshots", token: credential });
  return json<{ objects: { name: string }[] }>(answer).objects.map((o) => o.name);
}

describe("the server's response to ransomware", () => {
  it("holds the last snapshot before a ransomware verdict, raises an alert and turns the tenant red until it is acknowledged", async (t) => {
    const server = await startTestServer(t);
    const session = await server.login();
    await server.createTenant(session, "acme", { retention_days: 1, immutable_days: 0 });
    const agent = await server.agentOf(session, "acme", "fileserver");
    // The backups ran ten days ago (server time), so that retention today wants them all gone.
    server.clock.advance(-10 * DAY);
    const first = await backUp(server, agent.credential, [4096], summary("ok", 2));
    const lastGood = await backUp(server, agent.credential, [4096], summary("ok", 3));
    const attacked = await backUp(
      server,
      agent.credential,
      [4096],
      summary("ransomware", 94, ["580 of 600 changed files lost their file-type signature"]),
    );
    assert.equal((await tenant(server, session, "acme")).alert_state, "red");

    const [alert, ...others] = await alertsOf(server, session);
    assert.deepEqual(others, []);
    assert.ok(alert);
    assert.equal(alert.tenant, "acme");
    assert.equal(alert.agent_id, agent.agent_id);
    assert.equal(alert.hostname, "fileserver");
    assert.equal(alert.snapshot_id, attacked);
    assert.equal(alert.kind, "detection");
    assert.equal(alert.severity, "critical");
    assert.equal(alert.details.held_snapshot_id, lastGood);
    assert.equal(alert.acknowledged_at, null);
    assert.match(alert.message, /Ransomware suspected on fileserver \(tenant acme\)/);
    assert.match(alert.message, /580 of 600 changed files lost their file-type signature/);
    const red = await tenant(server, session, "acme");
    assert.equal(red.open_alerts, 1);
    assert.equal(red.snapshots.held, 1);

    // The operator's CLI on the server machine sees the same alert.
    const listed = jsonOutput<AlertView[]>(
      expectExit(
        await runCli([
          "admin",
          "alerts",
          "--tenant",
          "acme",
          "--open",
          "--json",
          "--data",
          server.dataDir,
        ]),
        0,
      ),
    );
    assert.deepEqual(
      listed.map((a) => a.id),
      [alert.id],
    );

    // Retention today removes every snapshot of ten days ago but the held one.
    expectExit(await runCli(["admin", "prune", "--data", server.dataDir]), 0);
    assert.deepEqual(await snapshotsListed(server, agent.credential), [lastGood]);
    assert.ok(!(await snapshotsListed(server, agent.credential)).includes(first));

    const ack = await server.send({
      method: "POST",
      path: `/v1/alerts/${alert.id}/ack`,
      token: session,
      json: { reason: "restored from the held snapshot, machine reinstalled" },
    });
    assert.equal(ack.status, 200, ack.body.toString());
    const acked = json<AlertView>(ack);
    assert.equal(acked.acknowledged_by, "admin");
    assert.equal(acked.acknowledge_reason, "restored from the held snapshot, machine reinstalled");
    const green = await tenant(server, session, "acme");
    assert.equal(green.alert_state, "green");
    assert.equal(green.open_alerts, 0);
    // Acknowledging does not lift the hold: an admin releases it explicitly.
    assert.equal(green.snapshots.held, 1);
    assertError(
      await server.send({
        method: "POST",
        path: `/v1/alerts/${alert.id}/ack`,
        token: session,
        json: { reason: "again" },
      }),
      "Conflict",
    );
    const audit = json<
      { action: string; actor: { kind: string }; details: Record<string, unknown> }[]
    >(await server.send({ path: "/v1/audit?tenant=acme", token: session }));
    const acknowledged = audit.find((e) => e.action === "alert.acknowledge");
    assert.equal(acknowledged?.actor.kind, "operator");
    assert.equal(
      acknowledged?.details.reason,
      "restored from the held snapshot, machine reinstalled",
    );
    assert.ok(audit.some((e) => e.action === "alert.raise"));
    assert.ok(
      audit.some((e) => e.action === "snapshot.hold" && e.details.snapshot_id === lastGood),
    );
  });

  it("flags an agent that says ok but uploads ten times its usual volume in one commit", async (t) => {
    const server = await startTestServer(t);
    const session = await server.login();
    await server.createTenant(session, "beta");
    const agent = await server.agentOf(session, "beta", "laptop");
    const usual: string[] = [];
    // Four nights, ending before the operator's session (opened now) expires.
    server.clock.advance(-5 * DAY);
    for (let night = 0; night < 4; night++) {
      usual.push(await backUp(server, agent.credential, [2 * MIB], summary("ok", 1)));
      server.clock.advance(DAY);
    }
    assert.deepEqual(await alertsOf(server, session), []);
    const lying = await backUp(server, agent.credential, [10 * MIB, 10 * MIB], summary("ok", 1));
    const [alert] = await alertsOf(server, session, "?tenant=beta&state=open");
    assert.ok(alert, "the server raised no alert");
    assert.equal(alert.snapshot_id, lying);
    assert.equal(alert.severity, "warning");
    assert.equal(alert.details.verdict, "suspicious");
    assert.equal(alert.details.held_snapshot_id, usual.at(-1));
    assert.match(
      alert.message,
      /uploaded 20 MiB of new data \(2 packs\), 10\.0× this machine's usual 2 MiB per backup/,
    );
    assert.equal((await tenant(server, session, "beta")).alert_state, "red");

    // Acknowledged from the server machine's CLI, by a named operator.
    const acked = jsonOutput<AlertView>(
      expectExit(
        await runCli([
          "admin",
          "alerts",
          "ack",
          String(alert.id),
          "--by",
          "admin",
          "--reason",
          "photo import, confirmed with the client",
          "--json",
          "--data",
          server.dataDir,
        ]),
        0,
      ),
    );
    assert.equal(acked.acknowledged_by, "admin");
    assert.equal((await tenant(server, session, "beta")).alert_state, "green");
  });

  it("refuses a malformed detection summary with 400 naming the field, committing nothing", async (t) => {
    const server = await startTestServer(t);
    const session = await server.login();
    await server.createTenant(session, "gamma");
    const agent = await server.agentOf(session, "gamma");
    const good = summary("ok", 1);
    const cases: [unknown, string][] = [
      [{ ...good, score: 101 }, "detection.score"],
      [{ ...good, verdict: "fine" }, "detection.verdict"],
      [{ ...good, reasons: Array(21).fill("r") }, "detection.reasons"],
      [{ ...good, signals: { ...good.signals, files_added: -1 } }, "detection.signals.files_added"],
      [
        { ...good, signals: { ...good.signals, new_extensions: ["/home/ceo/secret.docx"] } },
        "detection.signals.new_extensions.0",
      ],
      [{ ...good, signals: { ...good.signals, paths: ["/etc"] } }, "detection.signals"],
    ];
    for (const [detection, field] of cases) {
      const snapshot = randomBytes(300);
      const answer = await server.send({
        method: "POST",
        path: "/v1/repo/snapshots",
        token: agent.credential,
        json: {
          name: sha256(snapshot),
          snapshot: snapshot.toString("base64"),
          packs: [],
          claimed_time: "2030-01-01T00:00:00Z",
          detection,
        },
      });
      const details = assertError(answer, "BadRequest");
      assert.equal(details.field, field, answer.body.toString());
      assert.match(answer.body.toString(), new RegExp(`"\\\\"${field.replace(/\./g, "\\.")}\\\\"`));
    }
    assert.deepEqual(await snapshotsListed(server, agent.credential), []);
  });
});
