/** The decisions behind the server's limits, on plain values: no server, no clock. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MAX_JSON_BYTES, MAX_OBJECT_BYTES } from "../protocol/api.js";
import { TenantBudgets } from "./budget.js";
import { sourceOf } from "./connections.js";
import { DEFAULT_LIMITS, resolveLimits } from "./limits.js";
import { CommitRateLimit, takeToken } from "./rate-limit.js";

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("token buckets", () => {
  it("accepts a burst, then one request per interval, and says when the next one fits", () => {
    const rule = { burst: 3, intervalMs: 1000 };
    let bucket: Parameters<typeof takeToken>[1];
    const take = (now: number) => {
      const decision = takeToken(rule, bucket, now);
      bucket = decision.bucket;
      return decision;
    };
    assert.equal(take(0).allowed, true);
    assert.equal(take(0).allowed, true);
    assert.equal(take(0).allowed, true);
    assert.deepEqual(take(0), { allowed: false, bucket: { tokens: 0, at: 0 }, retryAfterMs: 1000 });
    const soon = take(250);
    assert.equal(soon.allowed, false);
    assert.equal(soon.allowed === false && soon.retryAfterMs, 750);
    assert.equal(take(1000).allowed, true);
    assert.equal(take(1000).allowed, false);
    // A long quiet period refills the burst, never more.
    assert.equal(take(1_000_000).allowed, true);
    assert.equal(take(1_000_000).allowed, true);
    assert.equal(take(1_000_000).allowed, true);
    assert.equal(take(1_000_000).allowed, false);
    // A clock that goes back adds nothing.
    assert.equal(take(0).allowed, false);
  });

  it("limits each agent apart, and asks for a record of refusals once per period", () => {
    const limit = new CommitRateLimit({ burst: 2, intervalMs: 1000 }, 60_000);
    assert.deepEqual(limit.check("a", 0), { allowed: true });
    assert.deepEqual(limit.check("a", 0), { allowed: true });
    assert.deepEqual(limit.check("a", 0), {
      allowed: false,
      retryAfterMs: 1000,
      record: { refusedSinceLast: 1 },
    });
    assert.deepEqual(limit.check("b", 0), { allowed: true });
    assert.deepEqual(limit.check("a", 10), { allowed: false, retryAfterMs: 990 });
    assert.deepEqual(limit.check("a", 20), { allowed: false, retryAfterMs: 980 });
    // Once the period is over, the next refusal is recorded with those it did not record.
    assert.equal(limit.check("a", 1000).allowed, true);
    assert.deepEqual(limit.check("a", 61_000), { allowed: true });
    assert.deepEqual(limit.check("a", 61_000), { allowed: true });
    assert.deepEqual(limit.check("a", 61_000), {
      allowed: false,
      retryAfterMs: 1000,
      record: { refusedSinceLast: 3 },
    });
  });
});

describe("connection sources", () => {
  it("counts IPv4 by address and IPv6 by /64", () => {
    assert.equal(sourceOf("192.0.2.7"), "192.0.2.7");
    assert.equal(sourceOf("::ffff:192.0.2.7"), "192.0.2.7");
    assert.equal(sourceOf("::FFFF:192.0.2.7"), "192.0.2.7");
    assert.equal(sourceOf("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
    assert.equal(sourceOf("2001:db8:1:2::9"), "2001:db8:1:2::/64");
    assert.equal(sourceOf("2001:0db8:0001:0002:ffff::1"), "2001:db8:1:2::/64");
    assert.equal(sourceOf("2001:db8::1"), "2001:db8:0:0::/64");
    assert.equal(sourceOf("fe80::1%eth0"), "fe80:0:0:0::/64");
    assert.equal(sourceOf("::1"), "0:0:0:0::/64");
    assert.equal(sourceOf(undefined), "unknown");
  });
});

describe("upload memory by tenant", () => {
  it("lets another tenant in while one tenant holds and queues all its own share", async () => {
    const budgets = new TenantBudgets(100, 50);
    const releases: (() => void)[] = [];
    const a = budgets.of("a");
    releases.push(await a.acquire(30), await a.acquire(20));
    let queued = false;
    const third = a.acquire(10).then((release) => {
      queued = true;
      return release;
    });
    await tick();
    assert.equal(queued, false);
    assert.deepEqual(budgets.use().a, { capacity: 50, inUse: 50, waiting: 1 });
    // Tenant A waits inside its own budget, so B finds the server's other half free.
    const b = await budgets.of("b").acquire(50);
    assert.deepEqual(budgets.server.use(), { capacity: 100, inUse: 100, waiting: 0 });
    b();
    releases[0]?.();
    (await third)();
    releases[1]?.();
    assert.deepEqual(budgets.server.use(), { capacity: 100, inUse: 0, waiting: 0 });
    assert.deepEqual(budgets.use(), {}, "idle tenants are forgotten");
    await assert.rejects(a.acquire(51), RangeError);
    assert.deepEqual(budgets.use(), {});
  });

  it("never gives one tenant more than half of the server's budget", () => {
    assert.throws(() => new TenantBudgets(100, 51), RangeError);
    assert.ok(new TenantBudgets(100, 50));
  });
});

describe("limits", () => {
  it("defaults to the documented values", () => {
    assert.deepEqual(resolveLimits(), DEFAULT_LIMITS);
    assert.equal(DEFAULT_LIMITS.tenantUploadMemoryBytes * 2, DEFAULT_LIMITS.uploadMemoryBytes);
  });

  it("keeps a tenant's share between one full object and half the server's budget", () => {
    const small = resolveLimits({ uploadMemoryBytes: MAX_OBJECT_BYTES });
    assert.equal(small.uploadMemoryBytes, 2 * MAX_OBJECT_BYTES);
    assert.equal(small.tenantUploadMemoryBytes, MAX_OBJECT_BYTES);
    const big = resolveLimits({ uploadMemoryBytes: 1024 * 2 ** 20 });
    assert.equal(big.tenantUploadMemoryBytes, 512 * 2 ** 20);
    const greedy = resolveLimits({
      uploadMemoryBytes: 256 * 2 ** 20,
      tenantUploadMemoryBytes: 2 ** 30,
    });
    assert.equal(greedy.tenantUploadMemoryBytes, 128 * 2 ** 20);
    const tiny = resolveLimits({ tenantUploadMemoryBytes: 1 });
    assert.equal(tiny.tenantUploadMemoryBytes, MAX_OBJECT_BYTES);
  });

  it("lets any JSON body fit the public budget and refuses nonsense", () => {
    assert.equal(resolveLimits({ publicJsonMemoryBytes: 1 }).publicJsonMemoryBytes, MAX_JSON_BYTES);
    assert.throws(() => resolveLimits({ connectionsPerAddress: 0 }), RangeError);
    assert.throws(() => resolveLimits({ minBodyRate: { bytes: 0, windowMs: 1000 } }), RangeError);
    assert.throws(() => resolveLimits({ commitRate: { burst: 1, intervalMs: 0 } }), RangeError);
  });
});
