/** Tenants: creation, lookups, settings and status. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { at, catalogPerTest, fixtures, type OpenCatalog, refuses } from "./fixtures.js";

export function describeTenantConformance(open: OpenCatalog): void {
  describe("tenants", () => {
    const catalog = catalogPerTest(open);
    const { tenant } = fixtures(catalog);

    it("creates a tenant with the documented defaults and finds it by id and by name", async () => {
      const created = await catalog.createTenant({ name: "acme", retentionDays: 90 }, at(5));
      assert.match(created.id, /^[0-9a-f]{16}$/);
      assert.deepEqual(created, {
        id: created.id,
        name: "acme",
        createdAt: at(5),
        retentionDays: 90,
        immutableDays: 14,
        quotaBytes: null,
        status: "active",
        rpoSeconds: 86_400,
      });
      assert.deepEqual(await catalog.getTenant(created.id), created);
      assert.deepEqual(await catalog.getTenantByName("acme"), created);
      assert.equal(await catalog.getTenant("0123456789abcdef"), undefined);
      assert.equal(await catalog.getTenantByName("nobody"), undefined);
    });

    it("keeps each tenant's RPO, set at creation or later, and refuses one out of range", async () => {
      const acme = await catalog.createTenant(
        { name: "acme", retentionDays: 30, rpoSeconds: 4 * 3600 },
        at(0),
      );
      assert.equal(acme.rpoSeconds, 4 * 3600);
      const changed = await catalog.updateTenant(acme.id, { rpoSeconds: 7 * 86_400 });
      assert.equal(changed.rpoSeconds, 7 * 86_400);
      assert.deepEqual(await catalog.getTenant(acme.id), changed);
      for (const bad of [59, 366 * 86_400, 1.5, Number.NaN])
        await refuses(catalog.updateTenant(acme.id, { rpoSeconds: bad }), "InvalidArgument");
      await refuses(
        catalog.createTenant({ name: "other", retentionDays: 30, rpoSeconds: 0 }, at(0)),
        "InvalidArgument",
      );
      assert.equal((await catalog.getTenant(acme.id))?.rpoSeconds, 7 * 86_400);
    });

    it("gives each tenant its own random id", async () => {
      const ids = new Set<string>();
      for (let i = 0; i < 20; i += 1) ids.add((await tenant(`t${i}`)).id);
      assert.equal(ids.size, 20);
    });

    for (const bad of [
      "",
      "Acme",
      "-acme",
      "acme corp",
      "acme_corp",
      "a".repeat(64),
      "é",
      "../x",
    ]) {
      it(`refuses the tenant name ${JSON.stringify(bad)} with InvalidArgument`, async () => {
        await refuses(
          catalog.createTenant({ name: bad, retentionDays: 30 }, at(0)),
          "InvalidArgument",
        );
        assert.deepEqual(await catalog.listTenants(), []);
      });
    }

    it("accepts names at the edges of the slug rule", async () => {
      for (const good of ["a", "0", "a-b", `a${"b".repeat(62)}`, "9-"]) await tenant(good);
      assert.equal((await catalog.listTenants()).length, 5);
    });

    it("refuses a second tenant with the same name", async () => {
      const first = await tenant("acme");
      await refuses(tenant("acme"), "ObjectConflict");
      assert.deepEqual(await catalog.listTenants(), [first]);
    });

    it("refuses settings that are not whole, in-range numbers", async () => {
      const create = (settings: object) =>
        catalog.createTenant({ name: "acme", retentionDays: 30, ...settings }, at(0));
      for (const settings of [
        { retentionDays: 0 },
        { retentionDays: 1.5 },
        { retentionDays: Number.NaN },
        { immutableDays: -1 },
        { quotaBytes: -1 },
        { quotaBytes: 0.5 },
      ]) {
        await refuses(create(settings), "InvalidArgument");
      }
      await refuses(
        catalog.createTenant({ name: "acme", retentionDays: 30 }, new Date(Number.NaN)),
        "InvalidArgument",
      );
      assert.deepEqual(await catalog.listTenants(), []);
    });

    it("lists every tenant by name", async () => {
      for (const name of ["zeta", "acme", "mid"]) await tenant(name);
      assert.deepEqual(
        (await catalog.listTenants()).map((t) => t.name),
        ["acme", "mid", "zeta"],
      );
    });

    it("updates only the settings it is given", async () => {
      const acme = await catalog.createTenant(
        { name: "acme", retentionDays: 30, quotaBytes: 1000 },
        at(0),
      );
      const changed = await catalog.updateTenant(acme.id, {
        retentionDays: 60,
        immutableDays: 30,
      });
      assert.deepEqual(changed, { ...acme, retentionDays: 60, immutableDays: 30 });
      assert.deepEqual(await catalog.getTenant(acme.id), changed);
      const unlimited = await catalog.updateTenant(acme.id, { quotaBytes: null });
      assert.equal(unlimited.quotaBytes, null);
      assert.equal(unlimited.retentionDays, 60);
      await refuses(catalog.updateTenant(acme.id, { immutableDays: -3 }), "InvalidArgument");
      await refuses(catalog.updateTenant("0123456789abcdef", { retentionDays: 1 }), "NotFound");
      assert.deepEqual(await catalog.getTenant(acme.id), unlimited);
    });

    it("moves a tenant through offboarding to deletion, which is final", async () => {
      const acme = await tenant("acme");
      await refuses(
        catalog.updateTenant(acme.id, { status: "deleted" }),
        "ObjectConflict",
        "status-transition",
      );
      assert.equal(
        (await catalog.updateTenant(acme.id, { status: "offboarding" })).status,
        "offboarding",
      );
      assert.equal((await catalog.updateTenant(acme.id, { status: "active" })).status, "active");
      await catalog.updateTenant(acme.id, { status: "offboarding" });
      assert.equal((await catalog.updateTenant(acme.id, { status: "deleted" })).status, "deleted");
      for (const status of ["active", "offboarding"] as const) {
        await refuses(
          catalog.updateTenant(acme.id, { status }),
          "ObjectConflict",
          "status-transition",
        );
      }
      await refuses(
        catalog.updateTenant(acme.id, { status: "gone" as "deleted" }),
        "InvalidArgument",
      );
      assert.equal((await catalog.getTenant(acme.id))?.status, "deleted");
    });
  });
}
