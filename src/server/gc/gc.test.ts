import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import Sqlite from "better-sqlite3";
import type { Tenant } from "../../catalog/catalog.js";
import { type DataDir, openDataDir } from "../data-dir.js";
import { asPack, sha256, startTestServer, tempDir } from "../test-support.js";
import { collectTenant, isStray, withGcLock } from "./gc.js";

const SYSTEM = { kind: "system", id: "test" } as const;
const BIN = fileURLToPath(new URL("../../../bin/rempart.js", import.meta.url));

const packFile = (root: string, name: string) => join(root, "data", name.slice(0, 2), name);

/**
 * Every pack each active or held snapshot was committed with (as the agent sent them, not as the
 * catalog now says: a faulty GC could rewrite both), checked against the disk.
 */
async function missingPacks(
  data: DataDir,
  tenantId: string,
  committed: ReadonlyMap<string, readonly string[]>,
): Promise<string[]> {
  const root = data.stores.pathOf(tenantId);
  const missing: string[] = [];
  for (const snapshot of await data.catalog.listSnapshots(tenantId)) {
    if (snapshot.state === "deleted") continue;
    const packs = committed.get(snapshot.id);
    assert.ok(packs, `snapshot ${snapshot.id} was committed by this test`);
    for (const pack of packs)
      if (!existsSync(packFile(root, pack))) missing.push(`${snapshot.id}: ${pack}`);
  }
  return missing;
}

describe("GC decisions", () => {
  it("calls a pack file stray only when the catalog does not list it and it is older than the grace", () => {
    assert.equal(isStray({ recorded: false, mtimeMs: 99 }, 100), true);
    assert.equal(isStray({ recorded: false, mtimeMs: 100 }, 100), false);
    assert.equal(isStray({ recorded: true, mtimeMs: 0 }, 100), false);
  });
});

describe("GC racing commits", () => {
  it("never leaves a committed snapshot without its packs, with a grace of 0", async (t) => {
    const server = await startTestServer(t);
    const session = await server.login();
    const created = await server.createTenant(session, "acme", { immutable_days: 0 });
    const agents = [await server.agentOf(session, "acme", "pc-1")];
    agents.push(await server.agentOf(session, "acme", "pc-2"));
    const data = await openDataDir(server.dataDir);
    t.after(() => data.catalog.close());
    const acme = (await data.catalog.getTenant(created.id)) as Tenant;
    const tick = () => new Promise((resolve) => setImmediate(resolve));
    // Refusals are expected (GC took a pack before the commit named it), holes never are.
    const outcomes = { committed: 0, refused: 0, collected: 0 };
    let previous: string[] = [];
    const committed = new Map<string, readonly string[]>();

    for (let round = 0; round < 25; round += 1) {
      // Each round: fresh packs from two machines, plus the packs of the last round's snapshot,
      // which may have been deleted meanwhile. GC (grace 0) runs while the commits are in flight.
      const uploads = await Promise.all(
        agents.map(async (agent) => {
          const packs = [asPack(randomBytes(200)), asPack(randomBytes(300))];
          for (const pack of packs) {
            const answer = await server.put(agent.credential, "data", sha256(pack), pack);
            assert.ok(answer.status < 300, answer.body.toString());
          }
          return { agent, packs: packs.map((p) => sha256(p)) };
        }),
      );
      const commits = uploads.map(async ({ agent, packs }) => {
        for (let i = Math.floor(Math.random() * 8); i > 0; i -= 1) await tick();
        const snapshot = randomBytes(40);
        const named = [...packs, ...previous];
        const answer = await server.send({
          method: "POST",
          path: "/v1/repo/snapshots",
          token: agent.credential,
          json: {
            name: sha256(snapshot),
            snapshot: snapshot.toString("base64"),
            packs: named,
            claimed_time: new Date().toISOString(),
          },
        });
        if (answer.status === 201) {
          outcomes.committed += 1;
          committed.set(sha256(snapshot), named);
        } else {
          assert.equal(answer.status, 422, answer.body.toString());
          assert.match(answer.body.toString(), /MissingPacks/);
          outcomes.refused += 1;
        }
        return answer.status === 201 ? sha256(snapshot) : undefined;
      });
      const gc = (async () => {
        // Sometimes before the commits, sometimes during, sometimes after.
        const wait = Math.floor(Math.random() * 40);
        await new Promise((resolve) => setTimeout(resolve, wait));
        const report = await collectTenant(data, acme, {
          now: server.clock.now(),
          graceMs: 0,
          dryRun: false,
          actor: SYSTEM,
        });
        outcomes.collected += report.packs + report.strayFiles;
      })();
      const ids = (await Promise.all([...commits, gc])).filter(
        (id): id is string => typeof id === "string",
      );
      // Older snapshots go, so that packs they shared become garbage while new commits name them.
      for (const snapshot of await data.catalog.listSnapshots(acme.id))
        if (snapshot.state === "active" && !ids.includes(snapshot.id) && Math.random() < 0.5)
          await data.catalog.setSnapshotState(acme.id, snapshot.id, "deleted", server.clock.now());
      const last = ids[0];
      previous = last === undefined ? [] : [...(committed.get(last) ?? [])];
      assert.deepEqual(await missingPacks(data, acme.id, committed), [], `round ${round}`);
    }
    assert.ok(outcomes.committed > 0, JSON.stringify(outcomes));
    assert.ok(outcomes.collected > 0, JSON.stringify(outcomes));
    t.diagnostic(JSON.stringify(outcomes));
  });

  it("puts a pack back when an agent re-records it while GC is removing it", async (t) => {
    const dir = tempDir(t, "gc");
    const data = await openDataDir(dir);
    t.after(() => data.catalog.close());
    const now = new Date();
    const acme = await data.catalog.createTenant({ name: "acme", retentionDays: 30 }, now);
    const store = await data.stores.get(acme.id);
    const root = data.stores.pathOf(acme.id);
    const pack = randomBytes(100);
    const name = sha256(pack);
    await store.put({ kind: "data", name }, pack);
    // Stored, not recorded, old: a stray. Recorded again before GC settles: it must stay.
    const later = new Date(now.getTime() + 60_000);
    await data.catalog.recordObject(
      { tenantId: acme.id, kind: "data", name, size: 100, createdByAgent: null },
      later,
    );
    await data.catalog.forgetPack(acme.id, name, new Date(later.getTime() + 1));
    // A killed GC left the file parked; the pack was recorded again since.
    assert.equal(await store.trashPack(name), true);
    assert.ok(!existsSync(packFile(root, name)));
    await data.catalog.recordObject(
      { tenantId: acme.id, kind: "data", name, size: 100, createdByAgent: null },
      later,
    );
    const report = await collectTenant(data, acme, {
      now: new Date(later.getTime() - 1),
      graceMs: 0,
      dryRun: false,
      actor: SYSTEM,
    });
    assert.equal(report.restored, 1);
    assert.ok(existsSync(packFile(root, name)));
    assert.deepEqual(readdirSync(join(root, "gc-trash")), []);
  });
});

describe("GC killed with SIGKILL", () => {
  it("leaves catalog and store consistent, and the next run finishes the job", async (t) => {
    const dir = tempDir(t, "gc-kill");
    const data = await openDataDir(dir);
    let closed = false;
    t.after(() => (closed ? undefined : data.catalog.close()));
    const past = new Date(Date.now() - 3_600_000);
    const acme = await data.catalog.createTenant(
      { name: "acme", retentionDays: 30, immutableDays: 0 },
      past,
    );
    const store = await data.stores.get(acme.id);
    const root = data.stores.pathOf(acme.id);
    const add = async (bytes: Buffer) => {
      const name = sha256(bytes);
      await store.put({ kind: "data", name }, bytes);
      await data.catalog.recordObject(
        { tenantId: acme.id, kind: "data", name, size: bytes.length, createdByAgent: null },
        past,
      );
      return name;
    };
    const garbage: string[] = [];
    for (let i = 0; i < 1500; i += 1) garbage.push(await add(randomBytes(64)));
    // A few stray files (stored, never recorded) and one live snapshot's pack.
    for (let i = 0; i < 20; i += 1)
      await store.put({ kind: "data", name: sha256(`s${i}`) }, Buffer.from(`s${i}`));
    const live = await add(randomBytes(64));
    const agent = await data.catalog.createAgent(
      {
        tenantId: acme.id,
        hostname: "pc",
        secretHash: sha256("secret"),
        scopes: ["backup"],
        expiresAt: new Date(Date.now() + 86_400_000),
      },
      past,
    );
    const snapshot = sha256("snapshot");
    await store.put({ kind: "snapshots", name: snapshot }, Buffer.from("snapshot"));
    await data.catalog.recordObject(
      { tenantId: acme.id, kind: "snapshots", name: snapshot, size: 8, createdByAgent: null },
      past,
    );
    await data.catalog.recordSnapshot(
      { tenantId: acme.id, id: snapshot, agentId: agent.id, claimedTime: past, packs: [live] },
      past,
    );
    await data.catalog.close();
    closed = true;

    const dataRows = () => {
      const db = new Sqlite(join(dir, "catalog.sqlite"), { readonly: true });
      try {
        return db
          .prepare("SELECT name FROM objects WHERE tenant_id = ? AND kind = 'data'")
          .pluck()
          .all(acme.id) as string[];
      } finally {
        db.close();
      }
    };
    const gc = () =>
      spawn(process.execPath, [BIN, "admin", "gc", "--data", dir, "--grace", "0s"], {
        stdio: ["ignore", "pipe", "pipe"],
      });

    const first = gc();
    const exited = new Promise((resolve) => first.on("exit", resolve));
    let rows = dataRows().length;
    while (rows > 1300) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      rows = dataRows().length;
    }
    first.kill("SIGKILL");
    await exited;
    rows = dataRows().length;
    assert.ok(rows > 1 && rows < 1501, `killed part way: ${rows} pack records left`);
    const check = () => {
      const listed = dataRows();
      for (const name of listed)
        assert.ok(existsSync(packFile(root, name)), `listed pack ${name} is on disk`);
      return listed;
    };
    check();

    const second = gc();
    let stdout = "";
    second.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    let stderr = "";
    second.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const code = await new Promise((resolve) => second.on("exit", resolve));
    assert.equal(code, 0, stderr);
    assert.match(stdout, /tenant acme: freed \d+ unreferenced pack/);
    assert.deepEqual(check(), [live]);
    const onDisk = readdirSync(join(root, "data")).flatMap((fan) =>
      readdirSync(join(root, "data", fan)),
    );
    assert.deepEqual(onDisk, [live], "no unreferenced old pack survives");
    assert.deepEqual(readdirSync(join(root, "gc-trash")), []);
    assert.ok(!existsSync(join(dir, "gc.lock")));
  });

  it("refuses a second GC while one holds the lock", async (t) => {
    const dir = tempDir(t, "gc-lock");
    await withGcLock(dir, async () => {
      await assert.rejects(
        withGcLock(dir, async () => 1),
        /another GC is running/,
      );
    });
    assert.equal(await withGcLock(dir, async () => 2), 2);
  });
});
