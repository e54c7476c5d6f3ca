import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import type { Operator, Tenant } from "../../catalog/catalog.js";
import { isRempartError } from "../../errors.js";
import type { AdminActor, AdminContext } from "../admin.js";
import { changeSnapshot, showTenant } from "../admin.js";
import { openDataDir } from "../data-dir.js";
import { sha256, tempDir } from "../test-support.js";
import {
  cancelTenantDeletion,
  requestTenantDeletion,
  runDeletions,
  startDeletion,
} from "./offboarding.js";

const T0 = Date.parse("2031-03-01T00:00:00Z");
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const at = (ms: number) => new Date(T0 + ms);
const ACTOR = { kind: "system", id: "test" } as const;

/** A data directory with two tenants (14-day immutability), two admins and a technician. */
async function setup(t: TestContext) {
  const data = await openDataDir(tempDir(t, "offboarding"));
  t.after(() => data.catalog.close());
  let now = at(0);
  const ctx: AdminContext = { catalog: data.catalog, stores: data.stores, now: () => now };
  const operator = (username: string, role: "admin" | "technician") =>
    data.catalog.createOperator({ username, passwordHash: "x", role }, now);
  const alice = await operator("alice", "admin");
  await operator("bob", "admin");
  await operator("tom", "technician");
  const actor: AdminActor = { audit: ACTOR, operatorId: alice.id };
  const tenant = async (name: string) => {
    const created = await data.catalog.createTenant(
      { name, retentionDays: 30, immutableDays: 14 },
      now,
    );
    await data.stores.get(created.id);
    const agent = await data.catalog.createAgent(
      {
        tenantId: created.id,
        hostname: "pc",
        secretHash: sha256(`${name} secret`),
        scopes: ["backup"],
        expiresAt: at(365 * DAY),
      },
      now,
    );
    return { tenant: created, agent };
  };
  const acme = await tenant("acme");
  const other = await tenant("other");
  /** A snapshot with its pack, in the store and in the catalog, committed at `now`. */
  const commit = async (owner: { tenant: Tenant; agent: { id: string } }, label: string) => {
    const store = await data.stores.get(owner.tenant.id);
    const pack = Buffer.from(`pack ${label}`);
    const snapshot = Buffer.from(`snapshot ${label}`);
    const [packName, id] = [sha256(pack), sha256(snapshot)];
    await store.put({ kind: "data", name: packName }, pack);
    await store.put({ kind: "snapshots", name: id }, snapshot);
    for (const [kind, name, size] of [
      ["data", packName, pack.length],
      ["snapshots", id, snapshot.length],
    ] as const)
      await data.catalog.recordObject(
        { tenantId: owner.tenant.id, kind, name, size, createdByAgent: owner.agent.id },
        now,
      );
    return data.catalog.recordSnapshot(
      {
        tenantId: owner.tenant.id,
        id,
        agentId: owner.agent.id,
        claimedTime: now,
        packs: [packName],
      },
      now,
    );
  };
  const storeOf = (owner: { tenant: Tenant }) => data.stores.pathOf(owner.tenant.id);
  const status = async (owner: { tenant: Tenant }) =>
    (await data.catalog.getTenant(owner.tenant.id))?.status;
  const actions = async (owner: { tenant: Tenant }) =>
    (await data.catalog.listAudit({ tenantId: owner.tenant.id, limit: 100 }))
      .map((e) => e.action)
      .reverse();
  const agentAccepted = async (owner: { tenant: Tenant; agent: { id: string } }) =>
    (await data.catalog.authenticateAgent(
      owner.agent.id,
      sha256(`${owner.tenant.name} secret`),
      now,
    )) !== undefined;
  const run = (dryRun = false) => runDeletions(ctx, { now, dryRun, actor: ACTOR });
  return {
    data,
    ctx,
    actor,
    alice: alice as Operator,
    acme,
    other,
    commit,
    storeOf,
    status,
    actions,
    agentAccepted,
    run,
    setNow: (ms: number) => {
      now = at(ms);
    },
  };
}

async function rejects(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isRempartError(error), String(error));
    assert.match(error.message, pattern);
    return true;
  });
}

describe("operator deletion of a tenant's data", () => {
  it("postpones a deletion requested inside the immutability window to its end, and refuses less than 24 h", async (t) => {
    const s = await setup(t);
    const snapshot = await s.commit(s.acme, "s1");
    s.setNow(DAY);
    await rejects(
      requestTenantDeletion(s.ctx, s.actor, "acme", { requestedBy: "alice", delayMs: 23 * HOUR }),
      /at least 24 h, so that a second admin can cancel it; 23 h is too short/,
    );
    await rejects(
      requestTenantDeletion(s.ctx, s.actor, "acme", { requestedBy: "nobody" }),
      /no operator named "nobody"/,
    );
    await rejects(
      requestTenantDeletion(s.ctx, s.actor, "acme", { requestedBy: "tom" }),
      /needs an enabled operator with the role admin; tom is a technician/,
    );
    assert.equal(await s.status(s.acme), "active");
    assert.ok(await s.agentAccepted(s.acme));

    const scheduled = await requestTenantDeletion(s.ctx, s.actor, "acme", {
      requestedBy: "alice",
    });
    assert.equal(scheduled.deletion.reason, "immutability");
    assert.equal(scheduled.deletion.due_at, snapshot.immutableUntil.toISOString());
    assert.equal(scheduled.deletion.due_at, at(14 * DAY).toISOString());
    assert.equal(scheduled.plan.delay_ends_at, at(4 * DAY).toISOString());
    assert.equal(await s.status(s.acme), "offboarding");
    assert.equal(await s.agentAccepted(s.acme), false, "refused at once");

    s.setNow(14 * DAY - 1);
    const early = await s.run();
    assert.deepEqual(
      early.map((r) => [r.tenant, r.outcome]),
      [["acme", "wait"]],
    );
    assert.match(early[0]?.reason ?? "", /end of the immutability window/);
    assert.equal(
      (await s.data.catalog.getSnapshot(s.acme.tenant.id, snapshot.id))?.state,
      "active",
    );
    assert.ok(existsSync(s.storeOf(s.acme)));

    s.setNow(14 * DAY);
    const done = await s.run();
    assert.deepEqual(
      done.map((r) => [r.tenant, r.outcome, r.snapshotsDeleted, r.storeRemoved]),
      [["acme", "deleted", 1, true]],
    );
    assert.equal(await s.status(s.acme), "deleted");
  });

  it("after the window runs only after the delay; another admin may cancel, the requester may not; a cancelled deletion never runs", async (t) => {
    const s = await setup(t);
    const snapshot = await s.commit(s.acme, "s1");
    s.setNow(20 * DAY);
    const scheduled = await requestTenantDeletion(s.ctx, s.actor, "acme", {
      requestedBy: "alice",
    });
    assert.equal(scheduled.deletion.reason, "delay");
    assert.equal(scheduled.deletion.due_at, at(23 * DAY).toISOString());
    assert.equal(scheduled.deletion.cancellable_until, at(23 * DAY).toISOString());
    const shown = await showTenant(s.ctx, "acme");
    assert.equal(shown.status, "offboarding");
    assert.equal(shown.deletion?.requested_by, "alice");
    assert.equal(shown.deletion?.cancellable_until, at(23 * DAY).toISOString());

    s.setNow(23 * DAY - 1);
    assert.deepEqual(
      (await s.run()).map((r) => r.outcome),
      ["wait"],
    );
    await rejects(
      cancelTenantDeletion(s.ctx, s.actor, "acme", "alice"),
      /alice requested this deletion, so another admin must cancel it \(two-person rule\)/,
    );
    await rejects(cancelTenantDeletion(s.ctx, s.actor, "acme", "tom"), /role admin/);
    const cancelled = await cancelTenantDeletion(s.ctx, s.actor, "acme", "bob");
    assert.equal(cancelled.deletion.cancelled_by, "bob");
    assert.equal(cancelled.deletion.cancellable_until, null);
    assert.equal(await s.status(s.acme), "active");
    assert.equal(await s.agentAccepted(s.acme), false, "credentials stay revoked");

    s.setNow(60 * DAY);
    assert.deepEqual(await s.run(), []);
    assert.equal(
      (await s.data.catalog.getSnapshot(s.acme.tenant.id, snapshot.id))?.state,
      "active",
    );
    assert.ok(existsSync(s.storeOf(s.acme)));
    assert.equal((await showTenant(s.ctx, "acme")).deletion?.cancelled_by, "bob");
    await rejects(cancelTenantDeletion(s.ctx, s.actor, "acme", "bob"), /no scheduled deletion/);
    assert.deepEqual(await s.actions(s.acme), ["tenant.delete.schedule", "tenant.delete.cancel"]);
  });

  it("refuses to cancel once due, then deletes the data; agents stay refused, other tenants untouched, every step audited", async (t) => {
    const s = await setup(t);
    await s.commit(s.acme, "s1");
    await s.commit(s.other, "o1");
    s.setNow(DAY);
    await s.commit(s.acme, "s2");
    s.setNow(30 * DAY);
    await requestTenantDeletion(s.ctx, s.actor, "acme", {
      requestedBy: "alice",
      delayMs: 2 * DAY,
    });
    s.setNow(32 * DAY);
    await rejects(
      cancelTenantDeletion(s.ctx, s.actor, "acme", "bob"),
      /can no longer be cancelled/,
    );
    const dry = await s.run(true);
    assert.deepEqual(
      dry.map((r) => r.outcome),
      ["would-delete"],
    );
    assert.ok(existsSync(s.storeOf(s.acme)), "a dry run changes nothing");

    const [report] = await s.run();
    assert.equal(report?.outcome, "deleted");
    assert.equal(report?.snapshotsDeleted, 2);
    assert.equal(existsSync(s.storeOf(s.acme)), false);
    assert.equal(existsSync(`${s.storeOf(s.acme)}.deleting`), false);
    assert.equal(await s.status(s.acme), "deleted");
    assert.equal(await s.agentAccepted(s.acme), false);
    const details = await showTenant(s.ctx, "acme");
    assert.equal(details.usage.stored_bytes, 0);
    assert.deepEqual(details.snapshots, {
      active: 0,
      held: 0,
      deleted: 2,
      known_good: 0,
      last_committed_at: at(DAY).toISOString(),
    });
    assert.equal(details.deletion?.completed_at, at(32 * DAY).toISOString());
    assert.deepEqual(await s.actions(s.acme), [
      "tenant.delete.schedule",
      "tenant.delete.start",
      "tenant.delete.complete",
    ]);
    const [complete] = await s.data.catalog.listAudit({ tenantId: s.acme.tenant.id, limit: 1 });
    assert.equal(complete?.details.store_removed, true);

    assert.equal(await s.status(s.other), "active");
    assert.ok(await s.agentAccepted(s.other));
    assert.equal((await showTenant(s.ctx, "other")).snapshots.active, 1);
    assert.ok(existsSync(s.storeOf(s.other)));
    assert.deepEqual(await s.run(), [], "nothing left to do");
  });

  it("waits for a held snapshot to be released, saying why, and audits each refusal", async (t) => {
    const s = await setup(t);
    const snapshot = await s.commit(s.acme, "s1");
    await changeSnapshot(s.ctx, s.actor, "acme", snapshot.id.slice(0, 8), "hold");
    s.setNow(20 * DAY);
    const scheduled = await requestTenantDeletion(s.ctx, s.actor, "acme", {
      requestedBy: "alice",
    });
    assert.equal(scheduled.plan.held_snapshots, 1);
    s.setNow(23 * DAY);
    const [blocked] = await s.run();
    assert.equal(blocked?.outcome, "blocked");
    assert.match(blocked?.reason ?? "", /1 snapshot\(s\) of tenant acme are held: release them/);
    assert.equal((await s.data.catalog.getSnapshot(s.acme.tenant.id, snapshot.id))?.state, "held");
    assert.ok(existsSync(s.storeOf(s.acme)));
    assert.equal(await s.status(s.acme), "offboarding");
    assert.deepEqual(
      (await s.run(true)).map((r) => r.outcome),
      ["blocked"],
    );

    await changeSnapshot(s.ctx, s.actor, "acme", snapshot.id.slice(0, 8), "release");
    assert.deepEqual(
      (await s.run()).map((r) => r.outcome),
      ["deleted"],
    );
    assert.deepEqual(
      (await s.actions(s.acme)).filter((a) => a.startsWith("tenant.delete")),
      [
        "tenant.delete.schedule",
        "tenant.delete.refused",
        "tenant.delete.start",
        "tenant.delete.complete",
      ],
    );
  });

  it("finishes on the next run a run killed after any of its steps", async (t) => {
    const s = await setup(t);
    await s.commit(s.acme, "s1");
    s.setNow(20 * DAY);
    await requestTenantDeletion(s.ctx, s.actor, "acme", { requestedBy: "alice" });
    s.setNow(23 * DAY);
    const [deletion] = await s.data.catalog.listPendingTenantDeletions();
    assert.ok(deletion);

    // Killed after the catalog step: every snapshot deleted, the files all there.
    const started = await startDeletion(s.data, deletion, ACTOR, at(23 * DAY));
    assert.deepEqual(started, { started: true, snapshots: 1 });
    await rejects(cancelTenantDeletion(s.ctx, s.actor, "acme", "bob"), /started at/);
    // Killed while removing the store: renamed aside and half removed.
    const path = s.storeOf(s.acme);
    await rename(path, `${path}.deleting`);
    await rm(join(`${path}.deleting`, "data"), { recursive: true, force: true });
    // ...and a GC of the offboarding tenant meanwhile made its store again.
    await mkdir(join(path, "data"), { recursive: true });
    await writeFile(join(path, "data", "stray"), "x");

    s.setNow(24 * DAY);
    const [report] = await s.run();
    assert.equal(report?.outcome, "deleted");
    assert.match(report?.reason ?? "", /^resumed: /);
    assert.equal(report?.storeRemoved, true);
    assert.equal(existsSync(path), false);
    assert.equal(existsSync(`${path}.deleting`), false);
    assert.equal(await s.status(s.acme), "deleted");
    assert.deepEqual(await s.actions(s.acme), [
      "tenant.delete.schedule",
      "tenant.delete.start",
      "tenant.delete.start",
      "tenant.delete.complete",
    ]);
    const [resumed] = (
      await s.data.catalog.listAudit({ tenantId: s.acme.tenant.id, limit: 2 })
    ).slice(1);
    assert.equal(resumed?.details.resumed, true);
    // Removing a store that is gone is a no-op.
    assert.equal(await s.data.stores.destroy(s.acme.tenant.id), false);
  });
});
