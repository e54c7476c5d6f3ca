import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { SnapshotRecord, Tenant } from "../../catalog/catalog.js";
import { isRempartError } from "../../errors.js";
import type { EnrollResponse } from "../../protocol/api.js";
import { openDataDir } from "../data-dir.js";
import { collectTenant } from "../gc/gc.js";
import { asPack, sha256, startTestServer, type TestServer } from "../test-support.js";
import { planPrune, pruneTenant } from "./prune.js";

const DAY = 86_400_000;
const SYSTEM = { kind: "system", id: "test" } as const;

const tenant: Tenant = {
  id: "t1",
  name: "acme",
  createdAt: new Date(0),
  retentionDays: 3,
  immutableDays: 0,
  quotaBytes: null,
  status: "active",
  rpoSeconds: 86_400,
};

function record(id: string, agentId: string, committedAt: Date): SnapshotRecord {
  return {
    tenantId: "t1",
    id,
    agentId,
    committedAt,
    claimedTime: committedAt,
    immutableUntil: committedAt,
    state: "active",
    knownGood: false,
    logicalBytes: null,
    detection: null,
  };
}

describe("planning a prune", () => {
  it("judges each agent's series alone, with its override, the tenant policy or the default", () => {
    const now = new Date("2030-03-10T12:00:00Z");
    const snapshots = [];
    for (let d = 1; d <= 6; d += 1)
      for (const agent of ["a", "b"])
        snapshots.push(record(`${agent}${d}`, agent, new Date(now.getTime() - d * DAY)));
    // Without policies: the tenant's 3 retention days; agent b alone keeps 5.
    const override = {
      tenantId: "t1",
      agentId: "b",
      rules: { ...rulesOf(5), keepDaily: 0, keepWeekly: 0, keepMonthly: 0, keepYearly: 0 },
      updatedAt: now,
    };
    const plan = planPrune(tenant, snapshots, [override], now);
    const kept = (agent: string) =>
      plan
        .find((s) => s.agentId === agent)
        ?.decisions.filter((d) => d.keep)
        .map((d) => d.id)
        .sort();
    assert.deepEqual(kept("a"), ["a1", "a2"]);
    assert.deepEqual(kept("b"), ["b1", "b2", "b3", "b4"]);
    assert.equal(plan.find((s) => s.agentId === "a")?.policy.source, "default");
    assert.equal(plan.find((s) => s.agentId === "b")?.policy.source, "agent");
    const reasons = plan.find((s) => s.agentId === "a")?.decisions.find((d) => d.id === "a1");
    assert.deepEqual(reasons?.reasons, ["within 3 days"]);
  });

  it("leaves deleted snapshots out and keeps held ones", () => {
    const now = new Date("2030-03-10T12:00:00Z");
    const old = new Date(now.getTime() - 100 * DAY);
    const plan = planPrune(
      tenant,
      [
        { ...record("gone", "a", old), state: "deleted" },
        { ...record("held", "a", old), state: "held" },
        record("old", "a", old),
      ],
      [],
      now,
    );
    assert.deepEqual(
      plan[0]?.decisions.map((d) => [d.id, d.keep, d.reasons.join()]),
      [
        ["held", true, "held"],
        ["old", false, ""],
      ],
    );
  });
});

function rulesOf(keepWithinDays: number) {
  return {
    keepWithinDays,
    keepDaily: 7,
    keepWeekly: 4,
    keepMonthly: 12,
    keepYearly: 3,
    knownGoodAfterDays: 7,
  };
}

/** Commits a snapshot through the real route: one shared pack plus one of its own. */
async function commitVia(
  server: TestServer,
  agent: EnrollResponse,
  shared: Buffer,
  claimed: Date,
): Promise<{ id: string; own: string }> {
  const own = asPack(randomBytes(128));
  for (const pack of [shared, own]) {
    const answer = await server.put(agent.credential, "data", sha256(pack), pack);
    assert.ok(answer.status === 201 || answer.status === 200, answer.body.toString());
  }
  const snapshot = randomBytes(48);
  const answer = await server.send({
    method: "POST",
    path: "/v1/repo/snapshots",
    token: agent.credential,
    json: {
      name: sha256(snapshot),
      snapshot: snapshot.toString("base64"),
      packs: [sha256(shared), sha256(own)],
      claimed_time: claimed.toISOString(),
    },
  });
  assert.equal(answer.status, 201, answer.body.toString());
  return { id: sha256(snapshot), own: sha256(own) };
}

describe("prune and GC against a flood", () => {
  it("keeps every snapshot the policy kept before 200 flood commits, with its objects and packs", async (t) => {
    const server = await startTestServer(t);
    const session = await server.login();
    const created = await server.createTenant(session, "acme", { immutable_days: 14 });
    const agent = await server.agentOf(session, "acme");
    const data = await openDataDir(server.dataDir);
    t.after(() => data.catalog.close());
    const acme = (await data.catalog.getTenant(created.id)) as Tenant;
    await data.catalog.setRetentionPolicy(acme.id, null, rulesOf(14), server.clock.now());
    const shared = asPack(randomBytes(128));

    // Ninety days of daily backups, the agent's clock ten years off either way.
    const TEN_YEARS = 3653 * DAY;
    const before: { id: string; own: string }[] = [];
    for (let d = 0; d < 90; d += 1) {
      const skew = d % 2 === 0 ? TEN_YEARS : -TEN_YEARS;
      before.push(
        await commitVia(server, agent, shared, new Date(server.clock.now().getTime() + skew)),
      );
      server.clock.advance(DAY);
    }
    const preFlood = await data.catalog.listSnapshots(acme.id);
    // The flood: 200 commits within the hour by the same (stolen) credential.
    for (let i = 0; i < 200; i += 1) {
      await commitVia(server, agent, shared, new Date("2099-12-31T00:00:00Z"));
      server.clock.advance(15_000);
    }
    // Prune and GC five days later, as the server would.
    server.clock.advance(5 * DAY);
    const later = server.clock.now();
    const policies = await data.catalog.listRetentionPolicies(acme.id);
    const withoutFlood = planPrune(acme, preFlood, policies, later).flatMap((s) => s.decisions);
    // The agent's claimed times play no part: the same records claiming the truth plan the same.
    const honest = preFlood.map((s) => ({ ...s, claimedTime: s.committedAt }));
    assert.deepEqual(
      planPrune(acme, honest, policies, later).flatMap((s) => s.decisions),
      withoutFlood,
    );
    const keptBefore = new Set(withoutFlood.filter((d) => d.keep).map((d) => d.id));
    assert.ok(keptBefore.size > 12 && keptBefore.size < 30, `kept ${keptBefore.size}`);

    const report = await pruneTenant(data, acme, { now: later, dryRun: false, actor: SYSTEM });
    assert.equal(report.refused.length, 0);
    const gc = await collectTenant(data, acme, {
      now: later,
      graceMs: DAY,
      dryRun: false,
      actor: SYSTEM,
    });
    assert.ok(gc.packs > 0, "GC freed the packs of pruned snapshots");

    const store = join(server.tenantDir(acme.id));
    const packFile = (name: string) => join(store, "data", name.slice(0, 2), name);
    for (const { id, own } of before) {
      const state = (await data.catalog.getSnapshot(acme.id, id))?.state;
      if (keptBefore.has(id)) {
        assert.equal(state, "active", `snapshot ${id} kept before the flood is still active`);
        assert.ok(existsSync(join(store, "snapshots", id)), "its snapshot object is stored");
        for (const pack of await data.catalog.listSnapshotPacks(acme.id, id))
          assert.ok(existsSync(packFile(pack)), `pack ${pack} of ${id} is stored`);
        assert.ok(existsSync(packFile(own)));
      } else {
        assert.equal(state, "deleted", `snapshot ${id} the policy drops is removed`);
        assert.ok(!existsSync(join(store, "snapshots", id)));
        assert.ok(!existsSync(packFile(own)), "its own pack was collected");
      }
    }
    assert.ok(existsSync(packFile(sha256(shared))), "the shared pack stays");
    // The flood kept one snapshot of its day at most (first of the day, within 14 days: all).
    const audit = await data.catalog.listAudit({ tenantId: acme.id, limit: 5 });
    assert.ok(audit.some((e) => e.action === "retention.prune"));
    assert.ok(audit.some((e) => e.action === "gc.run"));
  });
});

describe("prune and immutability", () => {
  it("keeps a snapshot inside its immutability window whatever the policy, and says why", async (t) => {
    const server = await startTestServer(t);
    const session = await server.login();
    const created = await server.createTenant(session, "acme", {
      immutable_days: 14,
      retention_days: 1,
    });
    const agent = await server.agentOf(session, "acme");
    const data = await openDataDir(server.dataDir);
    t.after(() => data.catalog.close());
    const acme = (await data.catalog.getTenant(created.id)) as Tenant;
    const { id } = await commitVia(server, agent, asPack(randomBytes(128)), server.clock.now());
    const start = server.clock.now().getTime();

    const early = new Date(start + 5 * DAY);
    await assert.rejects(data.catalog.setSnapshotState(acme.id, id, "deleted", early), (error) => {
      assert.ok(isRempartError(error, "ObjectConflict"));
      assert.match(error.message, /is immutable until \d{4}-/);
      return true;
    });
    const dry = await pruneTenant(data, acme, { now: early, dryRun: true, actor: SYSTEM });
    assert.deepEqual(dry.removed, []);
    assert.match(dry.series[0]?.decisions[0]?.reasons.join() ?? "", /^immutable until /);
    const kept = await pruneTenant(data, acme, { now: early, dryRun: false, actor: SYSTEM });
    assert.deepEqual(kept.removed, []);
    assert.equal((await data.catalog.getSnapshot(acme.id, id))?.state, "active");

    const after = new Date(start + 15 * DAY);
    const dryLater = await pruneTenant(data, acme, { now: after, dryRun: true, actor: SYSTEM });
    assert.deepEqual(dryLater.removed, [id]);
    assert.equal((await data.catalog.getSnapshot(acme.id, id))?.state, "active", "dry run");
    const done = await pruneTenant(data, acme, { now: after, dryRun: false, actor: SYSTEM });
    assert.deepEqual(done.removed, [id]);
    assert.equal(done.filesDeleted, 1);
    assert.equal((await data.catalog.getSnapshot(acme.id, id))?.state, "deleted");
    assert.ok(!existsSync(join(server.tenantDir(acme.id), "snapshots", id)));
    // Agents no longer see it.
    const listing = await server.send({
      path: "/v1/repo/objects/snapshots",
      token: agent.credential,
    });
    assert.deepEqual(JSON.parse(listing.body.toString()), { objects: [] });
  });
});
