/** Committing snapshots and reading their records. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { SnapshotRecord } from "../catalog.js";
import {
  at,
  catalogPerTest,
  DAY,
  fixtures,
  hashOf,
  type OpenCatalog,
  refuses,
} from "./fixtures.js";

export function describeSnapshotConformance(open: OpenCatalog): void {
  describe("snapshots", () => {
    const catalog = catalogPerTest(open);
    const { tenant, agent, recordPack, commit } = fixtures(catalog);

    it("records the server's receipt time beside the claimed time, and fixes the immutability window", async () => {
      const acme = await tenant("acme", { immutableDays: 14 });
      const pc = await agent(acme);
      const claimed = new Date("2040-06-01T00:00:00.000Z");
      const recorded = await commit(acme, pc, "s1", [hashOf("p1")], at(DAY), claimed);
      assert.deepEqual(recorded, {
        tenantId: acme.id,
        id: hashOf("snapshot s1"),
        agentId: pc.id,
        committedAt: at(DAY),
        claimedTime: claimed,
        immutableUntil: at(15 * DAY),
        state: "active",
        knownGood: false,
        logicalBytes: null,
        detection: null,
      });
      assert.deepEqual(await catalog.getSnapshot(acme.id, recorded.id), recorded);
      assert.equal(await catalog.getSnapshot(acme.id, hashOf("snapshot none")), undefined);
      // Shortening the window applies to new snapshots only.
      await catalog.updateTenant(acme.id, { immutableDays: 1 });
      assert.deepEqual(
        (await catalog.getSnapshot(acme.id, recorded.id))?.immutableUntil,
        at(15 * DAY),
      );
      const later = await commit(acme, pc, "s2", [], at(2 * DAY));
      assert.deepEqual(later.immutableUntil, at(3 * DAY));
    });

    it("keeps a commit's verdict with its record, and refuses a malformed one, recording nothing", async () => {
      const acme = await tenant("acme");
      const pc = await agent(acme);
      const detection = {
        verdict: "ransomware",
        score: 92,
        reasons: ["3,900 of 9,870 changed files renamed to .locked"],
        signals: { agent: { files_changed: 9870, new_extensions: [".locked"] }, server: {} },
      } as const;
      const record = async (label: string, value: unknown) => {
        const id = hashOf(label);
        await catalog.recordObject(
          { tenantId: acme.id, kind: "snapshots", name: id, size: 300, createdByAgent: pc.id },
          at(1),
        );
        return catalog.recordSnapshot(
          {
            tenantId: acme.id,
            id,
            agentId: pc.id,
            claimedTime: at(1),
            packs: [],
            detection: value as typeof detection,
          },
          at(1),
        );
      };
      const flagged = await record("flagged", detection);
      assert.deepEqual(flagged.detection, detection);
      assert.deepEqual((await catalog.getSnapshot(acme.id, flagged.id))?.detection, detection);
      for (const bad of [
        { ...detection, verdict: "doomed" },
        { ...detection, score: 101 },
        { ...detection, score: 1.5 },
        { ...detection, reasons: "not a list" },
        { ...detection, signals: [] },
        { ...detection, signals: { huge: "x".repeat(17 * 1024) } },
      ])
        await refuses(record(`bad ${JSON.stringify(bad).length}`, bad), "InvalidArgument");
      assert.deepEqual(
        (await catalog.listSnapshots(acme.id)).map((s) => s.id),
        [flagged.id],
      );
    });

    it("lists one agent's newest snapshots, oldest first", async () => {
      const acme = await tenant("acme");
      const pc = await agent(acme, { hostname: "pc" });
      const laptop = await agent(acme, { hostname: "laptop" });
      const first = await commit(acme, pc, "first", [], at(1));
      await commit(acme, laptop, "laptop", [], at(2));
      const second = await commit(acme, pc, "second", [], at(3));
      const third = await commit(acme, pc, "third", [], at(4));
      const ids = async (limit: number) =>
        (await catalog.listAgentSnapshots(acme.id, pc.id, limit)).map((s) => s.id);
      assert.deepEqual(await ids(10), [first.id, second.id, third.id]);
      assert.deepEqual(await ids(2), [second.id, third.id]);
      assert.deepEqual(await catalog.listAgentSnapshots("another tenant", pc.id, 10), []);
      await refuses(catalog.listAgentSnapshots(acme.id, pc.id, 0), "InvalidArgument");
    });

    it("lists a tenant's snapshots by commit time whatever times the agent claims", async () => {
      const acme = await tenant("acme");
      const pc = await agent(acme);
      await commit(acme, pc, "first", [], at(1), new Date("2099-01-01T00:00:00Z"));
      await commit(acme, pc, "second", [], at(2), new Date("1999-01-01T00:00:00Z"));
      await commit(acme, pc, "third", [], at(3));
      const other = await tenant("other");
      await commit(other, await agent(other), "first", [], at(0));
      assert.deepEqual(
        (await catalog.listSnapshots(acme.id)).map((s) => s.id),
        ["first", "second", "third"].map((label) => hashOf(`snapshot ${label}`)),
      );
    });

    it("stores the referenced packs once each, sorted", async () => {
      const acme = await tenant("acme");
      const packs = [hashOf("p3"), hashOf("p1"), hashOf("p2"), hashOf("p1")];
      const snap = await commit(acme, await agent(acme), "s1", packs, at(1));
      assert.deepEqual(
        await catalog.listSnapshotPacks(acme.id, snap.id),
        [...new Set(packs)].sort(),
      );
      await refuses(catalog.listSnapshotPacks(acme.id, hashOf("snapshot none")), "NotFound");
      const other = await tenant("other");
      await refuses(catalog.listSnapshotPacks(other.id, snap.id), "NotFound");
    });

    it("refuses a snapshot id the tenant already has, but not the same id in another tenant", async () => {
      const acme = await tenant("acme");
      const pc = await agent(acme);
      const first = await commit(acme, pc, "s1", [hashOf("p1")], at(1));
      await refuses(
        catalog.recordSnapshot(
          { tenantId: acme.id, id: first.id, agentId: pc.id, claimedTime: at(2), packs: [] },
          at(2),
        ),
        "ObjectConflict",
      );
      assert.deepEqual(await catalog.listSnapshots(acme.id), [first]);
      assert.deepEqual(await catalog.listSnapshotPacks(acme.id, first.id), [hashOf("p1")]);
      const other = await tenant("other");
      assert.equal((await commit(other, await agent(other), "s1", [], at(3))).id, first.id);
    });

    it("refuses a snapshot whose object or packs the tenant does not have, recording nothing", async () => {
      const acme = await tenant("acme");
      const other = await tenant("other");
      const pc = await agent(acme);
      await recordPack(acme, hashOf("have"), at(1));
      await recordPack(other, hashOf("theirs"), at(1));
      const id = hashOf("snapshot s1");
      const snapshot = {
        tenantId: acme.id,
        id,
        agentId: pc.id,
        claimedTime: at(2),
        packs: [hashOf("have"), hashOf("theirs"), hashOf("nowhere")],
      };
      const refusal = await refuses(catalog.recordSnapshot(snapshot, at(2)), "NotFound");
      assert.deepEqual(
        [...(refusal.missing as string[])].sort(),
        [`data/${hashOf("nowhere")}`, `data/${hashOf("theirs")}`, `snapshots/${id}`].sort(),
      );
      await catalog.recordObject(
        { tenantId: acme.id, kind: "snapshots", name: id, size: 1, createdByAgent: pc.id },
        at(3),
      );
      const stillMissing = await refuses(catalog.recordSnapshot(snapshot, at(3)), "NotFound");
      assert.equal(stillMissing.missingCount, 2);
      assert.deepEqual(await catalog.listSnapshots(acme.id), []);
      assert.equal(await catalog.getSnapshot(acme.id, id), undefined);
    });

    it("refuses a snapshot committed by another tenant's agent", async () => {
      const acme = await tenant("acme");
      const other = await tenant("other");
      const intruder = await agent(other);
      const id = hashOf("snapshot s1");
      await catalog.recordObject(
        { tenantId: acme.id, kind: "snapshots", name: id, size: 1, createdByAgent: null },
        at(1),
      );
      await refuses(
        catalog.recordSnapshot(
          { tenantId: acme.id, id, agentId: intruder.id, claimedTime: at(1), packs: [] },
          at(1),
        ),
        "NotFound",
      );
      assert.deepEqual(await catalog.listSnapshots(acme.id), []);
    });

    it("deletes a snapshot only after its immutability window, never while held, and for good", async () => {
      const acme = await tenant("acme", { immutableDays: 14 });
      const snap = await commit(acme, await agent(acme), "s1", [], at(0));
      const move = (state: SnapshotRecord["state"], now: Date) =>
        catalog.setSnapshotState(acme.id, snap.id, state, now);
      await refuses(move("deleted", at(14 * DAY - 1)), "ObjectConflict", "immutable");
      assert.equal((await move("held", at(1))).state, "held");
      await refuses(move("deleted", at(30 * DAY)), "ObjectConflict", "held");
      assert.equal((await move("active", at(30 * DAY))).state, "active");
      assert.equal((await move("deleted", at(14 * DAY))).state, "deleted");
      assert.equal((await catalog.getSnapshot(acme.id, snap.id))?.state, "deleted");
      await refuses(move("active", at(40 * DAY)), "ObjectConflict", "deleted-is-final");
      await refuses(move("held", at(40 * DAY)), "ObjectConflict", "deleted-is-final");
      await refuses(move("gone" as "deleted", at(40 * DAY)), "InvalidArgument");
      await refuses(
        catalog.setSnapshotState(acme.id, hashOf("snapshot none"), "held", at(1)),
        "NotFound",
      );
    });

    it("lists for GC only old packs that no active or held snapshot references", async () => {
      const acme = await tenant("acme", { immutableDays: 0 });
      const pc = await agent(acme);
      const [shared, onlyDeleted, onlyHeld, orphan, fresh] = [
        "shared",
        "deleted",
        "held",
        "orphan",
        "fresh",
      ].map(hashOf) as [string, string, string, string, string];
      await commit(acme, pc, "kept", [shared], at(1));
      const gone = await commit(acme, pc, "gone", [shared, onlyDeleted], at(2));
      const held = await commit(acme, pc, "held", [onlyHeld], at(3));
      await recordPack(acme, orphan, at(4));
      await recordPack(acme, fresh, at(DAY));
      await catalog.setSnapshotState(acme.id, gone.id, "deleted", at(5));
      await catalog.setSnapshotState(acme.id, held.id, "held", at(5));
      const other = await tenant("other");
      await recordPack(other, hashOf("foreign orphan"), at(1));

      const unreferenced = (createdBefore: Date) =>
        catalog.listUnreferencedPacks(acme.id, { createdBefore, limit: 100 });
      assert.deepEqual(await unreferenced(at(DAY)), [onlyDeleted, orphan].sort());
      assert.deepEqual(await unreferenced(at(DAY + 1)), [onlyDeleted, orphan, fresh].sort());
      assert.deepEqual(await unreferenced(at(4)), [onlyDeleted]);
      const [firstName] = [onlyDeleted, orphan].sort();
      assert.deepEqual(
        await catalog.listUnreferencedPacks(acme.id, { createdBefore: at(DAY), limit: 1 }),
        [firstName],
      );
      assert.deepEqual(
        await catalog.listUnreferencedPacks(acme.id, {
          createdBefore: at(DAY),
          after: firstName,
          limit: 10,
        }),
        [onlyDeleted, orphan].sort().slice(1),
      );
    });
  });
}
