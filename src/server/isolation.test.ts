/** Two tenants on one server: neither can see, probe, read or write the other's objects. */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import type { ObjectKind } from "../storage/object-store.js";
import {
  type Answer,
  asPack,
  assertError,
  fingerprintFiles,
  json,
  sha256,
  startTestServer,
} from "./test-support.js";

/** What a client can learn from an answer: everything but the date and the name it asked about. */
function observable(answer: Answer, name: string): unknown {
  const { date: _date, ...headers } = answer.headers;
  return {
    status: answer.status,
    headers,
    body: answer.body.toString("utf8").replaceAll(name, "NAME"),
  };
}

describe("tenant isolation", () => {
  it("gives one tenant's agent no way to list, read, probe or change another tenant's objects", async (t) => {
    const server = await startTestServer(t);
    const session = await server.login();
    const acme = await server.createTenant(session, "acme");
    const globex = await server.createTenant(session, "globex");
    const a = (await server.agentOf(session, "acme")).credential;
    const b = (await server.agentOf(session, "globex")).credential;

    const config = randomBytes(100);
    const pack = asPack(randomBytes(50_000));
    const index = randomBytes(300);
    const snapshot = randomBytes(400);
    const names: Record<Exclude<ObjectKind, "config">, string> = {
      data: sha256(pack),
      index: sha256(index),
      keys: sha256("unused"),
      snapshots: sha256(snapshot),
    };
    assert.equal((await server.put(a, "config", "config", config)).status, 201);
    assert.equal((await server.put(a, "data", names.data, pack)).status, 201);
    assert.equal((await server.put(a, "index", names.index, index)).status, 201);
    const committed = await server.send({
      method: "POST",
      path: "/v1/repo/snapshots",
      token: a,
      json: {
        name: names.snapshots,
        snapshot: snapshot.toString("base64"),
        packs: [names.data],
        claimed_time: "2030-01-01T00:00:00Z",
      },
    });
    assert.equal(committed.status, 201, committed.body.toString());
    const acmeFiles = fingerprintFiles(server.tenantDir(acme.id));

    // Listings: B sees none of A's objects.
    for (const kind of ["config", "keys", "data", "index", "snapshots"]) {
      const listing = await server.send({ path: `/v1/repo/objects/${kind}`, token: b });
      assert.deepEqual(json(listing), { objects: [] }, kind);
    }

    // No existence oracle: for B, A's objects answer exactly like names nobody has.
    const absent = sha256("stored by nobody");
    for (const [kind, name] of [...Object.entries(names), ["config", "config"]] as [
      string,
      string,
    ][]) {
      for (const method of ["HEAD", "GET"]) {
        const present = await server.send({
          method,
          path: `/v1/repo/objects/${kind}/${name}`,
          token: b,
        });
        assert.equal(present.status, 404, `${method} ${kind}/${name} by B`);
        if (kind === "config") continue;
        const nowhere = await server.send({
          method,
          path: `/v1/repo/objects/${kind}/${absent}`,
          token: b,
        });
        assert.deepEqual(
          observable(present, name),
          observable(nowhere, absent),
          `${method} ${kind}`,
        );
      }
      const ranged = await server.send({
        path: `/v1/repo/objects/${kind}/${name}`,
        token: b,
        headers: { range: "bytes=0-10" },
      });
      assertError(ranged, "NotFound");
    }

    // B's commit may not lean on A's packs.
    const borrowed = randomBytes(64);
    const refused = assertError(
      await server.send({
        method: "POST",
        path: "/v1/repo/snapshots",
        token: b,
        json: {
          name: sha256(borrowed),
          snapshot: borrowed.toString("base64"),
          packs: [names.data],
          claimed_time: "2030-01-01T00:00:00Z",
        },
      }),
      "MissingPacks",
    );
    assert.deepEqual(refused.missing, [names.data]);

    // Writing under A's names lands in B's own store: created (no cross-tenant dedup, which would
    // tell B that A has the pack), with A's bytes untouched.
    const ownConfig = randomBytes(100);
    assert.equal((await server.put(b, "config", "config", ownConfig)).status, 201);
    const same = await server.put(b, "data", names.data, pack);
    assert.equal(same.status, 201, "the same pack PUT by another tenant is new for that tenant");
    assertError(await server.put(b, "data", names.data, asPack(randomBytes(200))), "HashMismatch");
    assert.deepEqual(fingerprintFiles(server.tenantDir(acme.id)), acmeFiles);
    const globexFiles = fingerprintFiles(server.tenantDir(globex.id));
    assert.equal(globexFiles.get(`data/${names.data.slice(0, 2)}/${names.data}`), sha256(pack));
    assert.equal(globexFiles.get("config"), sha256(ownConfig));
    const readA = await server.send({ path: "/v1/repo/objects/config/config", token: a });
    assert.ok(readA.body.equals(config));
    const readB = await server.send({ path: "/v1/repo/objects/config/config", token: b });
    assert.ok(readB.body.equals(ownConfig));

    // No path names a tenant for an agent: operator routes are closed, traversal is refused.
    assertError(await server.send({ path: "/v1/tenants/acme", token: b }), "Forbidden");
    for (const path of [
      `/v1/repo/objects/../../tenants/${acme.id}/config`,
      `/v1/repo/objects/data/..%2f..%2f${acme.id}%2fconfig`,
      `/v1/tenants/${acme.id}/repo/objects/config/config`,
    ]) {
      const answer = await server.send({ path, token: b });
      assert.ok(answer.status === 400 || answer.status === 404, `${path}: ${answer.status}`);
    }
    assert.deepEqual(fingerprintFiles(server.tenantDir(acme.id)), acmeFiles);
  });
});
