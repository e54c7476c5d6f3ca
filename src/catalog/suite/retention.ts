/** Retention policies, known-good marks and deleted snapshots. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { at, catalogPerTest, fixtures, hashOf, type OpenCatalog, refuses } from "./fixtures.js";

export function describeRetentionConformance(open: OpenCatalog): void {
  describe("retention policies and known-good marks", () => {
    const catalog = catalogPerTest(open);
    const { tenant, agent, commit } = fixtures(catalog);

    const rules = {
      keepWithinDays: 14,
      keepDaily: 7,
      keepWeekly: 4,
      keepMonthly: 12,
      keepYearly: 3,
      knownGoodAfterDays: 7,
    };

    it("keeps one policy per tenant and one override per agent, replacing on set", async () => {
      const acme = await tenant("acme");
      const pc = await agent(acme);
      assert.deepEqual(await catalog.listRetentionPolicies(acme.id), []);
      const override = await catalog.setRetentionPolicy(
        acme.id,
        pc.id,
        { ...rules, keepDaily: 30 },
        at(2),
      );
      const first = await catalog.setRetentionPolicy(acme.id, null, rules, at(1));
      assert.deepEqual(first, { tenantId: acme.id, agentId: null, rules, updatedAt: at(1) });
      const second = await catalog.setRetentionPolicy(
        acme.id,
        null,
        { ...rules, keepYearly: 10 },
        at(3),
      );
      assert.deepEqual(await catalog.listRetentionPolicies(acme.id), [second, override]);
      const other = await tenant("other");
      assert.deepEqual(await catalog.listRetentionPolicies(other.id), []);
    });

    it("refuses policies that keep nothing, bad counts, and agents of another tenant", async () => {
      const acme = await tenant("acme");
      const other = await tenant("other");
      const foreign = await agent(other);
      const zero = {
        keepWithinDays: 0,
        keepDaily: 0,
        keepWeekly: 0,
        keepMonthly: 0,
        keepYearly: 0,
        knownGoodAfterDays: 30,
      };
      await refuses(
        catalog.setRetentionPolicy(acme.id, null, zero, at(1)),
        "InvalidArgument",
        "keeps-nothing",
      );
      for (const bad of [{ keepDaily: -1 }, { keepWeekly: 1.5 }, { keepMonthly: Number.NaN }])
        await refuses(
          catalog.setRetentionPolicy(acme.id, null, { ...rules, ...bad }, at(1)),
          "InvalidArgument",
        );
      await refuses(catalog.setRetentionPolicy(acme.id, foreign.id, rules, at(1)), "NotFound");
      await refuses(catalog.setRetentionPolicy("0123456789abcdef", null, rules, at(1)), "NotFound");
      assert.deepEqual(await catalog.listRetentionPolicies(acme.id), []);
    });

    it("marks a snapshot known-good, idempotently, but not a deleted one", async () => {
      const acme = await tenant("acme", { immutableDays: 0 });
      const pc = await agent(acme);
      const snap = await commit(acme, pc, "s1", [], at(1));
      assert.equal((await catalog.markSnapshotKnownGood(acme.id, snap.id)).knownGood, true);
      assert.equal((await catalog.markSnapshotKnownGood(acme.id, snap.id)).knownGood, true);
      assert.equal((await catalog.getSnapshot(acme.id, snap.id))?.knownGood, true);
      const gone = await commit(acme, pc, "s2", [], at(2));
      await catalog.setSnapshotState(acme.id, gone.id, "deleted", at(3));
      await refuses(
        catalog.markSnapshotKnownGood(acme.id, gone.id),
        "ObjectConflict",
        "deleted-is-final",
      );
      await refuses(catalog.markSnapshotKnownGood(acme.id, hashOf("none")), "NotFound");
    });

    it("does not count the objects of deleted snapshots as stored", async () => {
      const acme = await tenant("acme", { immutableDays: 0 });
      const pc = await agent(acme);
      const snap = await commit(acme, pc, "s1", [], at(1));
      assert.deepEqual((await catalog.objectUsage(acme.id)).byKind.snapshots, {
        count: 1,
        bytes: 300,
      });
      await catalog.setSnapshotState(acme.id, snap.id, "deleted", at(2));
      assert.deepEqual((await catalog.objectUsage(acme.id)).byKind.snapshots, {
        count: 0,
        bytes: 0,
      });
    });
  });
}
