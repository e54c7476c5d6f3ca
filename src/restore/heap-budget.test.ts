import assert from "node:assert/strict";
import { it } from "node:test";
import { setImmediate as tick } from "node:timers/promises";
import { collectGarbage } from "../backup/collect-garbage.js";
import { HeapBudget } from "./heap-budget.js";

const MiB = 1024 * 1024;

/** About `bytes` of objects promoted to the old generation, then dropped; a ref to one of them. */
function promotedGarbage(bytes: number): WeakRef<object> {
  const held = Array.from({ length: bytes / 8192 }, () => new Array(1000).fill(0.5));
  const ref = new WeakRef(held[0] as object);
  collectGarbage("minor");
  collectGarbage("minor");
  return ref;
}

async function collectedAfterSettle(budget: HeapBudget, ref: WeakRef<object>): Promise<boolean> {
  // A WeakRef keeps its target until the end of the job that made or read it.
  await tick();
  budget.settle();
  await tick();
  return ref.deref() === undefined;
}

it("collects in full only once the heap grew by its budget", async () => {
  const roomy = new HeapBudget(1024 * MiB);
  assert.equal(await collectedAfterSettle(roomy, promotedGarbage(4 * MiB)), false);

  const tight = new HeapBudget(2 * MiB);
  const ref = promotedGarbage(8 * MiB);
  assert.equal(await collectedAfterSettle(tight, ref), true);
});
