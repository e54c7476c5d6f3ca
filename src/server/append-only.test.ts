/**
 * Holding an agent credential, try every way to destroy or alter what a tenant already has, then
 * show that every object stored before is byte-identical on disk and still listed.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import type { ObjectKind } from "../storage/object-store.js";
import {
  type Answer,
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

const KINDS: readonly ObjectKind[] = ["config", "keys", "data", "index", "snapshots"];

function commitBody(snapshot: Buffer, packs: readonly string[], claimed = "2030-01-01T00:00:00Z") {
  return {
    name: sha256(snapshot),
    snapshot: snapshot.toString("base64"),
    packs,
    claimed_time: claimed,
  };
}

async function listings(server: TestServer, token: string): Promise<Map<ObjectKind, string[]>> {
  const all = new Map<ObjectKind, string[]>();
  for (const kind of KINDS) {
    const answer = await server.send({ path: `/v1/repo/objects/${kind}`, token });
    assert.equal(answer.status, 200, answer.body.toString());
    all.set(
      kind,
      json<{ objects: { name: string }[] }>(answer)
        .objects.map((o) => o.name)
        .sort(),
    );
  }
  return all;
}

/** Every answer must be a refusal: an attack that got a 2xx is a hole. */
function refused(answer: Answer, what: string): void {
  assert.ok(
    answer.status >= 400 && answer.status < 500,
    `${what} was not refused: ${answer.status} ${answer.body}`,
  );
}

describe("append-only for agents", () => {
  it("keeps every stored object byte-identical and listed whatever an agent credential tries", async (t) => {
    const server = await startTestServer(t);
    const session = await server.login();
    const tenant = await server.createTenant(session, "acme");
    const agent = await server.agentOf(session, "acme");
    const token = agent.credential;

    // A repository's worth of objects, and two committed snapshots.
    const config = randomBytes(300);
    const key = await keySlotOf("key slot 1");
    const index = blob("index 1");
    const packs = [randomBytes(40_000), randomBytes(70_000), randomBytes(10_000)].map(asPack);
    const packNames = packs.map((p) => sha256(p));
    const ok = (answer: Answer) => assert.ok(answer.status === 201, answer.body.toString());
    // As an enrollment creating the repository does: key slot first, config last.
    ok(await server.put(token, "keys", key.name, key.bytes));
    ok(await server.put(token, "config", "config", config));
    ok(await server.put(token, "index", index.name, index.bytes));
    for (const pack of packs) ok(await server.put(token, "data", sha256(pack), pack));
    const first = randomBytes(500);
    const second = randomBytes(600);
    const commit = (body: unknown) =>
      server.send({ method: "POST", path: "/v1/repo/snapshots", token, json: body });
    ok(await commit(commitBody(first, packNames)));
    ok(await commit(commitBody(second, packNames.slice(0, 2))));
    const firstRecord = json<{ committed_at: string }>(await commit(commitBody(first, packNames)));

    const root = server.tenantDir(tenant.id);
    const before = fingerprintFiles(root);
    const listedBefore = await listings(server, token);
    assert.equal(before.size, 8);
    const existing: { kind: ObjectKind; name: string; bytes: Buffer }[] = [
      { kind: "config", name: "config", bytes: config },
      { kind: "keys", name: key.name, bytes: key.bytes },
      { kind: "index", name: index.name, bytes: index.bytes },
      ...packs.map((bytes) => ({ kind: "data" as const, name: sha256(bytes), bytes })),
      { kind: "snapshots", name: sha256(first), bytes: first },
      { kind: "snapshots", name: sha256(second), bytes: second },
    ];

    // DELETE, on every object, every listing and odd paths, with and without the credential.
    for (const { kind, name } of existing) {
      for (const credential of [token, undefined]) {
        const answer = await server.send({
          method: "DELETE",
          path: `/v1/repo/objects/${kind}/${name}`,
          ...(credential ? { token: credential } : {}),
        });
        assertError(answer, "AppendOnly");
      }
      assertError(
        await server.send({ method: "DELETE", path: `/v1/repo/objects/${kind}`, token }),
        "AppendOnly",
      );
    }
    for (const path of [
      "/v1/repo/snapshots",
      `/v1/repo/snapshots/${sha256(first)}`,
      "/v1/repo",
      "/v1/repo/objects/data/../config",
      `/v1/tenants/acme`,
      `/v1/agents/${agent.agent_id}`,
    ])
      assertError(await server.send({ method: "DELETE", path, token }), "AppendOnly");

    // Overwrite each kind with other bytes: under its own name the hash no longer matches; config
    // has no hash to check, so write-once refuses it.
    for (const { kind, name, bytes } of existing) {
      const other = Buffer.concat([bytes, Buffer.from("tampered")]);
      const answer = await server.put(token, kind, name, other);
      refused(answer, `overwriting ${kind}/${name}`);
      assert.equal(
        json<{ error: { code: string } }>(answer).error.code,
        kind === "config" ? "Conflict" : kind === "snapshots" ? "AppendOnly" : "HashMismatch",
      );
      // Truncating it to nothing, or "patching" a range of it.
      refused(await server.put(token, kind, name, Buffer.alloc(0)), `emptying ${kind}/${name}`);
      refused(
        await server.put(token, kind, name, Buffer.from("xx"), { "content-range": "bytes 0-1/*" }),
        `patching ${kind}/${name}`,
      );
      // Override headers change nothing: the method is the method.
      const overridden = await server.send({
        method: "POST",
        path: `/v1/repo/objects/${kind}/${name}`,
        token,
        headers: { "x-http-method-override": "DELETE", "content-type": "application/octet-stream" },
        body: "x",
      });
      assertError(overridden, "MethodNotAllowed");
    }
    refused(await server.put(token, "config", "config", Buffer.alloc(0)), "an empty config");

    // Path traversal in ids, plain, encoded, double-encoded and absolute, aimed at the config,
    // the catalog and other tenants' directories.
    for (const path of [
      "/v1/repo/objects/keys/../config",
      "/v1/repo/objects/data/../../../catalog.sqlite",
      "/v1/repo/objects/data/..%2fconfig",
      "/v1/repo/objects/data/%2e%2e%2f%2e%2e%2fcatalog.sqlite",
      "/v1/repo/objects/data/%252e%252e%252fconfig",
      "/v1/repo/objects/data/%2Fetc%2Fpasswd",
      "/v1/repo/objects/data//tmp/x",
      `/v1/repo/objects/data/..\\..\\config`,
      `/v1/repo/objects/index/${index.name}%00`,
      `/v1/repo/objects/config/config%2f..`,
      `/v1/repo/objects/%2e%2e/config`,
    ]) {
      const answer = await server.send({
        method: "PUT",
        path,
        token,
        headers: { "content-type": "application/octet-stream" },
        body: "evil",
      });
      refused(answer, `PUT ${path}`);
    }

    // Snapshots can only be committed, never put, even with their exact bytes.
    assertError(await server.put(token, "snapshots", sha256(first), first), "AppendOnly");
    const fresh = randomBytes(100);
    assertError(await server.put(token, "snapshots", sha256(fresh), fresh), "AppendOnly");

    // A commit whose packs are missing is refused and adds nothing.
    const orphan = randomBytes(200);
    const missing = assertError(
      await commit(commitBody(orphan, [...packNames, sha256("a pack nobody uploaded")])),
      "MissingPacks",
    );
    assert.deepEqual(missing.missing, [sha256("a pack nobody uploaded")]);
    // A commit of other bytes under an existing snapshot's name.
    assertError(
      await commit({ ...commitBody(randomBytes(10), packNames), name: sha256(first) }),
      "HashMismatch",
    );
    // Committing an existing snapshot again (a replay) changes nothing, its receipt time included.
    const replay = await commit(commitBody(first, [], "2099-01-01T00:00:00Z"));
    assert.equal(replay.status, 200);
    assert.deepEqual(json(replay), { ...firstRecord, outcome: "exists" });

    // "A snapshot that replaces another": whatever it says, it is one more snapshot.
    const replacement = Buffer.from(
      JSON.stringify({ replaces: [sha256(first), sha256(second)], tombstone: true, forget: "all" }),
    );
    const added = await commit(commitBody(replacement, [], "1970-01-01T00:00:00Z"));
    assert.equal(added.status, 201, added.body.toString());
    // Once the repository exists, an agent adds no key slot (an operator does); indexes only add.
    const extraKey = await keySlotOf("a second key slot that would lock others out");
    const keyRefused = assertError(
      await server.put(token, "keys", extraKey.name, extraKey.bytes),
      "Conflict",
    );
    assert.equal(keyRefused.reason, "repository-initialized");
    const extraIndex = blob("an index claiming every pack is gone");
    assert.equal((await server.put(token, "index", extraIndex.name, extraIndex.bytes)).status, 201);

    // Operator routes are closed to agents.
    assertError(
      await server.send({
        method: "POST",
        path: "/v1/tenants",
        token,
        json: { name: "x", retention_days: 1 },
      }),
      "Forbidden",
    );
    assertError(
      await server.send({ method: "POST", path: `/v1/agents/${agent.agent_id}/revoke`, token }),
      "Forbidden",
    );

    // Everything stored before is still there, byte for byte, and still listed.
    const after = fingerprintFiles(root);
    for (const [path, digest] of before) assert.equal(after.get(path), digest, `${path} changed`);
    assert.equal(after.size, before.size + 2, "only the new snapshot and index were added");
    const listedAfter = await listings(server, token);
    for (const kind of KINDS)
      for (const name of listedBefore.get(kind) ?? [])
        assert.ok(listedAfter.get(kind)?.includes(name), `${kind}/${name} is no longer listed`);
    for (const { kind, name, bytes } of existing) {
      const read = await server.send({ path: `/v1/repo/objects/${kind}/${name}`, token });
      assert.ok(read.body.equals(bytes), `${kind}/${name} reads back different bytes`);
    }
  });
});
