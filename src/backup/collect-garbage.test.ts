import assert from "node:assert/strict";
import { it } from "node:test";
import { setImmediate as tick } from "node:timers/promises";
import { collectGarbage } from "./collect-garbage.js";

/** An object that survived two scavenges (so lives in the old generation), then dropped. */
function promotedGarbage(): WeakRef<object> {
  const target = { payload: new Array(1000).fill(0) };
  const ref = new WeakRef(target);
  collectGarbage("minor");
  collectGarbage("minor");
  return ref;
}

it("a major collection frees garbage of the old generation, which a minor one leaves", async () => {
  const ref = promotedGarbage();
  // A WeakRef keeps its target until the end of the job that made or read it.
  await tick();
  collectGarbage("minor");
  await tick();
  assert.notEqual(ref.deref(), undefined, "promoted: a scavenge leaves it");
  await tick();
  collectGarbage("major");
  await tick();
  assert.equal(ref.deref(), undefined);
});
