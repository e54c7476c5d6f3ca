import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULT_DRILL, parseDrillSettings } from "./drill-config.js";

describe("the drill settings", () => {
  it("default to a weekly drill of 1 % or 200 files, at most 1 GiB, and can be turned off", () => {
    assert.deepEqual(parseDrillSettings(undefined), DEFAULT_DRILL);
    assert.deepEqual(DEFAULT_DRILL, {
      schedule: "30 3 * * 0",
      percent: 1,
      maxFiles: 200,
      maxBytes: 1024 ** 3,
    });
    assert.equal(parseDrillSettings(false), false);
    assert.deepEqual(
      parseDrillSettings({ schedule: "0 5 * * 6", maxFiles: 20, scratchParent: "/var/tmp" }),
      {
        ...DEFAULT_DRILL,
        schedule: "0 5 * * 6",
        maxFiles: 20,
        scratchParent: "/var/tmp",
      },
    );
  });

  it("refuses what a hand edit can get wrong, naming the field", () => {
    for (const [value, field] of [
      [true, /"drill" must be false or an object/],
      [{ percent: 0 }, /drill\.percent/],
      [{ percent: 101 }, /drill\.percent/],
      [{ maxFiles: 1.5 }, /drill\.maxFiles/],
      [{ maxBytes: 0 }, /drill\.maxBytes/],
      [{ scratchParent: "tmp" }, /drill\.scratchParent/],
      [{ schedule: 5 }, /drill\.schedule/],
    ] as const)
      assert.throws(() => parseDrillSettings(value), field);
    assert.throws(() => parseDrillSettings({ schedule: "every tuesday" }));
  });
});
