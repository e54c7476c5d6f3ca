import assert from "node:assert/strict";
import { test } from "node:test";
import { ReadAhead } from "./read-ahead.js";

/** Reads that finish only when the test says so, recording what ran at once. */
function controlledReads() {
  const finish = new Map<string, (value: string) => void>();
  const fail = new Map<string, (error: Error) => void>();
  const started: string[] = [];
  return {
    started,
    read: (key: string) =>
      new Promise<string>((resolve, reject) => {
        started.push(key);
        finish.set(key, resolve);
        fail.set(key, reject);
      }),
    finish: (key: string) => finish.get(key)?.(`bytes of ${key}`),
    fail: (key: string, error: Error) => fail.get(key)?.(error),
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

test("reads ahead no more bytes than its budget, counting buffers not yet released", async () => {
  const reads = controlledReads();
  const ahead = new ReadAhead({
    keys: ["a", "b", "c", "d"],
    sizeOf: () => 10,
    read: reads.read,
    budgetBytes: 25,
    maxReads: 8,
  });
  assert.deepEqual(reads.started, ["a", "b"]);
  reads.finish("a");
  reads.finish("b");
  const a = await ahead.next();
  const b = await ahead.next();
  await tick();
  // Both reads are done, but their buffers are still held: nothing more starts.
  assert.deepEqual(reads.started, ["a", "b"]);
  assert.equal(ahead.heldBytes, 20);
  a?.release();
  assert.deepEqual(reads.started, ["a", "b", "c"]);
  a?.release();
  assert.equal(ahead.heldBytes, 20, "a second release of the same read returns nothing");
  b?.release();
  assert.deepEqual(reads.started, ["a", "b", "c", "d"]);
});

test("a consumer waiting on a full budget gets the next read once bytes are released", async () => {
  const reads = controlledReads();
  const ahead = new ReadAhead({
    keys: ["a", "b"],
    sizeOf: () => 10,
    read: reads.read,
    budgetBytes: 10,
    maxReads: 8,
  });
  reads.finish("a");
  const a = await ahead.next();
  const waiting = ahead.next();
  await tick();
  assert.deepEqual(reads.started, ["a"]);
  a?.release();
  reads.finish("b");
  assert.equal((await waiting)?.key, "b");
  assert.equal(await ahead.next(), undefined);
});

test("a read larger than the budget still runs, alone", async () => {
  const reads = controlledReads();
  const ahead = new ReadAhead({
    keys: ["big", "small"],
    sizeOf: (key) => (key === "big" ? 100 : 1),
    read: reads.read,
    budgetBytes: 10,
    maxReads: 8,
  });
  assert.deepEqual(reads.started, ["big"]);
  reads.finish("big");
  (await ahead.next())?.release();
  assert.deepEqual(reads.started, ["big", "small"]);
});

test("reads at once stay within maxReads even when the budget allows more", async () => {
  const reads = controlledReads();
  new ReadAhead({
    keys: ["a", "b", "c"],
    sizeOf: () => 1,
    read: reads.read,
    budgetBytes: 100,
    maxReads: 2,
  });
  assert.deepEqual(reads.started, ["a", "b"]);
  reads.finish("a");
  await tick();
  assert.deepEqual(reads.started, ["a", "b", "c"]);
});

test("a failed read is handed out as that key's failure, and the others go on", async () => {
  const reads = controlledReads();
  const ahead = new ReadAhead({
    keys: ["a", "b"],
    sizeOf: () => 1,
    read: reads.read,
    budgetBytes: 100,
    maxReads: 8,
  });
  reads.fail("a", new Error("pack a is missing"));
  reads.finish("b");
  const a = await ahead.next();
  const b = await ahead.next();
  assert.equal(a?.key, "a");
  assert.equal(a?.outcome.ok, false);
  assert.match(String(a?.outcome.ok === false && (a.outcome.error as Error).message), /missing/);
  assert.deepEqual(b?.outcome, { ok: true, value: "bytes of b" });
});

test("after stop no read starts, waiting consumers get nothing, and settle waits for running reads", async () => {
  const reads = controlledReads();
  const ahead = new ReadAhead({
    keys: ["a", "b", "c"],
    sizeOf: () => 10,
    read: reads.read,
    budgetBytes: 10,
    maxReads: 8,
  });
  reads.finish("a");
  const a = await ahead.next();
  const waiting = ahead.next();
  let settled = false;
  ahead.stop();
  assert.equal(await waiting, undefined);
  a?.release();
  assert.deepEqual(reads.started, ["a"]);

  const running = controlledReads();
  const other = new ReadAhead({
    keys: ["x"],
    sizeOf: () => 1,
    read: running.read,
    budgetBytes: 10,
    maxReads: 8,
  });
  const done = other.settle().then(() => {
    settled = true;
  });
  await tick();
  assert.equal(settled, false, "x is still being read");
  running.finish("x");
  await done;
  assert.equal(settled, true);
});
