import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setImmediate as tick } from "node:timers/promises";
import { readAhead } from "./read-ahead.js";

/** Reads that finish only when told to, recording how many run at once. */
function controlledReads() {
  const finish = new Map<number, (value: string) => void>();
  const fail = new Map<number, (error: Error) => void>();
  let running = 0;
  let most = 0;
  const read = (n: number) =>
    new Promise<string>((resolve, reject) => {
      running++;
      most = Math.max(most, running);
      finish.set(n, (value) => {
        running--;
        resolve(value);
      });
      fail.set(n, (error) => {
        running--;
        reject(error);
      });
    });
  return { read, finish, fail, most: () => most, started: () => [...finish.keys()] };
}

describe("readAhead", () => {
  it("hands the answers over in the list's order, whatever order they finish in", async () => {
    const reads = controlledReads();
    const got: string[] = [];
    const consuming = (async () => {
      for (const [n, reading] of readAhead([0, 1, 2, 3], 4, reads.read))
        got.push(`${n}:${await reading}`);
    })();
    await tick();
    for (const n of [3, 1, 2, 0]) reads.finish.get(n)?.(`r${n}`);
    await consuming;
    assert.deepEqual(got, ["0:r0", "1:r1", "2:r2", "3:r3"]);
  });

  it("keeps at most `depth` reads started ahead of the consumer", async () => {
    const reads = controlledReads();
    const items = Array.from({ length: 10 }, (_, n) => n);
    const consuming = (async () => {
      for (const [n, reading] of readAhead(items, 3, reads.read)) {
        // Every read is answered only once the consumer waits on it.
        reads.finish.get(n)?.(String(n));
        await reading;
      }
    })();
    await consuming;
    assert.equal(reads.most(), 3);
    assert.deepEqual(reads.started(), items);
  });

  it("reports a failed read at its own item, never as an unhandled rejection", async () => {
    const reads = controlledReads();
    const unhandled: unknown[] = [];
    const note = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", note);
    try {
      const outcomes: string[] = [];
      const consuming = (async () => {
        for (const [n, reading] of readAhead([0, 1, 2], 3, reads.read)) {
          if (n === 0) {
            // Item 2 fails while the consumer is still busy with item 0.
            reads.fail.get(2)?.(new Error("damaged"));
            await tick();
            await tick();
            reads.finish.get(0)?.("ok");
            reads.finish.get(1)?.("ok");
          }
          try {
            outcomes.push(`${n}:${await reading}`);
          } catch (error) {
            outcomes.push(`${n}:${(error as Error).message}`);
          }
        }
      })();
      await consuming;
      await tick();
      assert.deepEqual(outcomes, ["0:ok", "1:ok", "2:damaged"]);
      assert.deepEqual(unhandled, []);
    } finally {
      process.off("unhandledRejection", note);
    }
  });
});
