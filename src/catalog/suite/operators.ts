/** Operators and their sessions. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Operator } from "../catalog.js";
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

export function describeOperatorConformance(open: OpenCatalog): void {
  describe("operators and sessions", () => {
    const catalog = catalogPerTest(open);
    const { admin } = fixtures(catalog);

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
        totp: null,
        totpPending: null,
      });
      const bob = await catalog.createOperator(
        { username: "bob@msp.example", passwordHash: "x", role: "read-only" },
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

    it("finds a session with its operator, idle time and second factor, whatever its state", async () => {
      const alice = await admin();
      const session = await catalog.createSession(
        { tokenHash: hashOf("s1"), operatorId: alice.id, expiresAt: at(60 * MINUTE), mfa: true },
        at(0),
      );
      assert.deepEqual(session, {
        tokenHash: hashOf("s1"),
        operatorId: alice.id,
        createdAt: at(0),
        expiresAt: at(60 * MINUTE),
        lastUsedAt: at(0),
        mfa: true,
        revoked: false,
      });
      assert.deepEqual(await catalog.findSession(hashOf("s1")), { session, operator: alice });
      await catalog.touchSession(hashOf("s1"), at(5 * MINUTE));
      assert.deepEqual(
        (await catalog.findSession(hashOf("s1")))?.session.lastUsedAt,
        at(5 * MINUTE),
      );
      assert.equal(await catalog.findSession(hashOf("other")), undefined);
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
      assert.equal((await catalog.findSession(hashOf("s1")))?.session.revoked, true);
      assert.equal((await catalog.findSession(hashOf("s2")))?.session.revoked, false);
    });

    it("ends every session of an operator who is disabled or gets a new password", async () => {
      const alice = await admin("alice");
      const bob = await admin("bob");
      const open = (label: string, operatorId: string) =>
        catalog.createSession({ tokenHash: hashOf(label), operatorId, expiresAt: at(DAY) }, at(0));
      const revoked = async (label: string) =>
        (await catalog.findSession(hashOf(label)))?.session.revoked;
      await open("alice", alice.id);
      await open("bob", bob.id);
      await catalog.setOperatorPasswordHash(alice.id, "$scrypt$new");
      assert.equal((await catalog.getOperator(alice.id))?.passwordHash, "$scrypt$new");
      assert.equal(await revoked("alice"), true);
      assert.equal(await revoked("bob"), false);

      await catalog.disableOperator(bob.id);
      assert.equal((await catalog.getOperator(bob.id))?.disabled, true);
      assert.equal(await revoked("bob"), true);
      await refuses(open("bob again", bob.id), "InvalidArgument", "operator-disabled");
      await refuses(catalog.disableOperator("0123456789abcdef"), "NotFound");
      await catalog.setOperatorRole(alice.id, "read-only");
      assert.equal((await catalog.getOperator(alice.id))?.role, "read-only");
      await refuses(catalog.setOperatorRole(alice.id, "root" as "admin"), "InvalidArgument");
      await refuses(catalog.setOperatorRole("0123456789abcdef", "admin"), "NotFound");
      await refuses(catalog.setOperatorPasswordHash("0123456789abcdef", "x"), "NotFound");
    });

    it("activates a pending TOTP secret only when confirmed, and accepts each step once, in order", async () => {
      const alice = await admin();
      await refuses(catalog.confirmTotp(alice.id, 100), "NotFound", "no-pending-totp");
      await catalog.setPendingTotp(alice.id, "sealed-1");
      let stored = await catalog.getOperator(alice.id);
      assert.equal(stored?.totp, null, "a pending secret is not yet in force");
      assert.equal(stored?.totpPending, "sealed-1");
      assert.equal(await catalog.useTotpStep(alice.id, 101), false, "no step is used without TOTP");

      await catalog.createSession(
        { tokenHash: hashOf("before"), operatorId: alice.id, expiresAt: at(DAY) },
        at(0),
      );
      await catalog.confirmTotp(alice.id, 100);
      stored = await catalog.getOperator(alice.id);
      assert.deepEqual(stored?.totp, { secret: "sealed-1", lastStep: 100 });
      assert.equal(stored?.totpPending, null);
      assert.equal((await catalog.findSession(hashOf("before")))?.session.revoked, true);

      assert.equal(await catalog.useTotpStep(alice.id, 100), false, "the confirming code is spent");
      assert.equal(await catalog.useTotpStep(alice.id, 102), true);
      assert.equal(await catalog.useTotpStep(alice.id, 102), false, "a replay");
      assert.equal(await catalog.useTotpStep(alice.id, 101), false, "an older step");

      await catalog.setPendingTotp(alice.id, "sealed-2");
      assert.deepEqual((await catalog.getOperator(alice.id))?.totp, {
        secret: "sealed-1",
        lastStep: 102,
      });
      await catalog.removeTotp(alice.id);
      stored = await catalog.getOperator(alice.id);
      assert.equal(stored?.totp, null);
      assert.equal(stored?.totpPending, null);
      await refuses(catalog.setPendingTotp(alice.id, ""), "InvalidArgument");
      await refuses(catalog.setPendingTotp("0123456789abcdef", "x"), "NotFound");
    });

    it("counts login failures per key as the caller decides, forgets old ones and clears on request", async () => {
      const lockAtThree = (now: Date) => (previous: { failures: number } | undefined) => {
        const failures = (previous?.failures ?? 0) + 1;
        return { failures, lockedUntil: failures >= 3 ? new Date(now.getTime() + MINUTE) : null };
      };
      const fail = (key: string, now: Date) =>
        catalog.recordLoginFailure(key, now, new Date(now.getTime() - DAY), lockAtThree(now));
      await fail("user:alice", at(0));
      await fail("user:alice", at(1));
      assert.deepEqual(await fail("user:alice", at(2)), {
        key: "user:alice",
        failures: 3,
        lastFailureAt: at(2),
        lockedUntil: at(2 + MINUTE),
      });
      assert.deepEqual((await catalog.getLoginThrottle("user:alice"))?.failures, 3);
      await fail("addr:10.0.0.1", at(3));
      // A day without failure (and no lock in force): the count starts again.
      assert.equal((await fail("addr:10.0.0.1", at(3 + DAY + 1))).failures, 1);
      assert.equal(await catalog.getLoginThrottle("user:alice"), undefined, "forgotten on the way");
      await catalog.clearLoginThrottle("addr:10.0.0.1");
      await catalog.clearLoginThrottle("addr:never");
      assert.equal(await catalog.getLoginThrottle("addr:10.0.0.1"), undefined);
      await refuses(fail("", at(0)), "InvalidArgument");
    });

    it("keeps API tokens by hash with their scopes, operator, expiry, use and revocation", async () => {
      const alice = await admin();
      const token = await catalog.createApiToken(
        {
          name: "psa sync",
          tokenHash: hashOf("t1"),
          operatorId: alice.id,
          scopes: ["tenant-admin", "read-only", "alerts"],
          expiresAt: at(DAY),
        },
        at(0),
      );
      assert.deepEqual(token, {
        id: token.id,
        name: "psa sync",
        tokenHash: hashOf("t1"),
        operatorId: alice.id,
        scopes: ["read-only", "alerts", "tenant-admin"],
        createdAt: at(0),
        expiresAt: at(DAY),
        revokedAt: null,
        lastUsedAt: null,
      });
      assert.deepEqual(await catalog.findApiToken(hashOf("t1")), { token, operator: alice });
      assert.equal(await catalog.findApiToken(hashOf("t2")), undefined);
      await catalog.touchApiToken(token.id, at(5));
      const forever = await catalog.createApiToken(
        {
          name: "metrics",
          tokenHash: hashOf("t2"),
          operatorId: alice.id,
          scopes: ["read-only"],
          expiresAt: null,
        },
        at(1),
      );
      assert.deepEqual(
        (await catalog.listApiTokens()).map((t) => [t.name, t.lastUsedAt, t.expiresAt]),
        [
          ["psa sync", at(5), at(DAY)],
          ["metrics", null, null],
        ],
      );
      const revoked = await catalog.revokeApiToken(forever.id, at(10));
      assert.deepEqual(revoked.revokedAt, at(10));
      assert.deepEqual((await catalog.revokeApiToken(forever.id, at(20))).revokedAt, at(10));
      await refuses(catalog.revokeApiToken("0123456789abcdef", at(0)), "NotFound");

      const create = (
        name: string,
        scopes: string[],
        expiresAt: Date | null = null,
        hash = hashOf(name),
      ) =>
        catalog.createApiToken(
          {
            name,
            tokenHash: hash,
            operatorId: alice.id,
            scopes: scopes as ["read-only"],
            expiresAt,
          },
          at(10),
        );
      await refuses(create("psa sync", ["read-only"]), "ObjectConflict");
      await refuses(create("x", []), "InvalidArgument");
      await refuses(create("y", ["root"]), "InvalidArgument");
      await refuses(create("z", ["read-only"], at(10)), "InvalidArgument");
      await refuses(create("bad\nname", ["read-only"]), "InvalidArgument");
      await refuses(create("w", ["read-only"], null, "not a hash"), "InvalidArgument");
      await catalog.disableOperator(alice.id);
      await refuses(create("v", ["read-only"]), "InvalidArgument", "operator-disabled");
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
}
