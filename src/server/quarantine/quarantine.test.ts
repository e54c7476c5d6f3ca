/** Quarantine over the operator API: what it hides from every agent, and what it leaves alone. */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import type { ObjectListing } from "../../protocol/api.js";
import {
  asPack,
  assertError,
  blob,
  fingerprintFiles,
  json,
  sha256,
  startTestServer,
  type TestServer,
} from "../test-support.js";
import type { QuarantineView } from "./quarantine.js";

const HOUR_MS = 3_600_000;

function quarantine(server: TestServer, token: string, body: Record<string, unknown>) {
  return server.send({ method: "POST", path: "/v1/tenants/acme/quarantines", token, json: body });
}

function release(server: TestServer, session: string, agentId: string) {
  return server.send({
    method: "POST",
    path: `/v1/tenants/acme/quarantines/${agentId}/release`,
    token: session,
  });
}

async function names(server: TestServer, token: string, kind: string): Promise<string[]> {
  const answer = await server.send({ path: `/v1/repo/objects/${kind}`, token });
  assert.equal(answer.status, 200, answer.body.toString());
  return json<ObjectListing>(answer)
    .objects.map((o) => o.name)
    .sort();
}

describe("quarantining an agent", () => {
  it("hides what it uploaded since a time from every agent's listings, reads and commits, deletes nothing, and shows it again on release", async (t) => {
    const server = await startTestServer(t);
    let session = await server.login();
    const tenant = await server.createTenant(session, "acme");
    const bad = await server.agentOf(session, "acme", "compromised");
    const good = await server.agentOf(session, "acme", "healthy");

    // Before the compromise: one honest pack and snapshot of the machine that is taken later.
    const early = asPack(randomBytes(500));
    assert.equal((await server.put(bad.credential, "data", sha256(early), early)).status, 201);
    const earlySnapshot = randomBytes(100);
    assert.equal((await server.commit(bad.credential, earlySnapshot, [sha256(early)])).status, 201);
    server.clock.advance(HOUR_MS);
    const compromisedAt = server.clock.now();
    server.clock.advance(HOUR_MS);
    // After it: junk that passes every check the server can make without keys.
    const junkPack = asPack(randomBytes(700));
    const junkIndex = randomBytes(300);
    const junkSnapshot = randomBytes(120);
    assert.equal(
      (await server.put(bad.credential, "data", sha256(junkPack), junkPack)).status,
      201,
    );
    assert.equal(
      (await server.put(bad.credential, "index", sha256(junkIndex), junkIndex)).status,
      201,
    );
    assert.equal(
      (await server.commit(bad.credential, junkSnapshot, [sha256(junkPack)])).status,
      201,
    );
    // The healthy machine's own backup.
    const own = blob("the healthy machine's pack");
    assert.equal((await server.put(good.credential, "data", own.name, own.bytes)).status, 201);
    const ownSnapshot = randomBytes(90);
    assert.equal((await server.commit(good.credential, ownSnapshot, [own.name])).status, 201);
    const filesBefore = fingerprintFiles(server.tenantDir(tenant.id));

    // Two hours on, the technician's session has gone idle: they log in again.
    session = await server.login();
    const quarantined = await quarantine(server, session, {
      agent_id: bad.agent_id,
      since: compromisedAt.toISOString(),
    });
    assert.equal(quarantined.status, 201, quarantined.body.toString());
    const view = json<QuarantineView>(quarantined);
    assert.equal(view.agent_id, bad.agent_id);
    assert.equal(view.hostname, "compromised");
    assert.equal(view.since, compromisedAt.toISOString());
    assert.equal(view.hidden_objects, 3);
    assert.equal(view.hidden_bytes, junkPack.length + junkIndex.length + junkSnapshot.length);
    assert.equal(view.affected_snapshots, 0);

    // Every agent, the quarantined one too, sees the tenant as if the junk had never come.
    for (const token of [good.credential, bad.credential]) {
      assert.deepEqual(await names(server, token, "data"), [sha256(early), own.name].sort());
      assert.deepEqual(await names(server, token, "index"), []);
      assert.deepEqual(
        await names(server, token, "snapshots"),
        [sha256(earlySnapshot), sha256(ownSnapshot)].sort(),
      );
    }
    // Reads answer exactly as for an object nobody has.
    const absent = sha256("nobody uploaded this");
    for (const [kind, name] of [
      ["data", sha256(junkPack)],
      ["index", sha256(junkIndex)],
      ["snapshots", sha256(junkSnapshot)],
    ] as const) {
      const path = `/v1/repo/objects/${kind}/${name}`;
      const head = await server.send({ method: "HEAD", path, token: good.credential });
      assert.equal(head.status, 404, path);
      const read = await server.send({ path, token: good.credential });
      assertError(read, "NotFound");
      const ranged = await server.send({
        path,
        token: good.credential,
        headers: { range: "bytes=0-3" },
      });
      assertError(ranged, "NotFound");
      const nobody = await server.send({
        path: `/v1/repo/objects/${kind}/${absent}`,
        token: good.credential,
      });
      assert.equal(
        read.body.toString().replace(name, absent),
        nobody.body.toString(),
        "a hidden object reads like an absent one",
      );
    }
    // A commit that leans on a hidden pack is refused as missing; an honest one goes through.
    const leaning = assertError(
      await server.commit(good.credential, randomBytes(80), [sha256(junkPack), own.name]),
      "MissingPacks",
    );
    assert.deepEqual(leaning.missing, [sha256(junkPack)]);
    assert.equal((await server.commit(good.credential, randomBytes(81), [own.name])).status, 201);
    // Nothing was deleted.
    const filesAfter = fingerprintFiles(server.tenantDir(tenant.id));
    for (const [path, digest] of filesBefore) assert.equal(filesAfter.get(path), digest, path);
    // A second quarantine of the same agent is refused until this one is released.
    assertError(await quarantine(server, session, { agent_id: bad.agent_id }), "Conflict");
    const listed = json<QuarantineView[]>(
      await server.send({ path: "/v1/tenants/acme/quarantines", token: session }),
    );
    assert.deepEqual(
      listed.map((q) => [q.agent_id, q.released_at, q.hidden_objects]),
      [[bad.agent_id, null, 3]],
    );

    const released = await release(server, session, bad.agent_id);
    assert.equal(released.status, 200, released.body.toString());
    assert.ok(json<QuarantineView>(released).released_at);
    assert.deepEqual(await names(server, good.credential, "index"), [sha256(junkIndex)]);
    assert.equal(
      (
        await server.send({
          path: `/v1/repo/objects/data/${sha256(junkPack)}`,
          token: good.credential,
        })
      ).status,
      200,
    );
    assertError(await release(server, session, bad.agent_id), "NotFound");

    const audit = json<
      { action: string; actor: { kind: string }; details: Record<string, unknown> }[]
    >(await server.send({ path: "/v1/audit?tenant=acme", token: session }));
    const steps = audit.filter((e) => e.action.startsWith("agent.quarantine")).reverse();
    assert.deepEqual(
      steps.map((e) => [e.action, e.actor.kind, e.details.agent_id]),
      [
        ["agent.quarantine", "operator", bad.agent_id],
        ["agent.quarantine.release", "operator", bad.agent_id],
      ],
    );
  });

  it("is an admin's act, and only for an agent of the tenant named", async (t) => {
    const server = await startTestServer(t);
    const session = await server.login();
    await server.createTenant(session, "acme");
    await server.createTenant(session, "other");
    const stranger = await server.agentOf(session, "other");
    assertError(await quarantine(server, session, { agent_id: stranger.agent_id }), "NotFound");
    assertError(
      await quarantine(server, stranger.credential, { agent_id: stranger.agent_id }),
      "Forbidden",
    );
    assertError(
      await quarantine(server, session, { agent_id: stranger.agent_id, since: "yesterday" }),
      "BadRequest",
    );
  });
});
