/** Quarantines: hiding a compromised agent's uploads, deleting nothing. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isRempartError } from "../../errors.js";
import { at, catalogPerTest, fixtures, hashOf, type OpenCatalog, refuses } from "./fixtures.js";

export function describeQuarantineConformance(open: OpenCatalog): void {
  describe("quarantines", () => {
    const catalog = catalogPerTest(open);
    const { tenant, agent, commit, upload, names } = fixtures(catalog);

    const note = { actor: { kind: "operator", id: "op-1" } } as const;

    it("hides what a quarantined agent uploaded since a time, from listings, lookups and commits, and shows it again on release", async () => {
      const acme = await tenant("acme");
      const bad = await agent(acme, { hostname: "bad" });
      const good = await agent(acme, { hostname: "good" });
      await upload(acme, bad, "data", "bad-early", at(10));
      await upload(acme, bad, "data", "bad-late", at(30));
      await upload(acme, bad, "index", "bad-index", at(40));
      await upload(acme, good, "data", "good", at(35));
      const usage = await catalog.objectUsage(acme.id);
      const quarantine = await catalog.quarantineAgent(acme.id, bad.id, at(20), note, at(50));
      assert.deepEqual(quarantine, {
        id: quarantine.id,
        tenantId: acme.id,
        agentId: bad.id,
        since: at(20),
        createdAt: at(50),
        releasedAt: null,
        hidden: { objects: 2, bytes: 108 + 109 },
        affectedSnapshots: 0,
      });
      assert.deepEqual(
        (await names(acme, "data")).sort(),
        [hashOf("bad-early"), hashOf("good")].sort(),
      );
      assert.deepEqual(await names(acme, "index"), []);
      assert.equal(await catalog.getVisibleObject(acme.id, "data", hashOf("bad-late")), undefined);
      assert.ok(await catalog.getVisibleObject(acme.id, "data", hashOf("bad-early")));
      // Nothing is deleted: usage, existence for uploads and GC see the objects as before.
      assert.deepEqual(await catalog.objectUsage(acme.id), usage);
      assert.equal(await catalog.objectExists(acme.id, "data", hashOf("bad-late")), true);
      assert.deepEqual(
        (await catalog.listUnreferencedPacks(acme.id, { createdBefore: at(100), limit: 10 }))
          .length,
        3,
      );
      // A commit that needs a hidden pack finds it missing, and records nothing.
      const id = hashOf("snapshot needs bad");
      await catalog.recordObject(
        { tenantId: acme.id, kind: "snapshots", name: id, size: 300, createdByAgent: good.id },
        at(60),
      );
      await assert.rejects(
        catalog.recordSnapshot(
          {
            tenantId: acme.id,
            id,
            agentId: good.id,
            claimedTime: at(60),
            packs: [hashOf("bad-late"), hashOf("good")],
          },
          at(60),
        ),
        (error: unknown) =>
          isRempartError(error, "NotFound") &&
          JSON.stringify(error.details).includes(hashOf("bad-late")) &&
          !JSON.stringify(error.details).includes(hashOf("good")),
      );
      assert.equal(await catalog.getSnapshot(acme.id, id), undefined);
      await refuses(
        catalog.quarantineAgent(acme.id, bad.id, at(0), note, at(70)),
        "ObjectConflict",
      );

      const released = await catalog.releaseQuarantine(acme.id, bad.id, note, at(80));
      assert.equal(released.releasedAt?.getTime(), at(80).getTime());
      assert.deepEqual(released.hidden, { objects: 0, bytes: 0 });
      assert.equal((await names(acme, "data")).length, 3);
      assert.deepEqual(await names(acme, "index"), [hashOf("bad-index")]);
      await refuses(catalog.releaseQuarantine(acme.id, bad.id, note, at(90)), "NotFound");
      assert.deepEqual(
        (await catalog.listQuarantines(acme.id)).map((q) => [q.agentId, q.releasedAt?.getTime()]),
        [[bad.id, at(80).getTime()]],
      );
      const audit = (await catalog.listAudit({ tenantId: acme.id, limit: 10 })).reverse();
      assert.deepEqual(
        audit.map((e) => [e.action, e.actor.id, e.details.agent_id]),
        [
          ["agent.quarantine", "op-1", bad.id],
          ["agent.quarantine.release", "op-1", bad.id],
        ],
      );
      assert.equal(audit[0]?.details.hidden_objects, 2);
      assert.equal(audit[0]?.details.since, at(20).toISOString());
    });

    it("never hides the config, nor the key slots recorded up to it, which every machine needs to open the repository", async () => {
      const acme = await tenant("acme");
      const first = await agent(acme, { hostname: "created the repository" });
      const record = (kind: "keys" | "config", name: string, now: Date) =>
        catalog.recordObject(
          { tenantId: acme.id, kind, name, size: 400, createdByAgent: first.id },
          now,
        );
      await record("keys", hashOf("enrollment slot"), at(1));
      await record("config", "config", at(2));
      await record("keys", hashOf("slot added later"), at(3));
      const quarantine = await catalog.quarantineAgent(acme.id, first.id, at(0), note, at(4));
      assert.deepEqual(quarantine.hidden, { objects: 1, bytes: 400 });
      assert.ok(await catalog.getVisibleObject(acme.id, "config", "config"));
      assert.deepEqual(
        (await catalog.listVisibleObjects(acme.id, "keys", { limit: 10 })).map((o) => o.name),
        [hashOf("enrollment slot")],
      );
    });

    it("counts the other agents' snapshots a quarantine takes packs from, and refuses agents of another tenant", async () => {
      const acme = await tenant("acme");
      const bad = await agent(acme, { hostname: "bad" });
      const good = await agent(acme, { hostname: "good" });
      await catalog.recordObject(
        {
          tenantId: acme.id,
          kind: "data",
          name: hashOf("shared"),
          size: 1000,
          createdByAgent: bad.id,
        },
        at(10),
      );
      await commit(acme, good, "leans on bad", [hashOf("shared")], at(20));
      const quarantine = await catalog.quarantineAgent(acme.id, bad.id, at(0), note, at(30));
      assert.equal(quarantine.affectedSnapshots, 1);
      const other = await tenant("other");
      const stranger = await agent(other);
      await refuses(catalog.quarantineAgent(acme.id, stranger.id, at(0), note, at(30)), "NotFound");
      await refuses(catalog.releaseQuarantine(acme.id, stranger.id, note, at(30)), "NotFound");
      assert.deepEqual(await catalog.listQuarantines(other.id), []);
    });
  });
}
