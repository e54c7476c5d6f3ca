/**
 * What a stolen agent credential (with the repository password) can no longer upload, and what it
 * can no longer claim: issue 8, the server's part. Everything here goes over real HTTPS to a real
 * server with a real SQLite catalog.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import type { ObjectListing } from "../protocol/api.js";
import { PackBuilder } from "../repository/pack.js";
import {
  asPack,
  assertError,
  blob,
  fingerprintFiles,
  json,
  keySlotOf,
  sha256,
  startTestServer,
  type TestServer,
} from "./test-support.js";

const DAY_MS = 86_400_000;

async function withAgent(
  t: Parameters<typeof startTestServer>[0],
  options: Parameters<typeof startTestServer>[1] = {},
) {
  const server = await startTestServer(t, options);
  const session = await server.login();
  const tenant = await server.createTenant(session, "acme");
  const agent = await server.agentOf(session, "acme");
  return { server, session, tenant, agent, token: agent.credential };
}

/** Commits as the attacker did, claiming the end of time. */
function commit(server: TestServer, token: string, snapshot: Buffer, packs: string[] = []) {
  return server.commit(token, snapshot, packs, "9999-12-31T00:00:00Z");
}

/** A pack as the repository writes it: sealed blobs, a sealed header, the trailer. */
function realPack(blobs: number): { bytes: Buffer; name: string } {
  const builder = new PackBuilder(randomBytes(32), 1024);
  for (let i = 0; i < blobs; i += 1)
    builder.add("data", randomBytes(32), randomBytes(100 + i), 100 + i, false);
  const pack = builder.finish();
  return { bytes: Buffer.from(pack.bytes), name: pack.name };
}

/** A pack-shaped body whose trailer says `headerLength`. */
function withTrailer(size: number, headerLength: number): { bytes: Buffer; name: string } {
  const bytes = randomBytes(size);
  bytes.writeUInt32LE(headerLength, size - 4);
  return { bytes, name: sha256(bytes) };
}

describe("uploads the server can judge without keys", () => {
  it("refuses an empty object of every kind, and stores nothing", async (t) => {
    const { server, tenant, token } = await withAgent(t);
    const empty = Buffer.alloc(0);
    for (const kind of ["data", "index", "keys"] as const) {
      const details = assertError(
        await server.put(token, kind, sha256(empty), empty),
        "BadRequest",
      );
      assert.equal(details.reason, "empty", kind);
    }
    const config = assertError(await server.put(token, "config", "config", empty), "BadRequest");
    assert.equal(config.reason, "empty");
    // A snapshot arrives by commit; an empty one is refused there.
    assertError(await commit(server, token, empty), "BadRequest");
    assert.deepEqual([...fingerprintFiles(server.tenantDir(tenant.id)).keys()], []);
  });

  it("refuses packs that are not structurally packs, and accepts well-formed ones", async (t) => {
    const { server, session, tenant, token } = await withAgent(t);
    const refusals: [string, { bytes: Buffer; name: string }][] = [
      ["3 bytes", { bytes: Buffer.from("abc"), name: sha256("abc") }],
      ["a header length that is no count of entries", withTrailer(400, 80)],
      ["a header shorter than one entry", withTrailer(400, 37)],
      ["a header longer than the object", withTrailer(400, 37 + 42 * 10)],
      ["no room for the blobs the header counts", withTrailer(37 + 42 * 3 + 4 + 60, 37 + 42 * 3)],
      ["a header larger than any reader reads", withTrailer(400, 0xffffffff)],
    ];
    for (const [what, { bytes, name }] of refusals) {
      const details = assertError(await server.put(token, "data", name, bytes), "BadRequest");
      assert.equal(details.reason, "not-a-pack", what);
    }
    assert.deepEqual([...fingerprintFiles(server.tenantDir(tenant.id)).keys()], []);
    for (const pack of [realPack(1), realPack(5), withTrailer(37 + 42 * 3 + 4 + 84, 37 + 42 * 3)])
      assert.equal((await server.put(token, "data", pack.name, pack.bytes)).status, 201);
    // The first refusal is in the audit log, with the agent that tried; the next ones are counted
    // in a later entry (src/server/agents/watch.ts), so that a loop cannot flood the log.
    const audit = json<{ action: string; details: { misuse: string; reason: string } }[]>(
      await server.send({ path: "/v1/audit?tenant=acme", token: session }),
    );
    assert.deepEqual(
      audit
        .filter((e) => e.action === "agent.misuse")
        .map((e) => [e.details.misuse, e.details.reason]),
      [["malformed-object", "not-a-pack"]],
    );
  });

  it("refuses indexes, configs and snapshots too small to be sealed", async (t) => {
    const { server, token } = await withAgent(t);
    const tiny = randomBytes(20);
    assert.equal(
      assertError(await server.put(token, "index", sha256(tiny), tiny), "BadRequest").reason,
      "too-small",
    );
    assert.equal(
      assertError(await server.put(token, "config", "config", tiny), "BadRequest").reason,
      "too-small",
    );
    assert.equal(assertError(await commit(server, token, tiny), "BadRequest").reason, "too-small");
    const sealedSize = randomBytes(60);
    assert.equal((await server.put(token, "index", sha256(sealedSize), sealedSize)).status, 201);
    assert.equal((await commit(server, token, sealedSize)).status, 201);
  });
});

describe("key slots", () => {
  it("takes an agent's key slot only while it creates the repository, only a well-formed and cheap one", async (t) => {
    const { server, session, agent, token } = await withAgent(t);
    const costly = await keySlotOf("sorts first", { N: 2 ** 20, r: 8 });
    const costlyRefused = assertError(
      await server.put(token, "keys", costly.name, costly.bytes),
      "BadRequest",
    );
    assert.equal(costlyRefused.reason, "not-a-key-slot");
    const junk = blob("not a key slot");
    assertError(await server.put(token, "keys", junk.name, junk.bytes), "BadRequest");
    const notJson = Buffer.from('{"version": 1, "kind": "password"}');
    assertError(await server.put(token, "keys", sha256(notJson), notJson), "BadRequest");

    const enrollment = await keySlotOf("agent pc-1");
    assert.equal((await server.put(token, "keys", enrollment.name, enrollment.bytes)).status, 201);
    const config = randomBytes(200);
    assert.equal((await server.put(token, "config", "config", config)).status, 201);
    // Once the config exists, an agent adds no key slot at all; a retry of its own is a no-op.
    const later = await keySlotOf("a second way in");
    const refused = assertError(
      await server.put(token, "keys", later.name, later.bytes),
      "Conflict",
    );
    assert.equal(refused.reason, "repository-initialized");
    assert.equal((await server.put(token, "keys", enrollment.name, enrollment.bytes)).status, 200);

    // An operator (admin role) can, audited; the slot is listed with no uploading agent.
    const operatorSlot = await keySlotOf("added by the MSP");
    const addSlot = (body: Buffer) =>
      server.send({
        method: "POST",
        path: "/v1/tenants/acme/keys",
        token: session,
        headers: { "content-type": "application/octet-stream" },
        body,
      });
    const added = await addSlot(operatorSlot.bytes);
    assert.equal(added.status, 201, added.body.toString());
    assert.deepEqual(json(added), { name: operatorSlot.name, outcome: "created" });
    assertError(await addSlot(junk.bytes), "BadRequest");
    const keys = json<ObjectListing>(
      await server.send({ path: "/v1/repo/objects/keys", token }),
    ).objects;
    assert.deepEqual(
      new Map(keys.map((k) => [k.name, k.agent])),
      new Map([
        [enrollment.name, agent.agent_id],
        [operatorSlot.name, null],
      ]),
    );
    const audit = json<{ action: string; details: Record<string, unknown> }[]>(
      await server.send({ path: "/v1/audit?tenant=acme", token: session }),
    );
    const entry = audit.find((e) => e.action === "key.add");
    assert.equal(entry?.details.name, operatorSlot.name);
    assert.equal(entry?.details.label, "added by the MSP");
  });
});

describe("object listings", () => {
  it("gives each object its server receipt time and uploader, in pages when asked", async (t) => {
    const { server, session, agent, token } = await withAgent(t);
    const other = await server.agentOf(session, "acme", "pc-2");
    const first = blob("first pack");
    const second = blob("second pack");
    const receivedFirst = server.clock.now();
    assert.equal((await server.put(token, "data", first.name, first.bytes)).status, 201);
    server.clock.advance(DAY_MS);
    const receivedSecond = server.clock.now();
    assert.equal(
      (await server.put(other.credential, "data", second.name, second.bytes)).status,
      201,
    );
    const listing = json<ObjectListing>(
      await server.send({ path: "/v1/repo/objects/data", token }),
    );
    const byName = new Map(listing.objects.map((o) => [o.name, o]));
    assert.equal(byName.get(first.name)?.agent, agent.agent_id);
    assert.equal(byName.get(second.name)?.agent, other.agent_id);
    const firstAt = Date.parse(byName.get(first.name)?.received_at ?? "");
    const secondAt = Date.parse(byName.get(second.name)?.received_at ?? "");
    assert.ok(firstAt >= receivedFirst.getTime() && firstAt < receivedSecond.getTime());
    assert.ok(secondAt >= receivedSecond.getTime());
    assert.match(byName.get(first.name)?.received_at ?? "", /^\d{4}-\d\d-\d\dT[\d:.]+Z$/);
    assert.equal(listing.next, undefined);

    const sorted = [first.name, second.name].sort();
    const page1 = json<ObjectListing>(
      await server.send({ path: "/v1/repo/objects/data?limit=1", token }),
    );
    assert.deepEqual(
      page1.objects.map((o) => o.name),
      [sorted[0]],
    );
    assert.equal(page1.next, sorted[0]);
    const page2 = json<ObjectListing>(
      await server.send({ path: `/v1/repo/objects/data?limit=1&cursor=${page1.next}`, token }),
    );
    assert.deepEqual(
      page2.objects.map((o) => o.name),
      [sorted[1]],
    );
    // The last page says so: no cursor.
    assert.equal(page2.next, undefined);
    const after = json<ObjectListing>(
      await server.send({ path: `/v1/repo/objects/data?limit=1&cursor=${sorted[1]}`, token }),
    );
    assert.deepEqual(after, { objects: [] });
    assertError(await server.send({ path: "/v1/repo/objects/data?limit=0", token }), "BadRequest");
    assertError(
      await server.send({ path: "/v1/repo/objects/data?limit=5&cursor=../x", token }),
      "BadRequest",
    );
  });
});

describe("check-ins", () => {
  it("verifies a reported success against the snapshots that agent committed", async (t) => {
    const { server, session, agent, token } = await withAgent(t);
    const other = await server.agentOf(session, "acme", "pc-2");
    const pack = asPack(randomBytes(300));
    assert.equal((await server.put(token, "data", sha256(pack), pack)).status, 201);
    const snapshot = randomBytes(100);
    assert.equal((await commit(server, token, snapshot, [sha256(pack)])).status, 201);
    const checkIn = async (credential: string, snapshotId?: string) => {
      const answer = await server.send({
        method: "POST",
        path: "/v1/agent/checkin",
        token: credential,
        json: {
          version: "0.1.0",
          last_backup: {
            at: "2030-01-01T00:00:00Z",
            outcome: "success",
            ...(snapshotId ? { snapshot_id: snapshotId } : {}),
          },
        },
      });
      assert.equal(answer.status, 204, answer.body.toString());
    };
    const shown = async (id: string) =>
      json<Record<string, unknown>[]>(
        await server.send({ path: "/v1/tenants/acme/agents", token: session }),
      ).find((a) => a.id === id);

    await checkIn(token, sha256(snapshot));
    assert.equal((await shown(agent.agent_id))?.last_backup_verified, true);
    // The other machine claims the first one's snapshot, one that does not exist, or none.
    for (const claim of [sha256(snapshot), sha256("never committed"), undefined]) {
      await checkIn(other.credential, claim);
      const view = await shown(other.agent_id);
      assert.equal(view?.last_backup_status, "success");
      assert.equal(view?.last_backup_verified, false, String(claim));
      assert.equal(view?.last_backup_snapshot_id, claim ?? null);
    }
  });
});

describe("safe defaults", () => {
  it("gives tenants created without a quota the default one, and lets an admin change it", async (t) => {
    const server = await startTestServer(t, { defaultQuotaBytes: 1000 });
    const session = await server.login();
    const created = json<{ quota_bytes: number | null }>(
      await server.send({
        method: "POST",
        path: "/v1/tenants",
        token: session,
        json: { name: "acme", retention_days: 30 },
      }),
    );
    assert.equal(created.quota_bytes, 1000);
    const unlimited = await server.createTenant(session, "big", { quota_bytes: null });
    assert.equal((unlimited as { quota_bytes?: unknown }).quota_bytes, null);
    const token = (await server.agentOf(session, "acme")).credential;
    const pack = asPack(randomBytes(1500));
    assertError(await server.put(token, "data", sha256(pack), pack), "QuotaExceeded");

    const set = await server.send({
      method: "POST",
      path: "/v1/tenants/acme/quota",
      token: session,
      json: { quota_bytes: 10_000 },
    });
    assert.equal(set.status, 200, set.body.toString());
    assert.equal(json<{ quota_bytes: number }>(set).quota_bytes, 10_000);
    assert.equal((await server.put(token, "data", sha256(pack), pack)).status, 201);
    const audit = json<{ action: string; details: Record<string, unknown> }[]>(
      await server.send({ path: "/v1/audit?tenant=acme", token: session }),
    );
    const entry = audit.find((e) => e.action === "tenant.quota.set");
    assert.deepEqual([entry?.details.from, entry?.details.to], [1000, 10_000]);
    assertError(
      await server.send({
        method: "POST",
        path: "/v1/tenants/acme/quota",
        token: session,
        json: { quota_bytes: -1 },
      }),
      "BadRequest",
    );
  });

  it("gives 1 TiB by default", async (t) => {
    const server = await startTestServer(t);
    const session = await server.login();
    const created = await server.createTenant(session, "acme");
    assert.equal((created as { quota_bytes?: unknown }).quota_bytes, 2 ** 40);
  });

  it("refuses agent uploads and commits that would eat into the disk reserve", async (t) => {
    // A reserve larger than any disk: the disk is, as far as the server is concerned, full.
    const { server, tenant, token } = await withAgent(t, { diskReserve: { bytes: 2 ** 60 } });
    const pack = blob("no room");
    const details = assertError(
      await server.put(token, "data", pack.name, pack.bytes),
      "StorageFull",
    );
    assert.equal(details.reserve_bytes, 2 ** 60);
    assertError(await commit(server, token, randomBytes(100)), "StorageFull");
    assert.deepEqual([...fingerprintFiles(server.tenantDir(tenant.id)).keys()], []);
    const percent = await withAgent(t, { diskReserve: { percent: 100 } });
    assertError(
      await percent.server.put(percent.token, "data", pack.name, pack.bytes),
      "StorageFull",
    );
  });
});

describe("refused credentials", () => {
  it("answers a wrong secret for a revoked, expired or active agent exactly as for an unknown one", async (t) => {
    const server = await startTestServer(t);
    const session = await server.login();
    await server.createTenant(session, "acme");
    const active = await server.agentOf(session, "acme", "active");
    const revoked = await server.agentOf(session, "acme", "revoked");
    const expiring = await server.agentOf(session, "acme", "expiring");
    await server.send({
      method: "POST",
      path: `/v1/agents/${revoked.agent_id}/revoke`,
      token: session,
    });
    // Past the expiry of every credential enrolled so far.
    server.clock.advance(Date.parse(expiring.expires_at) - Date.now() + DAY_MS);

    const wrongSecret = (agentId: string) => `rmpa_${agentId}_${"W".repeat(43)}`;
    const ask = (credential: string) =>
      server.send({ path: "/v1/repo/objects/data", token: credential });
    const unknown = await ask(wrongSecret("0123456789abcdef"));
    assertError(unknown, "Unauthorized");
    for (const agent of [active, revoked, expiring]) {
      const answer = await ask(wrongSecret(agent.agent_id));
      assert.equal(answer.status, unknown.status, agent.agent_id);
      assert.deepEqual(json(answer), json(unknown));
      assert.equal(answer.headers["www-authenticate"], unknown.headers["www-authenticate"]);
    }
    // The right secret learns why.
    assertError(await ask(revoked.credential), "CredentialRevoked");
    assertError(await ask(expiring.credential), "CredentialExpired");
  });
});
