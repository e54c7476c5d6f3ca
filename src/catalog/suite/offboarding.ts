/** Tenant deletions: schedule, cancel, start, complete. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Operator, Tenant } from "../catalog.js";
import {
  at,
  catalogPerTest,
  DAY,
  fixtures,
  hashOf,
  type OpenCatalog,
  refuses,
} from "./fixtures.js";

export function describeOffboardingConformance(open: OpenCatalog): void {
  describe("tenant deletions", () => {
    const catalog = catalogPerTest(open);
    const { tenant, admin, agent, commit } = fixtures(catalog);

    const note = { actor: { kind: "system", id: "admin-cli" } } as const;
    const tech = () =>
      catalog.createOperator(
        { username: "tom", passwordHash: "$scrypt$tom", role: "technician" },
        at(0),
      );
    const schedule = (owner: Tenant, by: Operator, dueAt: Date, now: Date) =>
      catalog.scheduleTenantDeletion(
        { tenantId: owner.id, requestedBy: by.id, dueAt, reason: "delay" },
        note,
        now,
      );
    const actions = async (owner: Tenant) =>
      (await catalog.listAudit({ tenantId: owner.id, limit: 100 })).map((e) => e.action).reverse();

    it("schedules: the tenant offboards, its agents and unused tokens are revoked, all audited at once", async () => {
      const acme = await tenant("acme");
      const other = await tenant("other");
      const alice = await admin("alice");
      const pc = await agent(acme);
      const elsewhere = await agent(other);
      await catalog.createEnrollmentToken(
        {
          tokenHash: hashOf("old token"),
          tenantId: acme.id,
          createdBy: alice.id,
          expiresAt: at(30 * DAY),
          scopes: ["backup"],
        },
        at(0),
      );
      const deletion = await catalog.scheduleTenantDeletion(
        { tenantId: acme.id, requestedBy: alice.id, dueAt: at(4 * DAY), reason: "delay" },
        { actor: { kind: "system", id: "admin-cli" }, details: { delay_seconds: 259_200 } },
        at(DAY),
      );
      assert.deepEqual(deletion, {
        id: deletion.id,
        tenantId: acme.id,
        requestedBy: alice.id,
        requestedAt: at(DAY),
        dueAt: at(4 * DAY),
        reason: "delay",
        cancelledBy: null,
        cancelledAt: null,
        startedAt: null,
        completedAt: null,
      });
      assert.equal((await catalog.getTenant(acme.id))?.status, "offboarding");
      assert.deepEqual((await catalog.getAgent(pc.id))?.revokedAt, at(DAY));
      assert.equal((await catalog.getAgent(elsewhere.id))?.revokedAt, null);
      assert.equal(
        await catalog.authenticateAgent(pc.id, hashOf("agent secret"), at(DAY + 1)),
        undefined,
      );
      const [entry] = await catalog.listAudit({ tenantId: acme.id, limit: 1 });
      assert.equal(entry?.action, "tenant.delete.schedule");
      assert.deepEqual(entry?.actor, { kind: "system", id: "admin-cli" });
      assert.equal(entry?.details.requested_by, "alice");
      assert.equal(entry?.details.agents_revoked, 1);
      assert.equal(entry?.details.delay_seconds, 259_200);
      assert.deepEqual(await catalog.listTenantDeletions(acme.id), [deletion]);
      assert.deepEqual(await catalog.listPendingTenantDeletions(), [deletion]);
      await refuses(
        schedule(acme, alice, at(9 * DAY), at(2 * DAY)),
        "ObjectConflict",
        "tenant-not-active",
      );
      // Cancelled, the tenant is active again, but the token issued before stays void.
      await catalog.cancelTenantDeletion(acme.id, (await admin("bob")).id, note, at(2 * DAY));
      await refuses(
        catalog.consumeEnrollmentToken(hashOf("old token"), at(2 * DAY)),
        "InvalidArgument",
        "tenant-inactive",
      );
      assert.equal((await catalog.getAgent(pc.id))?.revokedAt?.getTime(), at(DAY).getTime());
    });

    it("refuses, changing nothing, a deletion due before an immutability window, not delayed, or by a non-admin", async () => {
      const acme = await tenant("acme", { immutableDays: 14 });
      const alice = await admin("alice");
      const snap = await commit(acme, await agent(acme), "s1", [], at(DAY));
      const details = await refuses(
        schedule(acme, alice, at(15 * DAY - 1), at(2 * DAY)),
        "InvalidArgument",
        "before-immutability",
      );
      assert.equal(details.until, snap.immutableUntil.toISOString());
      await refuses(
        schedule(acme, alice, at(2 * DAY), at(2 * DAY)),
        "InvalidArgument",
        "not-delayed",
      );
      await refuses(
        schedule(acme, await tech(), at(20 * DAY), at(2 * DAY)),
        "InvalidArgument",
        "not-admin",
      );
      await catalog.disableOperator(alice.id);
      await refuses(
        schedule(acme, alice, at(20 * DAY), at(2 * DAY)),
        "InvalidArgument",
        "not-admin",
      );
      await refuses(
        schedule(
          { ...acme, id: "0123456789abcdef" },
          await admin("bob"),
          at(20 * DAY),
          at(2 * DAY),
        ),
        "NotFound",
      );
      assert.equal((await catalog.getTenant(acme.id))?.status, "active");
      assert.deepEqual(await catalog.listTenantDeletions(acme.id), []);
      assert.deepEqual(await actions(acme), []);
      // Exactly at the end of the window is allowed: the window is [committedAt, immutableUntil).
      const bob = await catalog.getOperatorByUsername("bob");
      assert.ok(bob);
      assert.equal(
        (await schedule(acme, bob, at(15 * DAY), at(2 * DAY))).dueAt.getTime(),
        at(15 * DAY).getTime(),
      );
    });

    it("is cancelled only by another admin and only before it is due; the agents stay revoked", async () => {
      const acme = await tenant("acme");
      const alice = await admin("alice");
      const bob = await admin("bob");
      const pc = await agent(acme);
      await refuses(
        catalog.cancelTenantDeletion(acme.id, bob.id, note, at(1)),
        "NotFound",
        "no-deletion",
      );
      const deletion = await schedule(acme, alice, at(3 * DAY), at(0));
      await refuses(
        catalog.cancelTenantDeletion(acme.id, alice.id, note, at(1)),
        "InvalidArgument",
        "same-operator",
      );
      await refuses(
        catalog.cancelTenantDeletion(acme.id, (await tech()).id, note, at(1)),
        "InvalidArgument",
        "not-admin",
      );
      await refuses(
        catalog.cancelTenantDeletion(acme.id, bob.id, note, at(3 * DAY)),
        "ObjectConflict",
        "not-cancellable",
      );
      assert.equal((await catalog.getTenant(acme.id))?.status, "offboarding");
      const cancelled = await catalog.cancelTenantDeletion(acme.id, bob.id, note, at(3 * DAY - 1));
      assert.deepEqual(cancelled, {
        ...deletion,
        cancelledBy: bob.id,
        cancelledAt: at(3 * DAY - 1),
      });
      assert.equal((await catalog.getTenant(acme.id))?.status, "active");
      assert.notEqual((await catalog.getAgent(pc.id))?.revokedAt, null);
      assert.deepEqual(await catalog.listPendingTenantDeletions(), []);
      // A cancelled deletion never runs, and is history that does not change.
      await refuses(
        catalog.startTenantDeletion(deletion.id, note, at(10 * DAY)),
        "ObjectConflict",
        "not-pending",
      );
      await refuses(
        catalog.completeTenantDeletion(deletion.id, note, at(10 * DAY)),
        "ObjectConflict",
        "not-pending",
      );
      await refuses(
        catalog.cancelTenantDeletion(acme.id, bob.id, note, at(1)),
        "NotFound",
        "no-deletion",
      );
      assert.deepEqual(await catalog.listTenantDeletions(acme.id), [cancelled]);
      assert.deepEqual(await actions(acme), ["tenant.delete.schedule", "tenant.delete.cancel"]);
      // A new request is possible, by anyone, and another cancellation again needs a second admin.
      const again = await schedule(acme, bob, at(5 * DAY), at(DAY));
      assert.ok(again.id > deletion.id);
      await refuses(
        catalog.cancelTenantDeletion(acme.id, bob.id, note, at(DAY)),
        "InvalidArgument",
        "same-operator",
      );
    });

    it("starts only when due, deleting every snapshot at once, or none while one is held or immutable", async () => {
      const acme = await tenant("acme", { immutableDays: 14 });
      const other = await tenant("other", { immutableDays: 0 });
      const alice = await admin("alice");
      const pc = await agent(acme);
      const first = await commit(acme, pc, "s1", [hashOf("p1")], at(0));
      const second = await commit(acme, pc, "s2", [hashOf("p2")], at(DAY));
      const theirs = await commit(other, await agent(other), "s1", [], at(0));
      await catalog.setSnapshotState(acme.id, first.id, "held", at(DAY));
      const deletion = await schedule(acme, alice, at(15 * DAY), at(2 * DAY));
      await refuses(
        catalog.startTenantDeletion(deletion.id, note, at(15 * DAY - 1)),
        "ObjectConflict",
        "not-due",
      );
      const held = await refuses(
        catalog.startTenantDeletion(deletion.id, note, at(15 * DAY)),
        "ObjectConflict",
        "held",
      );
      assert.deepEqual(held.snapshots, [first.id]);
      assert.equal((await catalog.getSnapshot(acme.id, second.id))?.state, "active");
      await catalog.setSnapshotState(acme.id, first.id, "active", at(15 * DAY));
      const started = await catalog.startTenantDeletion(deletion.id, note, at(15 * DAY));
      assert.deepEqual(started, { ...deletion, startedAt: at(15 * DAY) });
      for (const snapshot of await catalog.listSnapshots(acme.id))
        assert.equal(snapshot.state, "deleted");
      assert.equal((await catalog.getSnapshot(other.id, theirs.id))?.state, "active");
      // Cancelling a started deletion is refused; starting again is a resumption.
      await refuses(
        catalog.cancelTenantDeletion(acme.id, (await admin("bob")).id, note, at(15 * DAY)),
        "ObjectConflict",
        "not-cancellable",
      );
      assert.deepEqual(await catalog.startTenantDeletion(deletion.id, note, at(16 * DAY)), started);
      const entries = await catalog.listAudit({ tenantId: acme.id, limit: 2 });
      assert.deepEqual(
        entries.map((e) => [e.action, e.details.snapshots_deleted, e.details.resumed]),
        [
          ["tenant.delete.start", 0, true],
          ["tenant.delete.start", 2, false],
        ],
      );
      await refuses(catalog.startTenantDeletion(9999, note, at(16 * DAY)), "NotFound");
    });

    it("refuses commits into an offboarding tenant, so that no snapshot escapes its deletion", async () => {
      const acme = await tenant("acme", { immutableDays: 14 });
      const pc = await agent(acme);
      await schedule(acme, await admin("alice"), at(3 * DAY), at(0));
      // A commit already past the route's credential check when the schedule landed.
      await refuses(commit(acme, pc, "late", [], at(1)), "InvalidArgument", "tenant-inactive");
      assert.deepEqual(await catalog.listSnapshots(acme.id), []);
    });

    it("completes only a started deletion: the tenant is deleted for good and its objects forgotten", async () => {
      const acme = await tenant("acme", { immutableDays: 0 });
      const alice = await admin("alice");
      const pc = await agent(acme);
      await commit(acme, pc, "s1", [hashOf("p1"), hashOf("p2")], at(0));
      await catalog.recordObject(
        { tenantId: acme.id, kind: "index", name: hashOf("i1"), size: 10, createdByAgent: pc.id },
        at(0),
      );
      const deletion = await schedule(acme, alice, at(2 * DAY), at(DAY));
      await refuses(
        catalog.completeTenantDeletion(deletion.id, note, at(2 * DAY)),
        "ObjectConflict",
        "not-started",
      );
      await catalog.startTenantDeletion(deletion.id, note, at(2 * DAY));
      const done = await catalog.completeTenantDeletion(
        deletion.id,
        { ...note, details: { store_removed: true } },
        at(2 * DAY + 1),
      );
      assert.deepEqual(done.completedAt, at(2 * DAY + 1));
      assert.equal((await catalog.getTenant(acme.id))?.status, "deleted");
      assert.deepEqual((await catalog.objectUsage(acme.id)).totalCount, 0);
      assert.equal(await catalog.objectExists(acme.id, "data", hashOf("p1")), false);
      assert.equal((await catalog.listSnapshots(acme.id)).length, 1, "the record stays, deleted");
      assert.deepEqual(await catalog.listPendingTenantDeletions(), []);
      assert.deepEqual(await catalog.completeTenantDeletion(deletion.id, note, at(3 * DAY)), done);
      const [entry] = await catalog.listAudit({ tenantId: acme.id, limit: 1 });
      assert.deepEqual(entry?.details, {
        store_removed: true,
        deletion_id: deletion.id,
        tenant: "acme",
        objects_forgotten: 3,
      });
      assert.deepEqual(await actions(acme), [
        "tenant.delete.schedule",
        "tenant.delete.start",
        "tenant.delete.complete",
      ]);
      await refuses(
        catalog.updateTenant(acme.id, { status: "active" }),
        "ObjectConflict",
        "status-transition",
      );
      await refuses(
        schedule(acme, alice, at(9 * DAY), at(3 * DAY)),
        "ObjectConflict",
        "tenant-not-active",
      );
    });

    it("keeps a tenant's status out of reach of updateTenant while a deletion is pending", async () => {
      const acme = await tenant("acme");
      await schedule(acme, await admin("alice"), at(3 * DAY), at(0));
      for (const status of ["active", "deleted"] as const)
        await refuses(
          catalog.updateTenant(acme.id, { status }),
          "ObjectConflict",
          "deletion-scheduled",
        );
      assert.equal(
        (await catalog.updateTenant(acme.id, { retentionDays: 7 })).status,
        "offboarding",
      );
    });
  });
}
