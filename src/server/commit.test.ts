import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { describe, it } from "node:test";
import { openSqliteCatalog } from "../catalog/sqlite/catalog.js";
import type { CommitResponse } from "../protocol/api.js";
import {
  asPack,
  assertError,
  fingerprintFiles,
  json,
  sha256,
  startTestServer,
} from "./test-support.js";

const DAY_MS = 86_400_000;

function commitBody(snapshot: Buffer, packs: readonly string[], claimed: string) {
  return {
    name: sha256(snapshot),
    snapshot: snapshot.toString("base64"),
    packs,
    claimed_time: claimed,
  };
}

describe("committing snapshots", () => {
  it("records the server's receipt time and the agent beside the claimed time and the packs", async (t) => {
    const server = await startTestServer(t);
    const session = await server.login();
    const tenant = await server.createTenant(session, "acme", { immutable_days: 7 });
    const uploader = await server.agentOf(session, "acme", "pc-upload");
    const committer = await server.agentOf(session, "acme", "pc-commit");
    const packs = [asPack(randomBytes(1000)), asPack(randomBytes(2000))];
    // Packs another machine of the same tenant uploaded count: dedup within a tenant.
    for (const pack of packs)
      assert.equal((await server.put(uploader.credential, "data", sha256(pack), pack)).status, 201);
    const snapshot = randomBytes(300);
    // The server's clock is ten days ahead of the machine's; the agent claims a date long past.
    server.clock.advance(10 * DAY_MS);
    const before = server.clock.now();
    const answer = await server.send({
      method: "POST",
      path: "/v1/repo/snapshots",
      token: committer.credential,
      json: commitBody(
        snapshot,
        packs.map((p) => sha256(p)),
        "2001-02-03T04:05:06Z",
      ),
    });
    const after = server.clock.now();
    assert.equal(answer.status, 201, answer.body.toString());
    const response = json<CommitResponse>(answer);
    assert.equal(response.snapshot_id, sha256(snapshot));
    assert.equal(response.outcome, "created");
    const committedAt = new Date(response.committed_at).getTime();
    assert.ok(
      committedAt >= before.getTime() && committedAt <= after.getTime(),
      response.committed_at,
    );

    const catalog = openSqliteCatalog(join(server.dataDir, "catalog.sqlite"));
    t.after(() => catalog.close());
    const record = await catalog.getSnapshot(tenant.id, sha256(snapshot));
    assert.ok(record);
    assert.equal(record.agentId, committer.agent_id);
    assert.equal(record.committedAt.getTime(), committedAt);
    assert.equal(record.claimedTime.toISOString(), "2001-02-03T04:05:06.000Z");
    assert.equal(record.immutableUntil.getTime(), committedAt + 7 * DAY_MS);
    assert.deepEqual(
      await catalog.listSnapshotPacks(tenant.id, sha256(snapshot)),
      packs.map((p) => sha256(p)).sort(),
    );
    // The snapshot object is stored under its name and listed.
    const stored = fingerprintFiles(server.tenantDir(tenant.id));
    assert.equal(stored.get(`snapshots/${sha256(snapshot)}`), sha256(snapshot));
    const listing = await server.send({
      path: "/v1/repo/objects/snapshots",
      token: uploader.credential,
    });
    // Listed with the server's receipt time and the committing agent, whoever asks.
    assert.deepEqual(json(listing), {
      objects: [
        {
          name: sha256(snapshot),
          size: snapshot.length,
          received_at: response.committed_at,
          agent: committer.agent_id,
        },
      ],
    });
    // The audit log has the commit, with the clock skew an operator should see.
    const audit = await catalog.listAudit({ tenantId: tenant.id, limit: 10 });
    const entry = audit.find((e) => e.action === "snapshot.commit");
    assert.deepEqual(entry?.actor, { kind: "agent", id: committer.agent_id });
    assert.ok(Number(entry?.details.skew_seconds) < -20 * 365 * 86_400);

    // A retried commit (its answer was lost) is answered from the record, unchanged.
    server.clock.advance(DAY_MS);
    const retry = await server.send({
      method: "POST",
      path: "/v1/repo/snapshots",
      token: committer.credential,
      json: commitBody(
        snapshot,
        packs.map((p) => sha256(p)),
        "2001-02-03T04:05:06Z",
      ),
    });
    assert.equal(retry.status, 200);
    assert.deepEqual(json(retry), { ...response, outcome: "exists" });
  });

  it("refuses a snapshot whose packs are not all stored, with the list of missing ones", async (t) => {
    const server = await startTestServer(t);
    const session = await server.login();
    const tenant = await server.createTenant(session, "acme");
    const agent = await server.agentOf(session, "acme");
    const stored = asPack(randomBytes(500));
    assert.equal((await server.put(agent.credential, "data", sha256(stored), stored)).status, 201);
    const absent = [sha256("missing one"), sha256("missing two")];
    const snapshot = randomBytes(200);
    const commit = (packs: string[]) =>
      server.send({
        method: "POST",
        path: "/v1/repo/snapshots",
        token: agent.credential,
        json: commitBody(snapshot, packs, "2030-01-01T00:00:00Z"),
      });
    const details = assertError(
      await commit([absent[0] as string, sha256(stored), absent[1] as string]),
      "MissingPacks",
    );
    assert.deepEqual(details.missing, absent);
    assert.equal(details.missing_count, 2);
    const listing = await server.send({
      path: "/v1/repo/objects/snapshots",
      token: agent.credential,
    });
    assert.deepEqual(json(listing), { objects: [] });
    assert.equal(
      fingerprintFiles(server.tenantDir(tenant.id)).has(`snapshots/${sha256(snapshot)}`),
      false,
    );

    // Once the packs are there, the same commit goes through.
    assert.equal((await commit([sha256(stored)])).status, 201);
    const wrong = randomBytes(10);
    assertError(
      await server.send({
        method: "POST",
        path: "/v1/repo/snapshots",
        token: agent.credential,
        json: { ...commitBody(wrong, [], "2030-01-01T00:00:00Z"), name: sha256("not these bytes") },
      }),
      "HashMismatch",
    );
    for (const bad of [
      { ...commitBody(wrong, [], "yesterday") },
      { ...commitBody(wrong, ["NOT-HEX"], "2030-01-01T00:00:00Z") },
      { ...commitBody(wrong, [], "2030-01-01T00:00:00Z"), snapshot: "***" },
    ])
      assertError(
        await server.send({
          method: "POST",
          path: "/v1/repo/snapshots",
          token: agent.credential,
          json: bad,
        }),
        "BadRequest",
      );
  });

  it("records check-ins: last seen, version and the last backup's result", async (t) => {
    const server = await startTestServer(t);
    const session = await server.login();
    await server.createTenant(session, "acme");
    const agent = await server.agentOf(session, "acme");
    const answer = await server.send({
      method: "POST",
      path: "/v1/agent/checkin",
      token: agent.credential,
      json: {
        version: "0.2.0",
        last_backup: {
          at: "2030-01-01T00:00:00Z",
          outcome: "partial",
          error: "3 files unreadable",
        },
      },
    });
    assert.equal(answer.status, 204, answer.body.toString());
    const agents = json<Record<string, unknown>[]>(
      await server.send({ path: "/v1/tenants/acme/agents", token: session }),
    );
    assert.equal(agents[0]?.version, "0.2.0");
    assert.equal(agents[0]?.last_backup_status, "partial");
    assert.equal(agents[0]?.last_error, "3 files unreadable");
    assert.ok(agents[0]?.last_seen_at);
    assertError(
      await server.send({
        method: "POST",
        path: "/v1/agent/checkin",
        token: agent.credential,
        json: { version: "0.2.0", last_backup: { at: "now", outcome: "great" } },
      }),
      "BadRequest",
    );
  });
});

describe("accounting", () => {
  it("sums the logical size agents report for kept snapshots against what the tenant stores", async (t) => {
    const server = await startTestServer(t);
    const session = await server.login();
    await server.createTenant(session, "acme");
    const agent = await server.agentOf(session, "acme", "pc");
    const pack = asPack(randomBytes(4000));
    assert.equal((await server.put(agent.credential, "data", sha256(pack), pack)).status, 201);
    for (const [i, logical] of [10_000, 30_000].entries()) {
      const snapshot = randomBytes(200 + i);
      const answer = await server.send({
        method: "POST",
        path: "/v1/repo/snapshots",
        token: agent.credential,
        json: {
          ...commitBody(snapshot, [sha256(pack)], "2026-01-01T00:00:00Z"),
          logical_bytes: logical,
        },
      });
      assert.equal(answer.status, 201, answer.body.toString());
    }
    const shown = await server.send({ method: "GET", path: "/v1/tenants/acme", token: session });
    const details = json<{
      usage: { stored_bytes: number };
      logical: { bytes: number; dedup_ratio: number };
    }>(shown);
    assert.equal(details.logical.bytes, 40_000);
    assert.equal(details.logical.dedup_ratio, 40_000 / details.usage.stored_bytes);
    const refused = await server.send({
      method: "POST",
      path: "/v1/repo/snapshots",
      token: agent.credential,
      json: {
        ...commitBody(randomBytes(50), [sha256(pack)], "2026-01-01T00:00:00Z"),
        logical_bytes: -1,
      },
    });
    assertError(refused, "BadRequest");
  });
});
