import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import {
  asPack,
  assertError,
  fingerprintFiles,
  json,
  sha256,
  startTestServer,
} from "./test-support.js";

describe("tenant quotas", () => {
  it("refuses uploads and commits beyond the quota with QuotaExceeded and stores nothing of them", async (t) => {
    const server = await startTestServer(t);
    const session = await server.login();
    const tenant = await server.createTenant(session, "small", { quota_bytes: 1000 });
    const token = (await server.agentOf(session, "small")).credential;
    const first = asPack(randomBytes(600));
    const second = asPack(randomBytes(600));
    assert.equal((await server.put(token, "data", sha256(first), first)).status, 201);
    const refused = assertError(
      await server.put(token, "data", sha256(second), second),
      "QuotaExceeded",
    );
    assert.equal(refused.quota_bytes, 1000);
    assert.equal(refused.stored_bytes, 600);
    const head = await server.send({
      method: "HEAD",
      path: `/v1/repo/objects/data/${sha256(second)}`,
      token,
    });
    assert.equal(head.status, 404);
    assert.equal(fingerprintFiles(server.tenantDir(tenant.id)).size, 1);

    // Re-sending what is stored adds nothing, so it is not refused at the quota.
    assert.equal((await server.put(token, "data", sha256(first), first)).status, 200);
    const third = asPack(randomBytes(400));
    assert.equal((await server.put(token, "data", sha256(third), third)).status, 201);
    const snapshot = randomBytes(40);
    assertError(
      await server.send({
        method: "POST",
        path: "/v1/repo/snapshots",
        token,
        json: {
          name: sha256(snapshot),
          snapshot: snapshot.toString("base64"),
          packs: [sha256(first)],
          claimed_time: "2030-01-01T00:00:00Z",
        },
      }),
      "QuotaExceeded",
    );
    const shown = json<{ usage: { stored_bytes: number } }>(
      await server.send({ path: "/v1/tenants/small", token: session }),
    );
    assert.equal(shown.usage.stored_bytes, 1000);
    assert.equal(fingerprintFiles(server.tenantDir(tenant.id)).size, 2);
  });

  it("lets only as many concurrent uploads through as the quota holds", async (t) => {
    const server = await startTestServer(t);
    const session = await server.login();
    const tenant = await server.createTenant(session, "small", { quota_bytes: 10_000 });
    const tokens = [
      (await server.agentOf(session, "small", "pc-1")).credential,
      (await server.agentOf(session, "small", "pc-2")).credential,
    ];
    const bodies = Array.from({ length: 6 }, () => asPack(randomBytes(3000)));
    const answers = await Promise.all(
      bodies.map((body, i) => server.put(tokens[i % 2] as string, "data", sha256(body), body)),
    );
    const statuses = answers.map((a) => a.status).sort();
    assert.deepEqual(statuses, [201, 201, 201, 507, 507, 507]);
    const stored = fingerprintFiles(server.tenantDir(tenant.id));
    assert.equal(stored.size, 3);
  });
});
