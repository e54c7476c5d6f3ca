import assert from "node:assert/strict";
import { test } from "node:test";
import { cover, groupSpans, planReads } from "./read-plan.js";

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

test("a pack's wanted blobs are read in parts of bounded size, split where the gaps are", () => {
  const spans = [
    { offset: 300, length: 100 },
    { offset: 0, length: 100 },
    { offset: 100, length: 100 },
    { offset: 200, length: 100 },
    { offset: 1000, length: 50 },
    { offset: 2000, length: 900 },
  ].map((span) => ({ ...span, rawLength: span.length }));
  // 250 bytes at most per part; a gap of 500 or more starts a new one.
  const limits = { maxBytes: 250, maxGap: 500, maxDecoded: Number.POSITIVE_INFINITY };
  assert.deepEqual(groupSpans(spans, limits), [[1, 2], [3, 0], [4], [5]]);
  // The 900-byte span exceeds the bound alone and still gets its own part.
  assert.deepEqual(cover([spans[3], spans[0]] as { offset: number; length: number }[]), {
    offset: 200,
    length: 200,
  });
});

test("overlapping claims of an untrusted index end up in one part covering them all", () => {
  const spans = [
    { offset: 0, length: 100, rawLength: 400 },
    { offset: 50, length: 10, rawLength: 400 },
    { offset: 90, length: 30, rawLength: 400 },
  ];
  assert.deepEqual(groupSpans(spans, { maxBytes: 1000, maxGap: 0, maxDecoded: 500 }), [[0, 1, 2]]);
  assert.deepEqual(cover(spans), { offset: 0, length: 120 });
});

test("parts are bounded by what they decode too, and a frame's blobs stay in one part", () => {
  // Small files compressed 4:1, back to back: parts of two (1,000 decoded bytes at most).
  const small = Array.from({ length: 9 }, (_, i) => ({
    offset: i * 100,
    length: 100,
    rawLength: 400,
  }));
  const limits = { maxBytes: 10_000, maxGap: 0, maxDecoded: 1000 };
  assert.deepEqual(groupSpans(small, limits), [[0, 1], [2, 3], [4, 5], [6, 7], [8]]);
  // Four blobs of one frame (one span, each decoding to 600 bytes), then a lone blob.
  const frame = [
    ...Array.from({ length: 4 }, () => ({ offset: 0, length: 500, rawLength: 600 })),
    { offset: 500, length: 100, rawLength: 100 },
  ];
  assert.deepEqual(groupSpans(frame, limits), [[0, 1, 2, 3], [4]]);
});
