/**
 * Check-ins, leftover agents and misuse through a real server on 127.0.0.1 with its real SQLite
 * catalog: every answer is the one the server gave before (refusals unchanged), and what is
 * recorded is read back over the operator API.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import type { ALERT_KINDS } from "../../protocol/api.js";
import { openDataDir } from "../data-dir.js";
import { requestTenantDeletion } from "../offboarding/offboarding.js";
import { assertError, json, sha256, startTestServer, type TestServer } from "../test-support.js";

const DAY = 86_400_000;

interface AlertSeen {
  kind: (typeof ALERT_KINDS)[number];
  severity: string;
  agent_id: string | null;
  message: string;
  details: Record<string, unknown>;
}

interface AuditSeen {
  action: string;
  actor: { kind: string; id: string | null };
  details: Record<string, unknown>;
}

interface AgentSeen {
  id: string;
  last_seen_at: string | null;
  last_host: string | null;
  last_address: string | null;
  version: string | null;
}

async function alerts(server: TestServer, kind: AlertSeen["kind"]): Promise<AlertSeen[]> {
  const session = await server.login();
  const page = json<{ alerts: AlertSeen[] }>(
    await server.send({ path: "/v1/alerts", token: session }),
  );
  return page.alerts.filter((alert) => alert.kind === kind);
}

async function audit(server: TestServer, action: string): Promise<AuditSeen[]> {
  const session = await server.login();
  const all = json<AuditSeen[]>(
    await server.send({ path: "/v1/audit?limit=1000", token: session }),
  );
  return all.filter((entry) => entry.action === action);
}

async function agentRecord(server: TestServer, id: string): Promise<AgentSeen> {
  const session = await server.login();
  const agents = json<AgentSeen[]>(
    await server.send({ path: "/v1/tenants/acme/agents", token: session }),
  );
  const found = agents.find((agent) => agent.id === id);
  assert.ok(found, `agent ${id} is listed`);
  return found;
}

async function withAgent(t: Parameters<typeof startTestServer>[0]) {
  const server = await startTestServer(t);
  const session = await server.login();
  await server.createTenant(session, "acme");
  const agent = await server.agentOf(session, "acme");
  return { server, session, agent, token: agent.credential };
}

/** A request as the agent client sends it: its host name and version in headers. */
function asAgent(host: string, version: string) {
  return { "rempart-agent-host": host, "rempart-agent-version": version };
}

describe("check-ins from every agent request", () => {
  it("records time, host, version and address at most once a minute unless they change", async (t) => {
    const { server, agent, token } = await withAgent(t);
    const list = () =>
      server.send({ path: "/v1/repo/objects/data", token, headers: asAgent("pc-1", "9.9.9") });
    assert.equal((await list()).status, 200);
    const first = await agentRecord(server, agent.agent_id);
    assert.ok(first.last_seen_at, "seen");
    assert.equal(first.last_host, "pc-1");
    assert.equal(first.version, "9.9.9");
    assert.equal(first.last_address, "127.0.0.1");

    // The object routes are hot: within the minute, the same caller costs no catalog write.
    server.clock.advance(30_000);
    assert.equal((await list()).status, 200);
    assert.equal((await agentRecord(server, agent.agent_id)).last_seen_at, first.last_seen_at);
    server.clock.advance(31_000);
    assert.equal((await list()).status, 200);
    const later = await agentRecord(server, agent.agent_id);
    assert.ok(
      Date.parse(later.last_seen_at ?? "") - Date.parse(first.last_seen_at ?? "") >= 61_000,
    );

    // A new version (an upgrade) is recorded at once; headers that are no label are left out.
    server.clock.advance(1000);
    const upgraded = await server.send({
      path: "/v1/repo/objects/data",
      token,
      headers: asAgent("x".repeat(300), "10.0.0"),
    });
    assert.equal(upgraded.status, 200);
    const after = await agentRecord(server, agent.agent_id);
    assert.equal(after.version, "10.0.0");
    assert.equal(after.last_host, "pc-1");
  });
});

describe("leftover agents", () => {
  it("raises one high alert a day for a revoked credential, audits its calls, and tells a wrong secret nothing", async (t) => {
    const { server, session, agent, token } = await withAgent(t);
    const wrong = `${token.slice(0, -4)}${token.endsWith("aaaa") ? "bbbb" : "aaaa"}`;
    for (let i = 0; i < 50; i += 1)
      assertError(
        await server.send({ path: "/v1/repo/objects/data", token: wrong }),
        "Unauthorized",
      );
    assert.deepEqual(await alerts(server, "leftover-agent"), []);
    assert.deepEqual(await audit(server, "agent.leftover-call"), []);

    const revoked = await server.send({
      method: "POST",
      path: `/v1/agents/${agent.agent_id}/revoke`,
      token: session,
      json: {},
    });
    assert.equal(revoked.status, 200);
    for (let i = 0; i < 20; i += 1)
      assertError(
        await server.send({ path: "/v1/repo/objects/data", token, headers: asAgent("pc-1", "1") }),
        "CredentialRevoked",
      );
    const raised = await alerts(server, "leftover-agent");
    assert.equal(raised.length, 1);
    assert.equal(raised[0]?.severity, "high");
    assert.equal(raised[0]?.agent_id, agent.agent_id);
    assert.match(
      raised[0]?.message ?? "",
      new RegExp(
        `agent ${agent.agent_id} on host pc-1 of client acme is still installed and calling in from 127\\.0\\.0\\.1`,
      ),
    );
    // Twenty calls, one entry: the rest are counted in the next one.
    const calls = await audit(server, "agent.leftover-call");
    assert.equal(calls.length, 1);
    assert.equal(calls[0]?.details.reason, "revoked");

    server.clock.advance(DAY - 60_000);
    assertError(await server.send({ path: "/v1/repo/objects/data", token }), "CredentialRevoked");
    assert.equal((await alerts(server, "leftover-agent")).length, 1);
    server.clock.advance(120_000);
    assertError(await server.send({ path: "/v1/repo/objects/data", token }), "CredentialRevoked");
    assert.equal((await alerts(server, "leftover-agent")).length, 2);
    // The first call, then one entry per 10 minutes at most, counting the calls it stands for.
    const entries = await audit(server, "agent.leftover-call");
    assert.equal(entries.length, 2);
    assert.equal(entries[0]?.details.refused_since_last, 20);
  });

  it("raises one for an expired credential and for an offboarded client's agent", async (t) => {
    const { server, session, token } = await withAgent(t);
    await server.createTenant(session, "gone");
    const former = await server.agentOf(session, "gone", "old-pc");
    server.clock.advance(DAY);
    const data = await openDataDir(server.dataDir);
    try {
      const admin = await data.catalog.getOperatorByUsername("admin");
      assert.ok(admin);
      await requestTenantDeletion(
        { catalog: data.catalog, stores: data.stores, now: server.clock.now },
        { audit: { kind: "system", id: "test" }, operatorId: admin.id },
        "gone",
        { requestedBy: "admin" },
      );
    } finally {
      await data.catalog.close();
    }
    for (let i = 0; i < 3; i += 1)
      assert.equal(
        (await server.send({ path: "/v1/repo/objects/data", token: former.credential })).status,
        401,
      );
    const offboarded = (await alerts(server, "leftover-agent")).filter(
      (alert) => alert.agent_id === former.agent_id,
    );
    assert.equal(offboarded.length, 1);
    assert.match(
      offboarded[0]?.message ?? "",
      /on host old-pc of former client gone is still installed/,
    );

    server.clock.advance(366 * DAY);
    assertError(await server.send({ path: "/v1/repo/objects/data", token }), "CredentialExpired");
    assertError(await server.send({ path: "/v1/repo/objects/data", token }), "CredentialExpired");
    const expired = (await alerts(server, "leftover-agent")).filter(
      (alert) => alert.agent_id !== former.agent_id,
    );
    assert.equal(expired.length, 1);
    assert.equal(expired[0]?.details.reason, "expired");
  });
});

describe("a compromised machine gives itself away", () => {
  it("refuses DELETE, overwrites, forged bytes and reaching outside the tenant as before, audits them within bounds and raises one alert", async (t) => {
    const { server, session, token } = await withAgent(t);
    const other = await server.createTenant(session, "other");
    const config = randomBytes(200);
    assert.equal((await server.put(token, "config", "config", config)).status, 201);
    // A second machine enrolling at the same moment loses the race to create the repository:
    // refused, and no misuse.
    assertError(await server.put(token, "config", "config", randomBytes(200)), "Conflict");
    assert.deepEqual(await audit(server, "agent.misuse"), []);
    server.clock.advance(11 * 60_000);
    const forged = randomBytes(500);

    const attempts = [
      async () =>
        assertError(
          await server.send({ method: "DELETE", path: "/v1/repo/objects/config/config", token }),
          "AppendOnly",
        ),
      async () =>
        assertError(await server.put(token, "config", "config", randomBytes(200)), "Conflict"),
      async () =>
        assertError(
          await server.put(token, "index", sha256("something else"), forged),
          "HashMismatch",
        ),
      async () =>
        assertError(
          await server.send({ path: `/v1/tenants/${other.name}/agents`, token }),
          "Forbidden",
        ),
      async () =>
        assertError(
          await server.send({ path: "/v1/repo/objects/data/..%2F..%2Fother%2Fconfig", token }),
          "BadRequest",
        ),
    ];
    // 1,000 attempts of the five kinds.
    for (let i = 0; i < 1000; i += 1)
      await (attempts[i % attempts.length] as () => Promise<unknown>)();

    const entries = await audit(server, "agent.misuse");
    assert.deepEqual(
      entries.map((entry) => entry.details.misuse).sort(),
      ["delete", "forged-bytes", "outside-tenant", "overwrite"],
      "one entry per kind for 1,000 attempts within the hour",
    );
    assert.ok(entries.every((entry) => entry.actor.kind === "agent"));
    const raised = await alerts(server, "agent-misuse");
    assert.equal(raised.length, 1);
    assert.equal(raised[0]?.severity, "high");
    assert.match(raised[0]?.message ?? "", /tried to DELETE \/v1\/repo\/objects\/config\/config/);
    assert.match(raised[0]?.message ?? "", /rempart admin agent revoke/);

    // An hour on, the throttled refusals are counted in the next entry of their kind.
    server.clock.advance(3_600_000);
    await (attempts[0] as () => Promise<unknown>)();
    const deletes = (await audit(server, "agent.misuse")).filter(
      (e) => e.details.misuse === "delete",
    );
    assert.equal(deletes.length, 2);
    assert.equal(deletes[0]?.details.refused_since_last, 200);
    assert.equal((await alerts(server, "agent-misuse")).length, 1);
  });

  it("records nothing for a DELETE or a climbing path without a valid credential", async (t) => {
    const { server, token } = await withAgent(t);
    const wrong = `${token.slice(0, -4)}${token.endsWith("aaaa") ? "bbbb" : "aaaa"}`;
    for (const credential of [wrong, undefined]) {
      assertError(
        await server.send({
          method: "DELETE",
          path: "/v1/repo/objects/config/config",
          ...(credential === undefined ? {} : { token: credential }),
        }),
        "AppendOnly",
      );
      const climbing = await server.send({
        path: "/v1/repo/objects/data/%2e%2e",
        ...(credential === undefined ? {} : { token: credential }),
      });
      assert.equal(climbing.status, 401);
    }
    assert.deepEqual(await audit(server, "agent.misuse"), []);
    assert.deepEqual(await alerts(server, "agent-misuse"), []);
  });
});

describe("agents unseen for a while", () => {
  it("lists unrevoked agents of active tenants not seen for the given time", async (t) => {
    const { server, session, agent, token } = await withAgent(t);
    const quiet = await server.agentOf(session, "acme", "pc-2");
    assert.equal((await server.send({ path: "/v1/repo/objects/data", token })).status, 200);
    server.clock.advance(8 * DAY);
    assert.equal((await server.send({ path: "/v1/repo/objects/data", token })).status, 200);
    const stale = json<{ id: string; tenant_name: string }[]>(
      await server.send({ path: "/v1/agents?unseen_for=604800", token: await server.login() }),
    );
    assert.deepEqual(
      stale.map((a) => [a.id, a.tenant_name]),
      [[quiet.agent_id, "acme"]],
    );
    assert.ok(!stale.some((a) => a.id === agent.agent_id));
    assertError(await server.send({ path: "/v1/agents", token }), "Forbidden");
  });
});
