import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { evaluateRetention, type RetentionCandidate, type RetentionPolicy } from "./policy.js";

const DAY = 24 * 60 * 60 * 1000;
const NOW = new Date("2026-11-29T12:00:00Z");
const NONE: RetentionPolicy = {
  keepWithinDays: 0,
  keepDaily: 0,
  keepWeekly: 0,
  keepMonthly: 0,
  keepYearly: 0,
  knownGoodAfterDays: 0,
};

function snapshot(
  id: string,
  committedAt: Date,
  extra: Partial<RetentionCandidate> = {},
): RetentionCandidate {
  return { id, committedAt, immutableUntil: new Date(0), held: false, knownGood: false, ...extra };
}

/** One snapshot a night at 02:00 UTC for `days` days before NOW. */
function nightly(days: number): RetentionCandidate[] {
  return Array.from({ length: days }, (_, i) => {
    const day = new Date(Date.UTC(2026, 10, 29 - days + i, 2));
    return snapshot(`night-${day.toISOString().slice(0, 10)}`, day);
  });
}

function kept(decisions: ReturnType<typeof evaluateRetention>): Set<string> {
  return new Set(decisions.filter((d) => d.keep).map((d) => d.id));
}

describe("retention policy", () => {
  it("keeps everything committed within the window and nothing else when that is the only rule", () => {
    const decisions = evaluateRetention(nightly(10), { ...NONE, keepWithinDays: 3 }, NOW);
    // 3 days before NOW (29 Nov, noon) is 26 Nov, noon: the night of the 26th is just outside.
    assert.deepEqual([...kept(decisions)], ["night-2026-11-27", "night-2026-11-28"]);
    assert.deepEqual(decisions.find((d) => d.id === "night-2026-11-27")?.reasons, [
      "within 3 days",
    ]);
    assert.equal(decisions.find((d) => d.id === "night-2026-11-26")?.keep, false);
  });

  it("keeps the first snapshot of each of the last N days, weeks and months", () => {
    const twice = nightly(100).flatMap((s) => [
      s,
      snapshot(`${s.id}-evening`, new Date(s.committedAt.getTime() + 18 * 3600_000)),
    ]);
    const decisions = evaluateRetention(
      twice,
      { ...NONE, keepDaily: 3, keepWeekly: 2, keepMonthly: 3 },
      NOW,
    );
    const keep = kept(decisions);
    // The last 3 calendar days are 27, 28 and 29 November; the data ends on the 28th.
    for (const day of ["2026-11-27", "2026-11-28"]) assert.ok(keep.has(`night-${day}`), day);
    assert.ok(!keep.has("night-2026-11-27-evening"), "only the first of a day");
    // Weeks start on Monday: the week of 23 Nov and of 16 Nov.
    assert.ok(keep.has("night-2026-11-23") && keep.has("night-2026-11-16"));
    // Months: the first of November, October and September within the data.
    assert.ok(
      keep.has("night-2026-11-01") && keep.has("night-2026-10-01") && keep.has("night-2026-09-01"),
    );
    assert.ok(!keep.has("night-2026-08-22"), "the oldest snapshots fall out of every window");
    assert.match(
      decisions.find((d) => d.id === "night-2026-11-16")?.reasons.join() ?? "",
      /weekly: first of week of 2026-11-16/,
    );
  });

  it("does not let a flood of new snapshots push any earlier one out", () => {
    // No daily rule: weekly and monthly keepers are what a flood could displace.
    const policy: RetentionPolicy = { ...NONE, keepWithinDays: 1, keepWeekly: 4, keepMonthly: 6 };
    const history = nightly(200);
    const before = kept(evaluateRetention(history, policy, NOW));
    // 200 junk snapshots in the last hour, from a stolen agent credential.
    const flood = Array.from({ length: 200 }, (_, i) =>
      snapshot(`junk-${i}`, new Date(NOW.getTime() - 3600_000 + i * 1000)),
    );
    for (const later of [NOW, new Date(NOW.getTime() + 3 * DAY)]) {
      const withFlood = kept(evaluateRetention([...history, ...flood], policy, later));
      const without = kept(evaluateRetention(history, policy, later));
      for (const id of without)
        assert.ok(withFlood.has(id), `${id} survives the flood at ${later.toISOString()}`);
    }
    // 4 Mondays (weekly) and 6 firsts of the month: the pre-flood keepers under test.
    assert.equal(before.size, 10);
  });

  it("never removes a snapshot inside its immutability window or on hold", () => {
    const old = new Date(NOW.getTime() - 400 * DAY);
    const decisions = evaluateRetention(
      [
        snapshot("locked", old, { immutableUntil: new Date(NOW.getTime() + DAY) }),
        snapshot("held", old, { held: true }),
        snapshot("free", old),
      ],
      NONE,
      NOW,
    );
    assert.deepEqual(
      [...kept(decisions)],
      ["free", "held", "locked"].filter((id) => id !== "free"),
    );
    assert.match(
      decisions.find((d) => d.id === "locked")?.reasons[0] ?? "",
      /^immutable until 2026-11-30/,
    );
  });

  it("keeps the newest known-good snapshot older than the look-back even when every rule has moved on", () => {
    const history = nightly(60).map((s, i) => ({ ...s, knownGood: i < 45 }));
    const policy: RetentionPolicy = { ...NONE, keepDaily: 7, knownGoodAfterDays: 10 };
    const decisions = evaluateRetention(history, policy, NOW);
    const lastGood = history[44] as RetentionCandidate;
    assert.deepEqual(decisions.find((d) => d.id === lastGood.id)?.reasons, [
      "newest known-good older than 10 days",
    ]);
    assert.equal(
      decisions.find((d) => d.id === (history[43] as RetentionCandidate).id)?.keep,
      false,
    );
  });

  it("keeps a snapshot committed after now, which only a server clock set back can produce", () => {
    const future = snapshot("future", new Date(NOW.getTime() + 30 * DAY));
    const decisions = evaluateRetention([future], { ...NONE, keepDaily: 7 }, NOW);
    assert.deepEqual(decisions[0]?.reasons, [
      "committed after now (was the server clock set back?)",
    ]);
  });
});
