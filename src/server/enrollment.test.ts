import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { openSqliteCatalog } from "../catalog/sqlite/catalog.js";
import type { EnrollResponse } from "../protocol/api.js";
import { assertError, blob, json, startTestServer } from "./test-support.js";

const DAY_MS = 86_400_000;

describe("enrollment and credentials", () => {
  it("accepts an enrollment token once, and the credential it yields authenticates", async (t) => {
    const server = await startTestServer(t);
    const session = await server.login();
    const tenant = await server.createTenant(session, "acme");
    const token = await server.enrollToken(session, "acme", { scopes: ["backup", "restore"] });
    assert.match(token, /^rmpe_[A-Za-z0-9_-]{43}$/);

    const first = await server.enroll(token, "fileserver");
    assert.equal(first.status, 201, first.body.toString());
    const enrolled = json<EnrollResponse>(first);
    assert.deepEqual(enrolled.tenant, { id: tenant.id, name: "acme" });
    assert.deepEqual(enrolled.scopes, ["backup", "restore"]);
    assert.ok(enrolled.credential.startsWith(`rmpa_${enrolled.agent_id}_`));

    assertError(await server.enroll(token, "another"), "TokenUsed");

    const listing = await server.send({
      path: "/v1/repo/objects/data",
      token: enrolled.credential,
    });
    assert.equal(listing.status, 200, listing.body.toString());
    assert.deepEqual(json(listing), { objects: [] });

    // Only the first enrollment made an agent.
    const agents = await server.send({ path: "/v1/tenants/acme/agents", token: session });
    assert.deepEqual(
      json<{ hostname: string }[]>(agents).map((a) => a.hostname),
      ["fileserver"],
    );
  });

  it("refuses an expired enrollment token with TokenExpired and a forged one with Unauthorized", async (t) => {
    const server = await startTestServer(t);
    const session = await server.login();
    await server.createTenant(session, "acme");
    const token = await server.enrollToken(session, "acme", { expires_in_seconds: 60 });
    server.clock.advance(61_000);
    assertError(await server.enroll(token), "TokenExpired");

    const forged = `rmpe_${"A".repeat(43)}`;
    assertError(await server.enroll(forged), "Unauthorized");
    assertError(await server.enroll("not-a-token-at-all"), "Unauthorized");
    // A malformed hostname is refused before the token is spent.
    const fresh = await server.enrollToken(session, "acme");
    const bad = await server.send({
      method: "POST",
      path: "/v1/enroll",
      json: { token: fresh, hostname: "pc\u0000x", version: "1" },
    });
    assertError(bad, "BadRequest");
    assert.equal((await server.enroll(fresh)).status, 201);
  });

  it("refuses a revoked credential at once with CredentialRevoked", async (t) => {
    const server = await startTestServer(t);
    const session = await server.login();
    await server.createTenant(session, "acme");
    const agent = await server.agentOf(session, "acme");
    const { bytes, name } = blob("before revocation");
    assert.equal((await server.put(agent.credential, "data", name, bytes)).status, 201);

    const revoked = await server.send({
      method: "POST",
      path: `/v1/agents/${agent.agent_id}/revoke`,
      token: session,
    });
    assert.equal(revoked.status, 200, revoked.body.toString());
    assert.ok(json<{ revoked_at: string | null }>(revoked).revoked_at);

    const after = blob("after revocation");
    assertError(
      await server.put(agent.credential, "data", after.name, after.bytes),
      "CredentialRevoked",
    );
    assertError(
      await server.send({ path: "/v1/repo/objects/data", token: agent.credential }),
      "CredentialRevoked",
    );
    // And the audit log says who revoked whom.
    const audit = json<{ action: string; details: { agent_id?: string } }[]>(
      await server.send({ path: "/v1/audit?tenant=acme", token: session }),
    );
    assert.ok(
      audit.some((e) => e.action === "agent.revoke" && e.details.agent_id === agent.agent_id),
    );
  });

  it("refuses an expired agent credential with CredentialExpired", async (t) => {
    const server = await startTestServer(t);
    const session = await server.login();
    await server.createTenant(session, "acme");
    const agent = await server.agentOf(session, "acme");
    server.clock.advance(366 * DAY_MS);
    assertError(
      await server.send({ path: "/v1/repo/objects/index", token: agent.credential }),
      "CredentialExpired",
    );
  });

  it("refuses a forged, malformed or missing credential with Unauthorized", async (t) => {
    const server = await startTestServer(t);
    const session = await server.login();
    await server.createTenant(session, "acme");
    const agent = await server.agentOf(session, "acme");
    const forgedSecret = `rmpa_${agent.agent_id}_${"B".repeat(43)}`;
    const unknownAgent = `rmpa_ffffffffffffffff_${"C".repeat(43)}`;
    for (const token of [forgedSecret, unknownAgent, "rmpa_x", "Basic abc", "garbage"]) {
      const answer = await server.send({ path: "/v1/repo/objects/data", token });
      assertError(answer, "Unauthorized");
      assert.match(String(answer.headers["www-authenticate"]), /^Bearer/);
    }
    assertError(await server.send({ path: "/v1/repo/objects/data" }), "Unauthorized");
  });

  it("refuses a credential of the wrong kind with Forbidden, both ways", async (t) => {
    const server = await startTestServer(t);
    const session = await server.login();
    await server.createTenant(session, "acme");
    const agent = await server.agentOf(session, "acme");
    assertError(await server.send({ path: "/v1/tenants", token: agent.credential }), "Forbidden");
    assertError(await server.send({ path: "/v1/audit", token: agent.credential }), "Forbidden");
    assertError(await server.send({ path: "/v1/repo/objects/data", token: session }), "Forbidden");
    const token = await server.enrollToken(session, "acme");
    assertError(await server.send({ path: "/v1/repo/objects/data", token }), "Forbidden");
  });

  it("refuses the agents of an offboarded tenant, and enrollment into it", async (t) => {
    const server = await startTestServer(t);
    const session = await server.login();
    const acme = await server.createTenant(session, "acme");
    const agent = await server.agentOf(session, "acme");
    const pending = await server.enrollToken(session, "acme");
    // Offboarding is a server job (issue 4); here it is done the way it will be, in the catalog.
    const catalog = openSqliteCatalog(join(server.dataDir, "catalog.sqlite"));
    try {
      await catalog.updateTenant(acme.id, { status: "offboarding" });
    } finally {
      await catalog.close();
    }
    const refused = assertError(
      await server.send({ path: "/v1/repo/objects/data", token: agent.credential }),
      "Forbidden",
    );
    assert.equal(refused.reason, "tenant-inactive");
    assertError(await server.enroll(pending), "Forbidden");
  });

  it("logs operators in with their password only, and keeps sessions for a while", async (t) => {
    const server = await startTestServer(t);
    assert.ok(server.server.firstAdminPassword);
    const wrong = await server.send({
      method: "POST",
      path: "/v1/login",
      json: { username: "admin", password: "wrong" },
    });
    assertError(wrong, "Unauthorized");
    const nobody = await server.send({
      method: "POST",
      path: "/v1/login",
      json: { username: "nobody", password: "x" },
    });
    assertError(nobody, "Unauthorized");
    const session = await server.login();
    assert.match(session, /^rmps_/);
    assert.equal((await server.send({ path: "/v1/tenants", token: session })).status, 200);
    server.clock.advance(13 * 3_600_000);
    assertError(await server.send({ path: "/v1/tenants", token: session }), "Unauthorized");
  });
});
