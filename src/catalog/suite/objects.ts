/** Object records, usage, and what an agent sees of them. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MAX_LOOKUP } from "../catalog.js";
import { at, catalogPerTest, fixtures, hashOf, type OpenCatalog, refuses } from "./fixtures.js";

export function describeObjectConformance(open: OpenCatalog): void {
  describe("objects", () => {
    const catalog = catalogPerTest(open);
    const { tenant, agent, recordPack } = fixtures(catalog);

    it("records an object once and treats the same record again as a no-op", async () => {
      const acme = await tenant("acme");
      const pc = await agent(acme);
      const object = {
        tenantId: acme.id,
        kind: "data" as const,
        name: hashOf("p1"),
        size: 4096,
        createdByAgent: pc.id,
      };
      assert.equal(await catalog.recordObject(object, at(1)), "created");
      assert.equal(
        await catalog.recordObject({ ...object, createdByAgent: null }, at(2)),
        "exists",
      );
      await refuses(catalog.recordObject({ ...object, size: 4097 }, at(3)), "ObjectConflict");
      assert.equal(await catalog.objectExists(acme.id, "data", hashOf("p1")), true);
      assert.equal(await catalog.objectExists(acme.id, "index", hashOf("p1")), false);
      assert.deepEqual(await catalog.objectUsage(acme.id), {
        totalBytes: 4096,
        totalCount: 1,
        byKind: {
          config: { count: 0, bytes: 0 },
          keys: { count: 0, bytes: 0 },
          data: { count: 1, bytes: 4096 },
          index: { count: 0, bytes: 0 },
          snapshots: { count: 0, bytes: 0 },
        },
      });
    });

    it("never answers one tenant's question with another tenant's objects", async () => {
      const acme = await tenant("acme");
      const other = await tenant("other");
      await recordPack(acme, hashOf("p1"), at(1));
      assert.equal(await catalog.objectExists(other.id, "data", hashOf("p1")), false);
      assert.deepEqual(await catalog.listObjectNames(other.id, "data", { limit: 100 }), []);
      assert.equal((await catalog.objectUsage(other.id)).totalCount, 0);
      assert.equal(await recordPack(other, hashOf("p1"), at(2)), "created");
      const otherAgent = await agent(other);
      await refuses(
        catalog.recordObject(
          {
            tenantId: acme.id,
            kind: "data",
            name: hashOf("p2"),
            size: 1,
            createdByAgent: otherAgent.id,
          },
          at(3),
        ),
        "NotFound",
      );
      assert.equal(await catalog.objectExists(acme.id, "data", hashOf("p2")), false);
    });

    it("lists the names of one kind in pages, in order", async () => {
      const acme = await tenant("acme");
      const names = Array.from({ length: 25 }, (_, i) => hashOf(`p${i}`)).sort();
      for (const name of names) await recordPack(acme, name, at(1));
      await catalog.recordObject(
        { tenantId: acme.id, kind: "index", name: hashOf("i"), size: 10, createdByAgent: null },
        at(1),
      );
      const pages: string[][] = [];
      let after: string | undefined;
      for (;;) {
        const page = await catalog.listObjectNames(acme.id, "data", { after, limit: 10 });
        if (page.length === 0) break;
        pages.push(page);
        after = page.at(-1);
      }
      assert.deepEqual(
        pages.map((page) => page.length),
        [10, 10, 5],
      );
      assert.deepEqual(pages.flat(), names);
      assert.deepEqual(await catalog.listObjectNames(acme.id, "index", { limit: 10 }), [
        hashOf("i"),
      ]);
      await refuses(catalog.listObjectNames(acme.id, "data", { limit: 0 }), "InvalidArgument");
    });

    it("sums usage per kind", async () => {
      const acme = await tenant("acme");
      for (const [kind, label, size] of [
        ["data", "a", 100],
        ["data", "b", 250],
        ["index", "c", 7],
        ["snapshots", "d", 3],
      ] as const) {
        await catalog.recordObject(
          { tenantId: acme.id, kind, name: hashOf(label), size, createdByAgent: null },
          at(1),
        );
      }
      await catalog.recordObject(
        { tenantId: acme.id, kind: "config", name: "config", size: 50, createdByAgent: null },
        at(1),
      );
      const usage = await catalog.objectUsage(acme.id);
      assert.equal(usage.totalBytes, 410);
      assert.equal(usage.totalCount, 5);
      assert.deepEqual(usage.byKind.data, { count: 2, bytes: 350 });
      assert.deepEqual(usage.byKind.config, { count: 1, bytes: 50 });
      assert.deepEqual(usage.byKind.keys, { count: 0, bytes: 0 });
    });

    it("refuses malformed names, sizes and kinds, and unknown tenants", async () => {
      const acme = await tenant("acme");
      const record = (kind: string, name: string, size: number, tenantId = acme.id) =>
        catalog.recordObject(
          { tenantId, kind: kind as "data", name, size, createdByAgent: null },
          at(1),
        );
      await refuses(record("data", "../config", 1), "InvalidArgument");
      await refuses(record("data", hashOf("x").toUpperCase(), 1), "InvalidArgument");
      await refuses(record("keys", "config", 1), "InvalidArgument");
      await refuses(record("locks", hashOf("x"), 1), "InvalidArgument");
      await refuses(record("data", hashOf("x"), -1), "InvalidArgument");
      await refuses(record("data", hashOf("x"), 1.5), "InvalidArgument");
      await refuses(record("data", hashOf("x"), 1, "0123456789abcdef"), "NotFound");
      assert.equal((await catalog.objectUsage(acme.id)).totalCount, 0);
    });
  });

  describe("objects an agent sees", () => {
    const catalog = catalogPerTest(open);
    const { tenant, agent, commit, upload, names } = fixtures(catalog);

    it("lists visible objects with their receipt time and uploader, in pages by name", async () => {
      const acme = await tenant("acme");
      const pc = await agent(acme);
      await upload(acme, pc, "data", "p1", at(10));
      await upload(acme, null, "data", "p2", at(20));
      await upload(acme, pc, "index", "i1", at(30));
      const all = await catalog.listVisibleObjects(acme.id, "data", { limit: 100 });
      assert.deepEqual(
        all,
        [
          {
            tenantId: acme.id,
            kind: "data",
            name: hashOf("p1"),
            size: 102,
            createdAt: at(10),
            createdByAgent: pc.id,
          },
          {
            tenantId: acme.id,
            kind: "data",
            name: hashOf("p2"),
            size: 102,
            createdAt: at(20),
            createdByAgent: null,
          },
        ].sort((x, y) => (x.name < y.name ? -1 : 1)),
      );
      const [first, second] = all;
      assert.deepEqual(await catalog.listVisibleObjects(acme.id, "data", { limit: 1 }), [first]);
      assert.deepEqual(
        await catalog.listVisibleObjects(acme.id, "data", { after: first?.name ?? "", limit: 1 }),
        [second],
      );
      assert.deepEqual(await catalog.getVisibleObject(acme.id, "index", hashOf("i1")), {
        tenantId: acme.id,
        kind: "index",
        name: hashOf("i1"),
        size: 102,
        createdAt: at(30),
        createdByAgent: pc.id,
      });
      assert.equal(await catalog.getVisibleObject(acme.id, "data", hashOf("i1")), undefined);
      assert.equal(
        await catalog.getVisibleObject((await tenant("other")).id, "index", hashOf("i1")),
        undefined,
      );
    });

    it("shows a snapshot object only once committed, and not once deleted", async () => {
      const acme = await tenant("acme", { immutableDays: 0 });
      const pc = await agent(acme);
      await catalog.recordObject(
        {
          tenantId: acme.id,
          kind: "snapshots",
          name: hashOf("uncommitted"),
          size: 50,
          createdByAgent: pc.id,
        },
        at(1),
      );
      const kept = await commit(acme, pc, "kept", [], at(2));
      const gone = await commit(acme, pc, "gone", [], at(3));
      await catalog.setSnapshotState(acme.id, gone.id, "deleted", at(4));
      assert.deepEqual(await names(acme, "snapshots"), [kept.id]);
      assert.equal(await catalog.getVisibleObject(acme.id, "snapshots", gone.id), undefined);
      assert.equal(
        await catalog.getVisibleObject(acme.id, "snapshots", hashOf("uncommitted")),
        undefined,
      );
    });
  });

  describe("batched object lookups", () => {
    const catalog = catalogPerTest(open);
    const { tenant, agent, recordPack } = fixtures(catalog);

    it("answers which names one tenant has of one kind, like objectExists for each", async () => {
      const acme = await tenant("acme");
      const other = await tenant("other");
      const held = Array.from({ length: 30 }, (_, i) => hashOf(`held ${i}`));
      for (const name of held) await recordPack(acme, name, at(1));
      await recordPack(other, hashOf("other's"), at(1));
      await catalog.recordObject(
        { tenantId: acme.id, kind: "index", name: hashOf("i"), size: 1, createdByAgent: null },
        at(1),
      );
      const asked = [
        ...held.slice(0, 20),
        hashOf("nobody's"),
        hashOf("other's"),
        hashOf("i"),
        held[0] as string,
      ];
      assert.deepEqual(
        (await catalog.visibleObjects(acme.id, "data", asked)).sort(),
        held.slice(0, 20).sort(),
      );
      assert.deepEqual(await catalog.visibleObjects(acme.id, "index", asked), [hashOf("i")]);
      assert.deepEqual(await catalog.visibleObjects(acme.id, "data", []), []);
      assert.deepEqual(await catalog.visibleObjects("no-such-tenant", "data", asked), []);
    });

    it("takes at most MAX_LOOKUP names at once", async () => {
      const acme = await tenant("acme");
      const names = Array.from({ length: MAX_LOOKUP }, (_, i) => hashOf(`n${i}`));
      await recordPack(acme, names[MAX_LOOKUP - 1] as string, at(1));
      assert.deepEqual(await catalog.visibleObjects(acme.id, "data", names), [
        names[MAX_LOOKUP - 1],
      ]);
      await refuses(
        catalog.visibleObjects(acme.id, "data", [...names, hashOf("one more")]),
        "InvalidArgument",
      );
    });

    it("sums what one agent uploaded after a time, packs apart, hidden objects included", async () => {
      const acme = await tenant("acme");
      const pc = await agent(acme, { hostname: "pc" });
      const other = await agent(acme, { hostname: "other" });
      const upload = (
        by: typeof pc,
        kind: "data" | "index",
        label: string,
        size: number,
        now: number,
      ) =>
        catalog.recordObject(
          { tenantId: acme.id, kind, name: hashOf(label), size, createdByAgent: by.id },
          at(now),
        );
      await upload(pc, "data", "before", 1000, 10);
      await upload(pc, "data", "at the time", 2000, 20);
      await upload(pc, "data", "after", 4000, 21);
      await upload(pc, "index", "index after", 300, 22);
      await upload(other, "data", "someone else", 8000, 23);
      const expected = { objects: 2, bytes: 4300, packs: 1, packBytes: 4000 };
      assert.deepEqual(await catalog.uploadsByAgent(acme.id, pc.id, at(20)), expected);
      await catalog.quarantineAgent(
        acme.id,
        pc.id,
        at(0),
        { actor: { kind: "operator", id: "op" } },
        at(30),
      );
      assert.deepEqual(await catalog.uploadsByAgent(acme.id, pc.id, at(20)), expected);
      assert.deepEqual(await catalog.uploadsByAgent(acme.id, pc.id, at(100)), {
        objects: 0,
        bytes: 0,
        packs: 0,
        packBytes: 0,
      });
    });
  });
}
