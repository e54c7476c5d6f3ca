/** The server's pure pieces: password hashing, tokens, ranges, budgets. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ApiError } from "./api-error.js";
import { Budget } from "./budget.js";
import { hashPassword, verifyPassword } from "./passwords.js";
import { parseRange } from "./range.js";
import { agentCredential, newSecret, newToken, parseAgentCredential, sha256Hex } from "./tokens.js";

const FAST = { N: 2 ** 10, r: 8, p: 1 };

describe("operator passwords", () => {
  it("verifies the right password only, from a self-describing scrypt string", async () => {
    const stored = await hashPassword("correct horse", FAST);
    assert.match(stored, /^scrypt\$1024\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    assert.ok(await verifyPassword("correct horse", stored));
    assert.ok(!(await verifyPassword("correct horse ", stored)));
    assert.notEqual(await hashPassword("correct horse", FAST), stored, "salted");
  });

  it("uses N=2^15, r=8, p=1 by default, as the design says", async () => {
    assert.match(await hashPassword("x"), /^scrypt\$32768\$8\$1\$/);
  });

  it("refuses stored strings it did not make, and costs a hostile catalog row could impose", async () => {
    for (const stored of [
      "",
      "plaintext",
      "scrypt$1024$8$1$c2FsdA==",
      "scrypt$1000$8$1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA==",
      `scrypt$${2 ** 24}$8$1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA==`,
      "scrypt$1024$8$99$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA==",
    ])
      assert.equal(await verifyPassword("x", stored), false, stored);
  });
});

describe("tokens", () => {
  it("splits an agent credential into its id and secret, and refuses other shapes", () => {
    const secret = newSecret();
    assert.deepEqual(parseAgentCredential(agentCredential("0123abcd", secret)), {
      agentId: "0123abcd",
      secret,
    });
    for (const token of [
      "rmpa_",
      "rmpa_abc",
      `rmpa__${secret}`,
      `rmpa_a/b_${secret}`,
      `rmpa_x_${secret}x`,
      `rmps_x_${secret}`,
    ])
      assert.equal(parseAgentCredential(token), undefined, token);
  });

  it("makes distinct tokens and stores only their hash", () => {
    const a = newToken("enroll");
    const b = newToken("enroll");
    assert.notEqual(a.token, b.token);
    assert.equal(a.hash, sha256Hex(a.token));
    assert.match(newToken("session").token, /^rmps_[A-Za-z0-9_-]{43}$/);
  });
});

describe("byte ranges", () => {
  it("reads the three single-range forms, clipped to the object", () => {
    assert.deepEqual(parseRange("bytes=0-0", 10), { offset: 0, length: 1 });
    assert.deepEqual(parseRange("bytes=2-5", 10), { offset: 2, length: 4 });
    assert.deepEqual(parseRange("bytes=8-100", 10), { offset: 8, length: 2 });
    assert.deepEqual(parseRange("bytes=3-", 10), { offset: 3, length: 7 });
    assert.deepEqual(parseRange("bytes=-4", 10), { offset: 6, length: 4 });
    assert.deepEqual(parseRange("bytes=-40", 10), { offset: 0, length: 10 });
  });

  it("refuses what it cannot satisfy (416) apart from what it cannot read (400)", () => {
    const code = (header: string, size: number) => {
      try {
        parseRange(header, size);
        return "accepted";
      } catch (error) {
        assert.ok(error instanceof ApiError);
        return error.code;
      }
    };
    assert.equal(code("bytes=10-", 10), "RangeNotSatisfiable");
    assert.equal(code("bytes=-0", 10), "RangeNotSatisfiable");
    assert.equal(code("bytes=0-", 0), "RangeNotSatisfiable");
    for (const header of [
      "bytes=5-2",
      "bytes=-",
      "bytes=a-b",
      "bytes=0-1,3-4",
      "pages=1-2",
      "bytes= 1-2",
    ])
      assert.equal(code(header, 10), "BadRequest", header);
  });
});

describe("budgets", () => {
  it("grants in order and never more than the capacity at once", async () => {
    const budget = new Budget(10);
    const order: string[] = [];
    let held = 0;
    let most = 0;
    const take = (label: string, amount: number) =>
      budget.with(amount, async () => {
        held += amount;
        most = Math.max(most, held);
        order.push(label);
        await new Promise((resolve) => setImmediate(resolve));
        held -= amount;
      });
    await Promise.all([take("a", 6), take("b", 6), take("c", 2), take("d", 10)]);
    assert.ok(most <= 10);
    assert.deepEqual(order, ["a", "b", "c", "d"]);
    await assert.rejects(budget.acquire(11), RangeError);
  });

  it("lets an empty body through when full, and counts who waits", async () => {
    const budget = new Budget(10);
    const release = await budget.acquire(10);
    (await budget.acquire(0))();
    const waiting = budget.acquire(1);
    assert.deepEqual(budget.use(), { capacity: 10, inUse: 10, waiting: 1 });
    release();
    (await waiting)();
    assert.equal(budget.idle, true);
  });
});
