import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULT_RETRY_POLICY, retryDelayMs } from "./retry.js";

describe("delivery retry delays", () => {
  const policy = { baseDelayMs: 1000, maxDelayMs: 8000, maxAttempts: 6 };

  it("doubles from the base up to the cap, half of each delay random", () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5].map((n) => retryDelayMs(n, 0, policy)),
      [500, 1000, 2000, 4000, 4000],
    );
    assert.deepEqual(
      [1, 2, 3, 4, 5].map((n) => retryDelayMs(n, 0.999999, policy)),
      [1000, 2000, 4000, 8000, 8000],
    );
  });

  it("gives up once the attempts reach the bound", () => {
    assert.equal(retryDelayMs(6, 0.5, policy), null);
    assert.equal(retryDelayMs(DEFAULT_RETRY_POLICY.maxAttempts, 0.5, DEFAULT_RETRY_POLICY), null);
  });

  it("spans hours by default, not minutes or days", () => {
    let total = 0;
    for (let n = 1; n < DEFAULT_RETRY_POLICY.maxAttempts; n += 1)
      total += retryDelayMs(n, 1, DEFAULT_RETRY_POLICY) ?? 0;
    assert.ok(total > 3 * 3_600_000 && total < 12 * 3_600_000, `${total} ms`);
  });
});
