/** The audit log. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ChainedAuditEntry } from "../audit.js";
import { auditEntryHash, checkLink, GENESIS_HASH } from "../audit-chain.js";
import { at, catalogPerTest, fixtures, MINUTE, type OpenCatalog, refuses } from "./fixtures.js";

export function describeAuditConformance(open: OpenCatalog): void {
  describe("audit log", () => {
    const catalog = catalogPerTest(open);
    const { tenant, admin } = fixtures(catalog);

    it("appends entries with increasing ids and lists them newest first", async () => {
      const acme = await tenant("acme");
      const first = await catalog.appendAudit(
        {
          actor: { kind: "operator", id: "op1" },
          action: "tenant.create",
          tenantId: acme.id,
          details: { name: "acme", nested: { list: [1, "two", null] } },
        },
        at(1),
      );
      assert.deepEqual(first, {
        id: first.id,
        at: at(1),
        actor: { kind: "operator", id: "op1" },
        action: "tenant.create",
        tenantId: acme.id,
        details: { name: "acme", nested: { list: [1, "two", null] } },
      });
      const second = await catalog.appendAudit(
        { actor: { kind: "system", id: null }, action: "gc.run", tenantId: null },
        at(2),
      );
      assert.ok(second.id > first.id);
      assert.deepEqual(second.details, {});
      assert.deepEqual(await catalog.listAudit({ limit: 10 }), [second, first]);
    });

    it("filters by tenant, by time and by a cursor, and honours the limit", async () => {
      const acme = await tenant("acme");
      const other = await tenant("other");
      const entries = [];
      for (let i = 0; i < 6; i += 1) {
        entries.push(
          await catalog.appendAudit(
            {
              actor: { kind: "agent", id: `agent${i}` },
              action: "snapshot.commit",
              tenantId: i % 2 === 0 ? acme.id : other.id,
              details: { i },
            },
            at(i * MINUTE),
          ),
        );
      }
      const ids = (list: { id: number }[]) => list.map((entry) => entry.id);
      const e = ids(entries);
      assert.deepEqual(ids(await catalog.listAudit({ tenantId: acme.id, limit: 10 })), [
        e[4],
        e[2],
        e[0],
      ]);
      assert.deepEqual(ids(await catalog.listAudit({ since: at(3 * MINUTE), limit: 10 })), [
        e[5],
        e[4],
        e[3],
      ]);
      assert.deepEqual(ids(await catalog.listAudit({ limit: 2 })), [e[5], e[4]]);
      assert.deepEqual(ids(await catalog.listAudit({ beforeId: e[4], limit: 2 })), [e[3], e[2]]);
      assert.deepEqual(
        ids(await catalog.listAudit({ tenantId: other.id, since: at(2 * MINUTE), limit: 1 })),
        [e[5]],
      );
      assert.deepEqual(await catalog.listAudit({ tenantId: "0123456789abcdef", limit: 10 }), []);
    });

    it("records an entry about a tenant or actor it does not know", async () => {
      const entry = await catalog.appendAudit(
        {
          actor: { kind: "agent", id: "forged" },
          action: "auth.refused",
          tenantId: "no-such-tenant",
        },
        at(1),
      );
      assert.deepEqual(await catalog.listAudit({ tenantId: "no-such-tenant", limit: 1 }), [entry]);
    });

    it("names the API token an operator acted through as the entry's credential, whichever concept appends it", async () => {
      const acme = await tenant("acme");
      const alice = await admin("alice");
      const credential = { kind: "api-token", id: "tok-1", name: "nightly-report" } as const;
      const viaToken = { kind: "operator", id: alice.id, credential } as const;
      const appended = await catalog.appendAudit(
        {
          actor: viaToken,
          action: "tenant.quota.set",
          tenantId: acme.id,
          // A caller's own `credential` cannot stand in for the actor's.
          details: { quota_bytes: 10, credential: "forged" },
        },
        at(1),
      );
      assert.deepEqual(appended.actor, { kind: "operator", id: alice.id });
      assert.deepEqual(appended.details, { quota_bytes: 10, credential });
      const alert = await catalog.raiseAlert(
        {
          tenantId: acme.id,
          agentId: null,
          snapshotId: null,
          kind: "quota",
          severity: "high",
          message: "full",
        },
        { actor: { kind: "system", id: "alerts" } },
        at(2),
      );
      await catalog.acknowledgeAlert(
        alert.id,
        alice.id,
        "more disk ordered",
        { actor: viaToken },
        at(3),
      );
      await catalog.appendAudit(
        { actor: { kind: "operator", id: alice.id }, action: "tenant.create", tenantId: acme.id },
        at(4),
      );
      const entries = await catalog.listAudit({ tenantId: acme.id, limit: 10 });
      assert.deepEqual(
        entries.map((e) => [e.action, e.details.credential ?? null]),
        [
          ["tenant.create", null],
          ["alert.acknowledge", credential],
          ["alert.raise", null],
          ["tenant.quota.set", credential],
        ],
      );
      for (const actor of [
        { kind: "system", id: "alerts", credential },
        { kind: "operator", id: alice.id, credential: { ...credential, kind: "session" } },
        { kind: "operator", id: alice.id, credential: { ...credential, name: "" } },
      ])
        await refuses(
          catalog.appendAudit({ actor, action: "x.y", tenantId: null } as never, at(5)),
          "InvalidArgument",
        );
    });

    it("refuses malformed entries and writes nothing", async () => {
      const append = (entry: object) =>
        catalog.appendAudit(
          { actor: { kind: "system", id: null }, action: "x.y", tenantId: null, ...entry },
          at(1),
        );
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      for (const entry of [
        { action: "" },
        { action: "Tenant.Create" },
        { action: "tenant..create" },
        { actor: { kind: "operator", id: null } },
        { actor: { kind: "root", id: "x" } },
        { details: [1, 2] },
        { details: cyclic },
        { details: { big: 1n } },
        { details: { text: "x".repeat(70_000) } },
      ]) {
        await refuses(append(entry), "InvalidArgument");
      }
      await refuses(catalog.listAudit({ limit: 0 }), "InvalidArgument");
      assert.deepEqual(await catalog.listAudit({ limit: 10 }), []);
    });

    it("offers no way to change or remove an entry", () => {
      const methods = new Set<string>();
      for (let o: object | null = catalog; o !== null; o = Object.getPrototypeOf(o)) {
        for (const key of Object.getOwnPropertyNames(o)) methods.add(key.toLowerCase());
      }
      const auditMethods = [...methods].filter((key) => key.includes("audit")).sort();
      assert.deepEqual(auditMethods, ["appendaudit", "listaudit", "readauditchain"]);
    });

    it("chains every entry to the one before it, whichever concept appends it", async () => {
      const acme = await tenant("acme");
      await catalog.appendAudit(
        { actor: { kind: "system", id: null }, action: "gc.run", tenantId: null },
        at(1),
      );
      // Raising an alert appends its entry inside the alert's own transaction.
      await catalog.raiseAlert(
        {
          tenantId: acme.id,
          agentId: null,
          snapshotId: null,
          kind: "detection",
          severity: "warning",
          message: "m",
        },
        { actor: { kind: "system", id: "detection" } },
        at(2),
      );
      await catalog.appendAudit(
        { actor: { kind: "operator", id: "op1" }, action: "tenant.quota.set", tenantId: acme.id },
        at(3),
      );
      const chain = await catalog.readAuditChain({ limit: 10 });
      assert.deepEqual(
        chain.map((e) => [e.seq, e.action]),
        [
          [1, "gc.run"],
          [2, "alert.raise"],
          [3, "tenant.quota.set"],
        ],
      );
      chain.forEach((entry, i) => {
        const previous: ChainedAuditEntry | null = chain[i - 1] ?? null;
        assert.equal(checkLink(previous, entry), null);
        assert.equal(entry.hash, auditEntryHash(previous?.hash ?? GENESIS_HASH, entry));
      });
      const [first] = chain;
      assert.deepEqual(
        (await catalog.readAuditChain({ afterId: first?.id ?? 0, limit: 1 })).map((e) => e.seq),
        [2],
      );
    });
  });
}
