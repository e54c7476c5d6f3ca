/** Enrollment tokens and agents: issuing, authenticating, identifying, check-ins. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isRempartError } from "../../errors.js";
import type { AgentScope, Operator, Tenant } from "../catalog.js";
import {
  at,
  catalogPerTest,
  DAY,
  fixtures,
  hashOf,
  MINUTE,
  type OpenCatalog,
  refuses,
} from "./fixtures.js";

export function describeAgentConformance(open: OpenCatalog): void {
  describe("enrollment tokens", () => {
    const catalog = catalogPerTest(open);
    const { tenant, admin } = fixtures(catalog);

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
    const catalog = catalogPerTest(open);
    const { tenant, agent } = fixtures(catalog);

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
        lastHost: null,
        lastAddress: null,
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

  describe("agents seen, alerted about, and unseen", () => {
    const catalog = catalogPerTest(open);
    const { tenant, agent } = fixtures(catalog);

    it("records each request's host, version and address, keeping what a request leaves out", async () => {
      const pc = await agent(await tenant("acme"), { version: "0.1.0" });
      await catalog.recordAgentSighting(
        pc.id,
        { host: "fileserver-2", version: "0.2.0", address: "192.0.2.7" },
        at(100),
      );
      await catalog.recordAgentSighting(pc.id, { address: "2001:db8::1" }, at(200));
      assert.deepEqual(await catalog.getAgent(pc.id), {
        ...pc,
        lastSeenAt: at(200),
        lastHost: "fileserver-2",
        version: "0.2.0",
        lastAddress: "2001:db8::1",
      });
      await refuses(catalog.recordAgentSighting(pc.id, { host: "a\nb" }, at(1)), "InvalidArgument");
      await refuses(
        catalog.recordAgentSighting(pc.id, { address: "10.0.0.1; DROP" }, at(1)),
        "InvalidArgument",
      );
      await refuses(catalog.recordAgentSighting("0123456789abcdef", {}, at(1)), "NotFound");
      assert.equal((await catalog.getAgent(pc.id))?.lastSeenAt?.getTime(), at(200).getTime());
    });

    it("lets one alert of each kind per agent through per quiet period, one of concurrent claims", async () => {
      const acme = await tenant("acme");
      const pc = await agent(acme);
      const other = await agent(acme, { hostname: "laptop" });
      const claims = await Promise.all(
        Array.from({ length: 8 }, () => catalog.claimAgentAlert(pc.id, "leftover", at(0), DAY)),
      );
      assert.equal(claims.filter(Boolean).length, 1);
      assert.equal(await catalog.claimAgentAlert(pc.id, "misuse", at(1), DAY), true);
      assert.equal(await catalog.claimAgentAlert(other.id, "leftover", at(1), DAY), true);
      assert.equal(await catalog.claimAgentAlert(pc.id, "leftover", at(DAY - 1), DAY), false);
      assert.equal(await catalog.claimAgentAlert(pc.id, "leftover", at(DAY), DAY), true);
      assert.equal(await catalog.claimAgentAlert(pc.id, "leftover", at(DAY + 1), DAY), false);
      await refuses(catalog.claimAgentAlert("0123456789abcdef", "misuse", at(1), DAY), "NotFound");
    });

    it("lists unrevoked agents of active tenants unseen since a time, longest unseen first", async () => {
      const acme = await tenant("acme");
      const gone = await tenant("gone");
      const silent = await agent(acme, { hostname: "silent" }); // created at 0, never seen
      const seenLong = await agent(acme, { hostname: "old" });
      const seenNow = await agent(acme, { hostname: "busy" });
      const revoked = await agent(acme, { hostname: "revoked" });
      const former = await agent(gone, { hostname: "former" });
      await catalog.recordAgentSighting(seenLong.id, {}, at(DAY));
      await catalog.recordAgentSighting(seenNow.id, {}, at(9 * DAY));
      await catalog.revokeAgent(revoked.id, at(DAY));
      await catalog.updateTenant(gone.id, { status: "offboarding" });
      const unseen = await catalog.listUnseenAgents(at(2 * DAY));
      assert.deepEqual(
        unseen.map((a) => a.id),
        [silent.id, seenLong.id],
      );
      assert.ok(!unseen.some((a) => a.id === former.id || a.id === revoked.id));
      assert.deepEqual(await catalog.listUnseenAgents(at(0)), []);
    });
  });

  describe("agents by their secret, and their verified check-ins", () => {
    const catalog = catalogPerTest(open);
    const { tenant, agent, commit } = fixtures(catalog);

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
}
