/** Unreferenced packs and GC's one removal. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  at,
  catalogPerTest,
  DAY,
  fixtures,
  hashOf,
  type OpenCatalog,
  refuses,
} from "./fixtures.js";

export function describePackConformance(open: OpenCatalog): void {
  describe("unreferenced packs and GC", () => {
    const catalog = catalogPerTest(open);
    const { tenant, agent, recordPack, commit } = fixtures(catalog);

    it("forgets only unreferenced packs older than the grace, with deleted snapshots' lists", async () => {
      const acme = await tenant("acme", { immutableDays: 0 });
      const pc = await agent(acme);
      const [kept, dropped, young] = ["kept", "dropped", "young"].map(hashOf) as [
        string,
        string,
        string,
      ];
      await commit(acme, pc, "live", [kept], at(1));
      const gone = await commit(acme, pc, "gone", [kept, dropped], at(2));
      await recordPack(acme, young, at(DAY));
      await catalog.setSnapshotState(acme.id, gone.id, "deleted", at(3));
      assert.deepEqual(await catalog.unreferencedPackUsage(acme.id, at(DAY)), {
        count: 1,
        bytes: 1000,
      });
      assert.deepEqual(await catalog.forgetPack(acme.id, kept, at(DAY)), {
        outcome: "referenced",
        size: 1000,
      });
      assert.equal((await catalog.forgetPack(acme.id, young, at(DAY))).outcome, "recent");
      assert.deepEqual(await catalog.forgetPack(acme.id, dropped, at(DAY)), {
        outcome: "forgotten",
        size: 1000,
      });
      assert.deepEqual(await catalog.forgetPack(acme.id, dropped, at(DAY)), {
        outcome: "absent",
        size: 0,
      });
      assert.equal(await catalog.objectExists(acme.id, "data", dropped), false);
      assert.deepEqual(await catalog.listSnapshotPacks(acme.id, gone.id), [kept]);
      assert.deepEqual(await catalog.unreferencedPackUsage(acme.id, at(DAY)), {
        count: 0,
        bytes: 0,
      });
      // A commit that still names the forgotten pack is refused: it must be uploaded again.
      const late = hashOf("snapshot late");
      await catalog.recordObject(
        { tenantId: acme.id, kind: "snapshots", name: late, size: 1, createdByAgent: pc.id },
        at(5),
      );
      const refusal = await refuses(
        catalog.recordSnapshot(
          { tenantId: acme.id, id: late, agentId: pc.id, claimedTime: at(5), packs: [dropped] },
          at(5),
        ),
        "NotFound",
      );
      assert.deepEqual(refusal.missing, [`data/${dropped}`]);
      await refuses(catalog.forgetPack(acme.id, "../x", at(DAY)), "InvalidArgument");
    });

    it("counts a pack recorded after packsRecordedBy as missing", async () => {
      const acme = await tenant("acme");
      const pc = await agent(acme);
      const id = hashOf("snapshot s1");
      await recordPack(acme, hashOf("old"), at(1));
      await recordPack(acme, hashOf("new"), at(10));
      await catalog.recordObject(
        { tenantId: acme.id, kind: "snapshots", name: id, size: 1, createdByAgent: pc.id },
        at(11),
      );
      const snapshot = {
        tenantId: acme.id,
        id,
        agentId: pc.id,
        claimedTime: at(11),
        packs: [hashOf("old"), hashOf("new")],
      };
      const refusal = await refuses(
        catalog.recordSnapshot({ ...snapshot, packsRecordedBy: at(5) }, at(12)),
        "NotFound",
      );
      assert.deepEqual(refusal.missing, [`data/${hashOf("new")}`]);
      const recorded = await catalog.recordSnapshot(
        { ...snapshot, packsRecordedBy: at(10) },
        at(12),
      );
      assert.equal(recorded.state, "active");
    });
  });
}
