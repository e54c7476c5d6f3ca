/**
 * The behaviour every Catalog must show, as a node:test suite that each implementation's test file
 * runs against a fresh, empty catalog per test. The server may rely on exactly what is proven here.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { afterEach, beforeEach, describe, it } from "node:test";
import { type ErrorCode, isRempartError } from "../errors.js";
import type {
  Agent,
  AgentScope,
  Catalog,
  NewAgent,
  Operator,
  SnapshotRecord,
  Tenant,
} from "./catalog.js";
import { MAX_LOOKUP } from "./catalog.js";

export interface OpenedCatalog {
  readonly catalog: Catalog;
  readonly cleanup: () => Promise<void>;
}

const T0 = new Date("2030-01-01T00:00:00.000Z");
const MINUTE = 60_000;
const DAY = 86_400_000;

/** T0 plus `ms`: every test runs on a fixed timeline, never the clock. */
export function at(ms: number): Date {
  return new Date(T0.getTime() + ms);
}

/** A lowercase hex SHA-256, the form of token hashes, secret hashes and object names. */
export function hashOf(label: string): string {
  return createHash("sha256").update(label).digest("hex");
}

/** Fails unless promise rejects with a RempartError of `code` (and `details.reason`, if given). */
export async function refuses(
  promise: Promise<unknown>,
  code: ErrorCode,
  reason?: string,
): Promise<RempartDetails> {
  let details: RempartDetails | undefined;
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isRempartError(error, code), `expected RempartError ${code}, got ${String(error)}`);
    if (reason !== undefined) assert.equal(error.details.reason, reason, error.message);
    details = error.details;
    return true;
  });
  return details ?? {};
}

type RempartDetails = Readonly<Record<string, unknown>>;

export function describeCatalogConformance(name: string, open: () => Promise<OpenedCatalog>): void {
  describe(`${name} behaves as a Catalog`, () => {
    let catalog: Catalog;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ catalog, cleanup } = await open());
    });
    afterEach(async () => {
      await cleanup();
    });

    const tenant = (name: string, settings: { immutableDays?: number } = {}) =>
      catalog.createTenant({ name, retentionDays: 30, ...settings }, at(0));
    const admin = (username = "alice") =>
      catalog.createOperator(
        { username, passwordHash: `$scrypt$${username}`, role: "admin" },
        at(0),
      );
    const agent = (owner: Tenant, overrides: Partial<NewAgent> = {}) =>
      catalog.createAgent(
        {
          tenantId: owner.id,
          hostname: "fileserver",
          secretHash: hashOf("agent secret"),
          scopes: ["backup"],
          expiresAt: at(365 * DAY),
          ...overrides,
        },
        at(0),
      );
    /** Records the snapshot object and packs as an upload would, then commits the snapshot. */
    const commit = async (
      owner: Tenant,
      by: Agent,
      label: string,
      packs: readonly string[],
      now: Date,
      claimedTime = now,
    ): Promise<SnapshotRecord> => {
      for (const pack of packs) await recordPack(owner, pack, now);
      const id = hashOf(`snapshot ${label}`);
      await catalog.recordObject(
        { tenantId: owner.id, kind: "snapshots", name: id, size: 300, createdByAgent: by.id },
        now,
      );
      return catalog.recordSnapshot(
        { tenantId: owner.id, id, agentId: by.id, claimedTime, packs },
        now,
      );
    };
    const recordPack = (owner: Tenant, pack: string, now: Date) =>
      catalog.recordObject(
        { tenantId: owner.id, kind: "data", name: pack, size: 1000, createdByAgent: null },
        now,
      );

    describe("tenants", () => {
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
        });
        assert.deepEqual(await catalog.getTenant(created.id), created);
        assert.deepEqual(await catalog.getTenantByName("acme"), created);
        assert.equal(await catalog.getTenant("0123456789abcdef"), undefined);
        assert.equal(await catalog.getTenantByName("nobody"), undefined);
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
        assert.equal(
          (await catalog.updateTenant(acme.id, { status: "deleted" })).status,
          "deleted",
        );
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

    describe("operators and sessions", () => {
      it("creates operators and finds them by id and username", async () => {
        const alice = await catalog.createOperator(
          { username: "alice", passwordHash: "$scrypt$ln=17,r=8,p=1$salt$hash", role: "admin" },
          at(1),
        );
        assert.deepEqual(alice, {
          id: alice.id,
          username: "alice",
          passwordHash: "$scrypt$ln=17,r=8,p=1$salt$hash",
          role: "admin",
          createdAt: at(1),
          disabled: false,
        });
        const bob = await catalog.createOperator(
          { username: "bob@msp.example", passwordHash: "x", role: "technician" },
          at(2),
        );
        assert.deepEqual(await catalog.getOperator(alice.id), alice);
        assert.deepEqual(await catalog.getOperatorByUsername("bob@msp.example"), bob);
        assert.equal(await catalog.getOperatorByUsername("carol"), undefined);
        assert.deepEqual(await catalog.listOperators(), [alice, bob]);
      });

      it("refuses a duplicate username, a malformed one, an unknown role and an empty hash", async () => {
        const alice = await admin();
        await refuses(admin(), "ObjectConflict");
        const create = (username: string, passwordHash: string, role: string) =>
          catalog.createOperator({ username, passwordHash, role: role as Operator["role"] }, at(0));
        await refuses(create("Alice", "x", "admin"), "InvalidArgument");
        await refuses(create("al ice", "x", "admin"), "InvalidArgument");
        await refuses(create("bob", "x", "root"), "InvalidArgument");
        await refuses(create("bob", "", "admin"), "InvalidArgument");
        assert.deepEqual(await catalog.listOperators(), [alice]);
      });

      it("keeps a session valid until just before it expires", async () => {
        const alice = await admin();
        const session = await catalog.createSession(
          { tokenHash: hashOf("s1"), operatorId: alice.id, expiresAt: at(60 * MINUTE) },
          at(0),
        );
        assert.deepEqual(session, {
          tokenHash: hashOf("s1"),
          operatorId: alice.id,
          createdAt: at(0),
          expiresAt: at(60 * MINUTE),
          revoked: false,
        });
        assert.deepEqual(await catalog.findValidSession(hashOf("s1"), at(60 * MINUTE - 1)), {
          session,
          operator: alice,
        });
        assert.equal(await catalog.findValidSession(hashOf("s1"), at(60 * MINUTE)), undefined);
        assert.equal(await catalog.findValidSession(hashOf("other"), at(1)), undefined);
      });

      it("ends a revoked session and accepts revoking it twice or revoking an unknown one", async () => {
        const alice = await admin();
        for (const label of ["s1", "s2"]) {
          await catalog.createSession(
            { tokenHash: hashOf(label), operatorId: alice.id, expiresAt: at(DAY) },
            at(0),
          );
        }
        await catalog.revokeSession(hashOf("s1"));
        await catalog.revokeSession(hashOf("s1"));
        await catalog.revokeSession(hashOf("never issued"));
        assert.equal(await catalog.findValidSession(hashOf("s1"), at(1)), undefined);
        assert.ok(await catalog.findValidSession(hashOf("s2"), at(1)));
      });

      it("ends every session of an operator who is disabled or gets a new password", async () => {
        const alice = await admin("alice");
        const bob = await admin("bob");
        const open = (label: string, operatorId: string) =>
          catalog.createSession(
            { tokenHash: hashOf(label), operatorId, expiresAt: at(DAY) },
            at(0),
          );
        await open("alice", alice.id);
        await open("bob", bob.id);
        await catalog.setOperatorPasswordHash(alice.id, "$scrypt$new");
        assert.equal((await catalog.getOperator(alice.id))?.passwordHash, "$scrypt$new");
        assert.equal(await catalog.findValidSession(hashOf("alice"), at(1)), undefined);
        assert.ok(await catalog.findValidSession(hashOf("bob"), at(1)));

        await catalog.disableOperator(bob.id);
        assert.equal((await catalog.getOperator(bob.id))?.disabled, true);
        assert.equal(await catalog.findValidSession(hashOf("bob"), at(1)), undefined);
        await refuses(open("bob again", bob.id), "InvalidArgument", "operator-disabled");
        await refuses(catalog.disableOperator("0123456789abcdef"), "NotFound");
        await refuses(catalog.setOperatorPasswordHash("0123456789abcdef", "x"), "NotFound");
      });

      it("refuses a session that is born expired, for nobody, or under a taken token", async () => {
        const alice = await admin();
        const create = (tokenHash: string, operatorId: string, expiresAt: Date) =>
          catalog.createSession({ tokenHash, operatorId, expiresAt }, at(10));
        await refuses(create(hashOf("a"), alice.id, at(10)), "InvalidArgument");
        await refuses(create(hashOf("a"), "0123456789abcdef", at(DAY)), "NotFound");
        await refuses(create("not a hash", alice.id, at(DAY)), "InvalidArgument");
        await create(hashOf("a"), alice.id, at(DAY));
        await refuses(create(hashOf("a"), alice.id, at(2 * DAY)), "ObjectConflict");
      });
    });

    describe("enrollment tokens", () => {
      const issue = async (
        owner: Tenant,
        issuer: Operator,
        label: string,
        scopes: readonly AgentScope[] = ["backup"],
      ) =>
        catalog.createEnrollmentToken(
          {
            tokenHash: hashOf(label),
            tenantId: owner.id,
            createdBy: issuer.id,
            expiresAt: at(DAY),
            scopes,
          },
          at(0),
        );

      it("is consumed once and then refused as used", async () => {
        const acme = await tenant("acme");
        const alice = await admin();
        const issued = await issue(acme, alice, "t1", ["restore", "backup", "backup"]);
        assert.deepEqual(issued, {
          tokenHash: hashOf("t1"),
          tenantId: acme.id,
          createdBy: alice.id,
          createdAt: at(0),
          expiresAt: at(DAY),
          usedAt: null,
          scopes: ["backup", "restore"],
        });
        const used = await catalog.consumeEnrollmentToken(hashOf("t1"), at(MINUTE));
        assert.deepEqual(used, { ...issued, usedAt: at(MINUTE) });
        await refuses(
          catalog.consumeEnrollmentToken(hashOf("t1"), at(2 * MINUTE)),
          "ObjectConflict",
          "used",
        );
      });

      it("refuses an unknown token and an expired one, each with its own error", async () => {
        const acme = await tenant("acme");
        await issue(acme, await admin(), "t1");
        await refuses(catalog.consumeEnrollmentToken(hashOf("t2"), at(1)), "NotFound", "unknown");
        await refuses(
          catalog.consumeEnrollmentToken(hashOf("t1"), at(DAY)),
          "InvalidArgument",
          "expired",
        );
        await refuses(
          catalog.consumeEnrollmentToken(hashOf("t1"), at(DAY + 1)),
          "InvalidArgument",
          "expired",
        );
        // A refusal consumed nothing: the token is still "expired", not "used".
        await refuses(
          catalog.consumeEnrollmentToken(hashOf("t1"), at(2 * DAY)),
          "InvalidArgument",
          "expired",
        );
      });

      it("lets exactly one of many concurrent consumers win", async () => {
        const acme = await tenant("acme");
        await issue(acme, await admin(), "t1");
        const results = await Promise.allSettled(
          Array.from({ length: 8 }, () => catalog.consumeEnrollmentToken(hashOf("t1"), at(1))),
        );
        const won = results.filter((result) => result.status === "fulfilled");
        assert.equal(won.length, 1);
        for (const result of results) {
          if (result.status === "rejected") {
            assert.ok(isRempartError(result.reason, "ObjectConflict"), String(result.reason));
            assert.equal(result.reason.details.reason, "used");
          }
        }
      });

      it("is refused, and stays unused, while its tenant is not active", async () => {
        const acme = await tenant("acme");
        await issue(acme, await admin(), "t1");
        await catalog.updateTenant(acme.id, { status: "offboarding" });
        await refuses(
          catalog.consumeEnrollmentToken(hashOf("t1"), at(1)),
          "InvalidArgument",
          "tenant-inactive",
        );
        await catalog.updateTenant(acme.id, { status: "active" });
        assert.equal(
          (await catalog.consumeEnrollmentToken(hashOf("t1"), at(2))).usedAt?.getTime(),
          at(2).getTime(),
        );
      });

      it("is issued only for an active tenant, by an enabled operator, with backup among valid scopes", async () => {
        const acme = await tenant("acme");
        const alice = await admin("alice");
        const bob = await admin("bob");
        await catalog.disableOperator(bob.id);
        await refuses(issue(acme, bob, "t1"), "InvalidArgument", "operator-disabled");
        for (const scopes of [[], ["restore"], ["delete"], ["backup", "admin"]]) {
          await refuses(issue(acme, alice, "t1", scopes as AgentScope[]), "InvalidArgument");
        }
        await refuses(issue({ ...acme, id: "0123456789abcdef" }, alice, "t1"), "NotFound");
        await catalog.updateTenant(acme.id, { status: "offboarding" });
        await refuses(issue(acme, alice, "t1"), "InvalidArgument", "tenant-inactive");
        await refuses(catalog.consumeEnrollmentToken(hashOf("t1"), at(1)), "NotFound", "unknown");
      });
    });

    describe("agents", () => {
      it("creates an agent that can be read back, without its secret", async () => {
        const acme = await tenant("acme");
        const created = await agent(acme, { scopes: ["backup", "restore"], version: "0.1.0" });
        assert.match(created.id, /^[0-9a-f]{16}$/);
        assert.deepEqual(created, {
          id: created.id,
          tenantId: acme.id,
          hostname: "fileserver",
          scopes: ["backup", "restore"],
          createdAt: at(0),
          expiresAt: at(365 * DAY),
          revokedAt: null,
          lastSeenAt: null,
          version: "0.1.0",
          lastBackupAt: null,
          lastBackupStatus: null,
          lastError: null,
          lastBackupSnapshotId: null,
          lastBackupVerified: null,
        });
        assert.ok(!JSON.stringify(created).includes(hashOf("agent secret")));
        assert.deepEqual(await catalog.getAgent(created.id), created);
        assert.equal(await catalog.getAgent("0123456789abcdef"), undefined);
      });

      it("lists only the agents of the tenant asked about", async () => {
        const acme = await tenant("acme");
        const other = await tenant("other");
        const b = await agent(acme, { hostname: "b-host" });
        const a = await agent(acme, { hostname: "a-host" });
        await agent(other);
        assert.deepEqual(await catalog.listAgents(acme.id), [a, b]);
        assert.equal((await catalog.listAgents(other.id)).length, 1);
      });

      it("authenticates only with the right secret, before expiry, unrevoked, in an active tenant", async () => {
        const acme = await tenant("acme");
        const pc = await agent(acme, { expiresAt: at(DAY) });
        const secret = hashOf("agent secret");
        assert.deepEqual(await catalog.authenticateAgent(pc.id, secret, at(DAY - 1)), pc);
        assert.equal(await catalog.authenticateAgent(pc.id, hashOf("guess"), at(1)), undefined);
        assert.equal(await catalog.authenticateAgent("0123456789abcdef", secret, at(1)), undefined);
        assert.equal(await catalog.authenticateAgent(pc.id, secret, at(DAY)), undefined);

        await catalog.updateTenant(acme.id, { status: "offboarding" });
        assert.equal(await catalog.authenticateAgent(pc.id, secret, at(1)), undefined);
        await catalog.updateTenant(acme.id, { status: "active" });
        assert.ok(await catalog.authenticateAgent(pc.id, secret, at(1)));

        await catalog.revokeAgent(pc.id, at(2));
        assert.equal(await catalog.authenticateAgent(pc.id, secret, at(3)), undefined);
      });

      it("keeps the first revocation time when revoked again", async () => {
        const pc = await agent(await tenant("acme"));
        await catalog.revokeAgent(pc.id, at(10));
        await catalog.revokeAgent(pc.id, at(20));
        assert.deepEqual((await catalog.getAgent(pc.id))?.revokedAt, at(10));
        await refuses(catalog.revokeAgent("0123456789abcdef", at(1)), "NotFound");
      });

      it("revokes every agent of one tenant at once, and no other tenant's", async () => {
        const acme = await tenant("acme");
        const other = await tenant("other");
        const early = await agent(acme, { hostname: "early" });
        await catalog.revokeAgent(early.id, at(5));
        for (const hostname of ["a", "b", "c"]) await agent(acme, { hostname });
        const outsider = await agent(other);
        assert.equal(await catalog.revokeTenantAgents(acme.id, at(50)), 3);
        for (const listed of await catalog.listAgents(acme.id)) {
          assert.deepEqual(listed.revokedAt, listed.hostname === "early" ? at(5) : at(50));
        }
        assert.equal((await catalog.getAgent(outsider.id))?.revokedAt, null);
        assert.equal(await catalog.revokeTenantAgents(acme.id, at(60)), 0);
      });

      it("records check-ins and keeps the last backup result until a new one is reported", async () => {
        const pc = await agent(await tenant("acme"));
        await catalog.recordAgentCheckIn(
          pc.id,
          { version: "0.2.0", lastBackup: { at: at(100), status: "failure", error: "disk gone" } },
          at(110),
        );
        await catalog.recordAgentCheckIn(pc.id, { version: "0.2.1 (linux x64)" }, at(200));
        assert.deepEqual(await catalog.getAgent(pc.id), {
          ...pc,
          lastSeenAt: at(200),
          version: "0.2.1 (linux x64)",
          lastBackupAt: at(100),
          lastBackupStatus: "failure",
          lastError: "disk gone",
        });
        await catalog.recordAgentCheckIn(
          pc.id,
          { version: "0.2.1", lastBackup: { at: at(300), status: "success", error: null } },
          at(310),
        );
        const after = await catalog.getAgent(pc.id);
        assert.equal(after?.lastBackupStatus, "success");
        assert.equal(after?.lastError, null);
        await refuses(
          catalog.recordAgentCheckIn("0123456789abcdef", { version: "1" }, at(1)),
          "NotFound",
        );
        await refuses(
          catalog.recordAgentCheckIn(
            pc.id,
            { version: "1", lastBackup: { at: at(1), status: "success", error: "x".repeat(5000) } },
            at(1),
          ),
          "InvalidArgument",
        );
        await refuses(
          catalog.recordAgentCheckIn(pc.id, { version: "1\r\n" }, at(1)),
          "InvalidArgument",
        );
        assert.equal((await catalog.getAgent(pc.id))?.lastSeenAt?.getTime(), at(310).getTime());
      });

      it("is created only for an active tenant, with a valid hostname, hash and expiry", async () => {
        const acme = await tenant("acme");
        await refuses(agent(acme, { hostname: "" }), "InvalidArgument");
        await refuses(agent(acme, { hostname: "evil\nhost" }), "InvalidArgument");
        await refuses(agent(acme, { secretHash: "plain secret" }), "InvalidArgument");
        await refuses(agent(acme, { expiresAt: at(0) }), "InvalidArgument");
        await refuses(agent(acme, { scopes: ["restore"] }), "InvalidArgument");
        await refuses(agent({ ...acme, id: "0123456789abcdef" }), "NotFound");
        await catalog.updateTenant(acme.id, { status: "offboarding" });
        await refuses(agent(acme), "InvalidArgument", "tenant-inactive");
        assert.deepEqual(await catalog.listAgents(acme.id), []);
      });
    });

    describe("objects", () => {
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

    describe("snapshots", () => {
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

    describe("retention policies, known-good marks and GC", () => {
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
        await refuses(
          catalog.setRetentionPolicy("0123456789abcdef", null, rules, at(1)),
          "NotFound",
        );
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

    describe("tenant deletions", () => {
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
        (await catalog.listAudit({ tenantId: owner.id, limit: 100 }))
          .map((e) => e.action)
          .reverse();

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
        const cancelled = await catalog.cancelTenantDeletion(
          acme.id,
          bob.id,
          note,
          at(3 * DAY - 1),
        );
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
        assert.deepEqual(
          await catalog.startTenantDeletion(deletion.id, note, at(16 * DAY)),
          started,
        );
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
        assert.deepEqual(
          await catalog.completeTenantDeletion(deletion.id, note, at(3 * DAY)),
          done,
        );
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

    describe("uploaders, quarantines and verified check-ins", () => {
      const note = { actor: { kind: "operator", id: "op-1" } } as const;
      const upload = (
        owner: Tenant,
        by: Agent | null,
        kind: "data" | "index",
        label: string,
        now: Date,
      ) =>
        catalog.recordObject(
          {
            tenantId: owner.id,
            kind,
            name: hashOf(label),
            size: 100 + label.length,
            createdByAgent: by?.id ?? null,
          },
          now,
        );
      const names = async (owner: Tenant, kind: "data" | "index" | "snapshots") =>
        (await catalog.listVisibleObjects(owner.id, kind, { limit: 100 })).map((o) => o.name);

      it("identifies an agent by its secret whatever its state, and nobody by a wrong one", async () => {
        const acme = await tenant("acme");
        const pc = await agent(acme, { expiresAt: at(DAY) });
        const secret = hashOf("agent secret");
        assert.deepEqual(await catalog.identifyAgent(pc.id, secret), pc);
        await catalog.revokeAgent(pc.id, at(5));
        assert.deepEqual((await catalog.identifyAgent(pc.id, secret))?.revokedAt, at(5));
        assert.equal(await catalog.identifyAgent(pc.id, hashOf("guess")), undefined);
        assert.equal(await catalog.identifyAgent("0123456789abcdef", secret), undefined);
      });

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
        assert.equal(
          await catalog.getVisibleObject(acme.id, "data", hashOf("bad-late")),
          undefined,
        );
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
        await refuses(
          catalog.quarantineAgent(acme.id, stranger.id, at(0), note, at(30)),
          "NotFound",
        );
        await refuses(catalog.releaseQuarantine(acme.id, stranger.id, note, at(30)), "NotFound");
        assert.deepEqual(await catalog.listQuarantines(other.id), []);
      });

      it("verifies a reported backup against the snapshots this agent committed", async () => {
        const acme = await tenant("acme");
        const pc = await agent(acme, { hostname: "pc" });
        const other = await agent(acme, { hostname: "other" });
        const own = await commit(acme, pc, "own", [], at(10));
        const theirs = await commit(acme, other, "theirs", [], at(11));
        const report = async (status: "success" | "partial" | "failure", snapshotId?: string) => {
          await catalog.recordAgentCheckIn(
            pc.id,
            {
              version: "1",
              lastBackup: {
                at: at(20),
                status,
                error: null,
                ...(snapshotId ? { snapshotId } : {}),
              },
            },
            at(21),
          );
          const after = await catalog.getAgent(pc.id);
          return [after?.lastBackupStatus, after?.lastBackupSnapshotId, after?.lastBackupVerified];
        };
        assert.deepEqual(await report("success", own.id), ["success", own.id, true]);
        assert.deepEqual(await report("partial", own.id), ["partial", own.id, true]);
        assert.deepEqual(await report("success", theirs.id), ["success", theirs.id, false]);
        assert.deepEqual(await report("success", hashOf("never")), [
          "success",
          hashOf("never"),
          false,
        ]);
        assert.deepEqual(await report("success"), ["success", null, false]);
        assert.deepEqual(await report("failure"), ["failure", null, null]);
        await refuses(
          catalog.recordAgentCheckIn(
            pc.id,
            {
              version: "1",
              lastBackup: { at: at(1), status: "success", error: null, snapshotId: "../x" },
            },
            at(1),
          ),
          "InvalidArgument",
        );
      });
    });

    describe("audit log", () => {
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
        assert.deepEqual(await catalog.listAudit({ tenantId: "no-such-tenant", limit: 1 }), [
          entry,
        ]);
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
        assert.deepEqual(auditMethods, ["appendaudit", "listaudit"]);
      });
    });

    describe("batched object lookups", () => {
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
    });
  });
}
