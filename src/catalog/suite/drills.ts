/** Restore drills: recorded with their audit entry, listed newest first, the latest per agent. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { at, catalogPerTest, fixtures, hashOf, type OpenCatalog, refuses } from "./fixtures.js";

export function describeDrillConformance(open: OpenCatalog): void {
  describe("restore drills", () => {
    const catalog = catalogPerTest(open);
    const { tenant, agent, commit } = fixtures(catalog);

    it("records drills with their audit entry, lists them newest first and keeps each agent's latest", async () => {
      const acme = await tenant("acme");
      const pc = await agent(acme);
      const nas = await agent(acme, { hostname: "nas" });
      const snapshot = await commit(acme, pc, "daily", [], at(10));
      const by = { actor: { kind: "agent", id: pc.id } } as const;
      const passed = await catalog.recordDrill(
        {
          tenantId: acme.id,
          agentId: pc.id,
          snapshotId: snapshot.id,
          ok: true,
          files: 200,
          bytes: 52_428_800,
          durationMs: 2500,
          error: null,
        },
        by,
        at(20),
      );
      assert.deepEqual(passed, {
        id: passed.id,
        tenantId: acme.id,
        agentId: pc.id,
        snapshotId: snapshot.id,
        at: at(20),
        ok: true,
        files: 200,
        bytes: 52_428_800,
        durationMs: 2500,
        error: null,
      });
      const failed = await catalog.recordDrill(
        { ...passed, ok: false, files: 3, error: "/srv/a.doc: restored bytes differ" },
        by,
        at(30),
      );
      const other = await catalog.recordDrill(
        {
          ...passed,
          agentId: nas.id,
          snapshotId: null,
          ok: false,
          files: 0,
          bytes: 0,
          error: "wrong password",
        },
        { actor: { kind: "agent", id: nas.id } },
        at(40),
      );
      assert.deepEqual(
        (await catalog.listDrills({ limit: 10 })).map((d) => d.id),
        [other.id, failed.id, passed.id],
      );
      assert.deepEqual(
        await catalog.latestDrills(),
        new Map([
          [pc.id, failed],
          [nas.id, other],
        ]),
      );
      const audit = (await catalog.listAudit({ tenantId: acme.id, limit: 10 }))
        .filter((e) => e.action === "drill.report")
        .reverse();
      assert.deepEqual(
        audit.map((e) => [e.actor.id, e.details.drill_id, e.details.ok, e.details.error]),
        [
          [pc.id, passed.id, true, null],
          [pc.id, failed.id, false, "/srv/a.doc: restored bytes differ"],
          [nas.id, other.id, false, "wrong password"],
        ],
      );
    });

    it("lists one tenant's drills only", async () => {
      const acme = await tenant("acme");
      const other = await tenant("other");
      const mine = await agent(acme);
      const theirs = await agent(other);
      const drill = (agentId: string, tenantId: string, now: number) =>
        catalog.recordDrill(
          {
            tenantId,
            agentId,
            snapshotId: null,
            ok: true,
            files: 1,
            bytes: 1,
            durationMs: 1,
            error: null,
          },
          { actor: { kind: "agent", id: agentId } },
          at(now),
        );
      const a = await drill(mine.id, acme.id, 1);
      await drill(theirs.id, other.id, 2);
      assert.deepEqual(
        (await catalog.listDrills({ tenantId: acme.id, limit: 10 })).map((d) => d.id),
        [a.id],
      );
    });

    it("refuses another tenant's agent or snapshot, bad counts and an error that does not match the outcome", async () => {
      const acme = await tenant("acme");
      const other = await tenant("other");
      const mine = await agent(acme);
      const stranger = await agent(other);
      const theirs = await commit(other, stranger, "theirs", [], at(1));
      const base = {
        tenantId: acme.id,
        agentId: mine.id,
        snapshotId: null,
        ok: true,
        files: 1,
        bytes: 1,
        durationMs: 1,
        error: null,
      };
      const record = (changes: Record<string, unknown>) =>
        catalog.recordDrill(
          { ...base, ...changes } as typeof base,
          { actor: { kind: "agent", id: mine.id } },
          at(2),
        );
      await refuses(record({ agentId: stranger.id }), "NotFound");
      await refuses(record({ snapshotId: theirs.id }), "NotFound");
      await refuses(record({ snapshotId: hashOf("nothing") }), "NotFound");
      await refuses(record({ tenantId: "no-such-tenant" }), "NotFound");
      await refuses(record({ files: -1 }), "InvalidArgument");
      await refuses(record({ bytes: 1.5 }), "InvalidArgument");
      await refuses(record({ durationMs: Number.NaN }), "InvalidArgument");
      await refuses(record({ error: "but it worked" }), "InvalidArgument");
      await refuses(record({ ok: false }), "InvalidArgument");
      await refuses(record({ ok: false, error: "" }), "InvalidArgument");
      await refuses(record({ ok: false, error: "two\nlines" }), "InvalidArgument");
      assert.deepEqual(await catalog.listDrills({ limit: 10 }), []);
      assert.deepEqual(await catalog.latestDrills(), new Map());
    });
  });
}
