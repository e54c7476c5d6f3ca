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
        catalog.createSession({ tokenHash: hashOf(label), operatorId, expiresAt: at(DAY) }, at(0));
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
}
