import assert from "node:assert/strict";
import { test } from "node:test";
import { planReads } from "./read-plan.js";

test("blobs close together are read as one range, far ones apart", () => {
  const plan = planReads(
    [
      { offset: 1000, length: 100 },
      { offset: 0, length: 100 },
      { offset: 150, length: 50 },
    ],
    10_000,
    100,
  );
  assert.deepEqual(plan.ranges, [
    { offset: 0, length: 200 },
    { offset: 1000, length: 100 },
  ]);
  assert.deepEqual(plan.at, [200, 0, 150]);
  assert.equal(plan.total, 300);
});

test("overlapping spans from an untrusted index share their bytes", () => {
  const plan = planReads(
    [
      { offset: 0, length: 100 },
      { offset: 1, length: 100 },
    ],
    1000,
    0,
  );
  assert.deepEqual(plan.ranges, [{ offset: 0, length: 101 }]);
  assert.deepEqual(plan.at, [0, 1]);
});

test("claimed lengths never make the buffer larger than the object", () => {
  const plan = planReads(
    [
      { offset: 10, length: 4_000_000_000 },
      { offset: 5000, length: 10 },
    ],
    1000,
    0,
  );
  assert.deepEqual(plan.ranges, [{ offset: 10, length: 990 }]);
  assert.equal(plan.total, 990);
  // Past the end: no bytes, so its decode fails and another location is tried.
  assert.equal(plan.at[1], 990);
});
