/**
 * One tenant (or whoever stole one of its agents' credentials) cannot slow down another: stalled
 * uploads hold only their own tenant's memory, slow bodies are cut, connections per address are
 * capped, public bodies are small and counted, commits are rate-limited, and a commit's pack check
 * lets other requests in.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { Agent, request } from "node:https";
import { join } from "node:path";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { TLSSocket } from "node:tls";
import { openSqliteCatalog } from "../catalog/sqlite/catalog.js";
import { SqliteObjects } from "../catalog/sqlite/objects.js";
import { MAX_OBJECT_BYTES } from "../protocol/api.js";
import type { Limits } from "./limits.js";
import { type StartedServer, startServer } from "./server.js";
import {
  asPack,
  assertError,
  type Cleanup,
  json,
  sha256,
  TestClock,
  TestServer,
  tempDir,
} from "./test-support.js";

interface DosServer {
  readonly test: TestServer;
  readonly server: StartedServer;
}

async function startDosServer(
  owner: Cleanup,
  limits: Partial<Omit<Limits, "uploadMemoryBytes">> = {},
): Promise<DosServer> {
  let server: StartedServer | undefined;
  owner.after(() => server?.close());
  const dataDir = tempDir(owner, "server");
  const clock = new TestClock();
  server = await startServer({
    dataDir,
    listen: { host: "127.0.0.1", port: 0 },
    now: clock.now,
    limits,
    closeGraceMs: 100,
  });
  return { test: new TestServer(server, dataDir, clock), server };
}

/** Polls until `ready` holds (the server has seen what the test sent), or fails after 30 s. */
async function until(what: string, ready: () => boolean, state?: () => unknown): Promise<void> {
  for (let waited = 0; !ready(); waited += 20) {
    if (waited > 30_000) assert.fail(`still waiting for ${what}: ${JSON.stringify(state?.())}`);
    await sleep(20);
  }
}

/** Headers of a request whose body the test sends itself (or not). */
function head(method: string, path: string, headers: Record<string, string>): string {
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  return `${method} ${path} HTTP/1.1\r\nHost: x\r\n${lines.join("")}\r\n`;
}

/** Everything the server sends on a raw connection until it closes it. */
function collect(socket: TLSSocket): Promise<string> {
  const chunks: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => chunks.push(chunk));
  socket.on("error", () => {});
  return once(socket, "close").then(() => Buffer.concat(chunks).toString("latin1"));
}

/** An upload that sends its headers and a few bytes of a large body, then nothing. */
async function stalledUpload(test: TestServer, token: string, length: number): Promise<TLSSocket> {
  const socket = await test.connectRaw();
  socket.on("error", () => {});
  socket.write(
    head("PUT", `/v1/repo/objects/data/${sha256(randomBytes(8))}`, {
      Authorization: `Bearer ${token}`,
      "Content-Type": "application/octet-stream",
      "Content-Length": String(length),
    }),
  );
  socket.write(randomBytes(16));
  return socket;
}

function commitBody(snapshot: Buffer, packs: readonly string[]) {
  return {
    name: sha256(snapshot),
    snapshot: snapshot.toString("base64"),
    packs,
    claimed_time: new Date().toISOString(),
  };
}

describe("one tenant cannot slow down another", () => {
  it("lets another tenant upload while one tenant's five 64 MiB uploads stall", async (t) => {
    const { test, server } = await startDosServer(t);
    const session = await test.login();
    const a = await test.createTenant(session, "tenant-a");
    await test.createTenant(session, "tenant-b");
    const agentA = (await test.agentOf(session, "tenant-a")).credential;
    const agentB = (await test.agentOf(session, "tenant-b")).credential;

    const stalled = await Promise.all(
      Array.from({ length: 5 }, () => stalledUpload(test, agentA, MAX_OBJECT_BYTES)),
    );
    const answered = stalled.map(collect);
    // Tenant A holds all of its own budget (two full objects) and waits for more.
    await until("tenant A's uploads to hold and queue", () => {
      const held = server.load().tenantUploadMemory[a.id];
      return held?.inUse === 2 * MAX_OBJECT_BYTES && held.waiting === 3;
    });

    const body = asPack(randomBytes(1024));
    const put = await test.put(agentB, "data", sha256(body), body);
    assert.equal(put.status, 201, put.body.toString());
    // B completed while every one of A's uploads was still stalled, none answered.
    const held = server.load().tenantUploadMemory[a.id];
    assert.equal(held?.inUse, 2 * MAX_OBJECT_BYTES);
    assert.ok(stalled.every((socket) => !socket.destroyed));

    for (const socket of stalled) socket.destroy();
    await Promise.all(answered);
    await until("tenant A's budget to be released", () => server.load().uploadMemory.inUse === 0);
    assert.deepEqual(server.load().tenantUploadMemory, {});
  });

  it("ends an upload that trickles below the minimum rate, and releases its budget", async (t) => {
    const { test, server } = await startDosServer(t, {
      minBodyRate: { bytes: 4096, windowMs: 300 },
    });
    const session = await test.login();
    await test.createTenant(session, "acme");
    const token = (await test.agentOf(session, "acme")).credential;

    const trickler = await stalledUpload(test, token, 1024 * 1024);
    const answer = collect(trickler);
    // 100 bytes every 50 ms: 600 bytes a window, well below the 4096 asked.
    const dripping = setInterval(() => {
      if (!trickler.destroyed) trickler.write(randomBytes(100));
    }, 50);
    t.after(() => clearInterval(dripping));
    await until("the upload to hold its budget", () => server.load().uploadMemory.inUse > 0);
    assert.match(await answer, /^HTTP\/1\.1 408 [\s\S]*"RequestTimeout"/);
    clearInterval(dripping);
    await until("the budget to return", () => server.load().uploadMemory.inUse === 0);
    assert.deepEqual(server.load().tenantUploadMemory, {});

    // A body sent at once meets the same rule easily.
    const body = asPack(randomBytes(512 * 1024));
    assert.equal((await test.put(token, "data", sha256(body), body)).status, 201);
  });

  it("closes a connection beyond the per-address cap and keeps serving the others", async (t) => {
    const { test, server } = await startDosServer(t, { connectionsPerAddress: 4 });
    const open = await Promise.all(Array.from({ length: 4 }, () => test.connectRaw()));
    await until("four connections", () => server.load().connections === 4);
    // Loopback is not exempt: the fifth is closed before its TLS handshake completes.
    await assert.rejects(test.connectRaw());
    for (const socket of open) {
      const answer = collect(socket);
      socket.write(head("GET", "/v1/health", { Connection: "close" }));
      assert.match(await answer, /^HTTP\/1\.1 200 /);
    }
    await until("the connections to close", () => server.load().connections === 0);
    assert.equal((await test.send({ path: "/v1/health" })).status, 200);
  });

  it("counts partial login bodies in a bounded budget, refuses large ones and cuts slow ones", async (t) => {
    const { test, server } = await startDosServer(t, {
      // 16 bodies of 64 KiB fill the (smallest) public budget of 1 MiB.
      publicJsonBytes: 64 * 1024,
      publicJsonMemoryBytes: 1024 * 1024,
      // Long enough for all 20 to connect before the first is cut, even on a busy machine.
      minBodyRate: { bytes: 4096, windowMs: 5000 },
    });
    // Larger than a login may be: refused from its Content-Length, before anything is read.
    const big = await test.send({
      method: "POST",
      path: "/v1/login",
      json: { username: "admin", password: "x".repeat(70_000) },
    });
    assertError(big, "PayloadTooLarge");

    // 20 logins of 64 KiB each, their bodies held after 100 bytes: 16 fit the budget, 4 wait.
    const held = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const socket = await test.connectRaw();
        socket.write(
          head("POST", "/v1/login", {
            "Content-Type": "application/json",
            "Content-Length": String(64 * 1024),
          }),
        );
        socket.write(`{"username":"admin","password":"${"x".repeat(60)}`);
        return { answer: collect(socket) };
      }),
    );
    await until(
      "the public budget to fill",
      () => {
        const use = server.load().publicJsonMemory;
        return use.inUse === use.capacity && use.waiting === 4;
      },
      () => server.load(),
    );
    assert.equal(server.load().publicJsonMemory.capacity, 1024 * 1024);
    // Each is cut by the minimum rate in turn; a good login then gets through.
    for (const { answer } of held) assert.match(await answer, /^HTTP\/1\.1 408 /);
    assert.equal(server.load().publicJsonMemory.inUse, 0);
    await test.login();
  });

  it("refuses an agent's commits beyond its burst with 429 and Retry-After, audited once", async (t) => {
    // An hour per commit once the burst is spent: the real time the test takes refills nothing.
    const { test } = await startDosServer(t, { commitRate: { burst: 5, intervalMs: 3_600_000 } });
    const session = await test.login();
    const acme = await test.createTenant(session, "acme");
    const looping = await test.agentOf(session, "acme", "pc-loop");
    const other = await test.agentOf(session, "acme", "pc-other");
    const commit = (credential: string) =>
      test.send({
        method: "POST",
        path: "/v1/repo/snapshots",
        token: credential,
        json: commitBody(randomBytes(100), []),
      });

    for (let i = 0; i < 5; i++) assert.equal((await commit(looping.credential)).status, 201);
    const refused = await commit(looping.credential);
    assert.equal(refused.status, 429, refused.body.toString());
    assert.equal(json<{ error: { code: string } }>(refused).error.code, "RateLimited");
    const retryAfter = Number(refused.headers["retry-after"]);
    assert.ok(retryAfter > 3000 && retryAfter <= 3600, String(retryAfter));
    assert.equal((await commit(looping.credential)).status, 429);
    // Another agent, of the same tenant even, is unaffected.
    assert.equal((await commit(other.credential)).status, 201);

    const catalog = openSqliteCatalog(join(test.dataDir, "catalog.sqlite"));
    t.after(() => catalog.close());
    const entries = (await catalog.listAudit({ tenantId: acme.id, limit: 100 })).filter(
      (e) => e.action === "commit-rate-limited",
    );
    assert.equal(entries.length, 1, "one entry per agent per hour, not one per refusal");
    assert.equal(entries[0]?.actor.id, looping.agent_id);
    assert.equal(entries[0]?.tenantId, acme.id);
    assert.equal(entries[0]?.details.agent_id, looping.agent_id);

    // Time refills the bucket.
    test.clock.advance(3_600_000);
    assert.equal((await commit(looping.credential)).status, 201);
  });

  it("answers another tenant's HEAD while a commit of 15,000 packs is being checked", async (t) => {
    const { test } = await startDosServer(t);
    const session = await test.login();
    await test.createTenant(session, "busy");
    const b = await test.createTenant(session, "quiet");
    const busy = (await test.agentOf(session, "busy")).credential;
    const quiet = (await test.agentOf(session, "quiet")).credential;
    const body = asPack(randomBytes(200));
    assert.equal((await test.put(quiet, "data", sha256(body), body)).status, 201);

    // The quiet tenant's connection is open and idle before the commit starts.
    const agent = new Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false });
    t.after(() => agent.destroy());
    const headQuiet = () =>
      new Promise<number>((resolve, reject) => {
        const sent = request(
          {
            host: "127.0.0.1",
            port: test.port,
            method: "HEAD",
            path: `/v1/repo/objects/data/${sha256(body)}`,
            headers: { authorization: `Bearer ${quiet}` },
            agent,
          },
          (incoming) => {
            incoming.resume();
            incoming.on("end", () => resolve(incoming.statusCode ?? 0));
          },
        );
        sent.on("error", reject);
        sent.end();
      });
    assert.equal(await headQuiet(), 200);

    // Batches of the pack check as they run (the server shares this process).
    let batches = 0;
    let headIssued: Promise<number> | undefined;
    let batchesWhenHeadAnswered = -1;
    const lookup = SqliteObjects.prototype.visibleObjects;
    t.after(() => {
      SqliteObjects.prototype.visibleObjects = lookup;
    });
    SqliteObjects.prototype.visibleObjects = function (this: SqliteObjects, ...args) {
      batches += 1;
      if (batches === 1 && args[0] !== b.id)
        headIssued = headQuiet().then((status) => {
          batchesWhenHeadAnswered = batches;
          return status;
        });
      return lookup.apply(this, args);
    };

    const packs = Array.from({ length: 15_000 }, () => sha256(randomBytes(8)));
    const committed = await test.send({
      method: "POST",
      path: "/v1/repo/snapshots",
      token: busy,
      json: commitBody(randomBytes(100), packs),
    });
    // None of these packs was uploaded: the whole check ran, and the commit was refused.
    assert.equal(assertError(committed, "MissingPacks").missing_count, 15_000);
    assert.equal(batches, 30);
    assert.equal(await headIssued, 200);
    assert.ok(
      batchesWhenHeadAnswered > 0 && batchesWhenHeadAnswered < 30,
      `the HEAD was answered after ${batchesWhenHeadAnswered} of 30 batches`,
    );
  });
});
