/**
 * Which snapshots retention keeps, as a pure function of the snapshot records, the policy and
 * the time (PBS's prune.rs is the model: every snapshot comes back with a mark and the reasons).
 *
 * Built so that an attacker holding an agent credential cannot age good snapshots out:
 * - every time is the server's receipt time (`committedAt`), never the agent's claim;
 * - calendar rules are windows fixed by `now` (the last N days, weeks, months, years), not "the
 *   last N periods that have snapshots", so snapshots added now never push old periods out;
 * - each period keeps its *first* snapshot, so later snapshots in a period (a flood) never
 *   displace the one already there;
 * - nothing is ever removed before its immutability window ends, or while held;
 * - the newest snapshot marked known-good that is older than the look-back is always kept, so a
 *   slow, undetected encryption still leaves a clean restore point.
 */

import type { RetentionRules } from "../../catalog/catalog.js";

/** The rules as the catalog stores them, per tenant or per agent. */
export type RetentionPolicy = RetentionRules;

export interface RetentionCandidate {
  readonly id: string;
  /** the server's receipt time */
  readonly committedAt: Date;
  readonly immutableUntil: Date;
  readonly held: boolean;
  readonly knownGood: boolean;
}

export interface RetentionDecision {
  readonly id: string;
  readonly keep: boolean;
  /** why it is kept (empty when it is removed) */
  readonly reasons: readonly string[];
}

const DAY_MS = 24 * 60 * 60 * 1000;

type Period = "daily" | "weekly" | "monthly" | "yearly";

/** The UTC calendar period a time falls in, as a sortable key and an index (0 = the epoch's). */
function periodIndex(period: Period, time: Date): number {
  switch (period) {
    case "daily":
      return Math.floor(time.getTime() / DAY_MS);
    case "weekly":
      // ISO weeks start on Monday; 1970-01-01 was a Thursday, hence the 3-day shift.
      return Math.floor((time.getTime() / DAY_MS + 3) / 7);
    case "monthly":
      return time.getUTCFullYear() * 12 + time.getUTCMonth();
    case "yearly":
      return time.getUTCFullYear();
  }
}

function periodLabel(period: Period, time: Date): string {
  const iso = time.toISOString();
  switch (period) {
    case "daily":
      return iso.slice(0, 10);
    case "weekly":
      return `week of ${new Date((periodIndex("weekly", time) * 7 - 3) * DAY_MS).toISOString().slice(0, 10)}`;
    case "monthly":
      return iso.slice(0, 7);
    case "yearly":
      return iso.slice(0, 4);
  }
}

const PERIODS: readonly { period: Period; count: (p: RetentionPolicy) => number }[] = [
  { period: "daily", count: (p) => p.keepDaily },
  { period: "weekly", count: (p) => p.keepWeekly },
  { period: "monthly", count: (p) => p.keepMonthly },
  { period: "yearly", count: (p) => p.keepYearly },
];

export function evaluateRetention(
  snapshots: readonly RetentionCandidate[],
  policy: RetentionPolicy,
  now: Date,
): RetentionDecision[] {
  const oldestFirst = [...snapshots].sort(
    (a, b) => a.committedAt.getTime() - b.committedAt.getTime() || (a.id < b.id ? -1 : 1),
  );
  const reasons = new Map<string, string[]>(oldestFirst.map((s) => [s.id, []]));
  const add = (id: string, reason: string) => reasons.get(id)?.push(reason);

  for (const s of oldestFirst) {
    if (s.held) add(s.id, "held");
    if (s.immutableUntil > now) add(s.id, `immutable until ${s.immutableUntil.toISOString()}`);
    const age = now.getTime() - s.committedAt.getTime();
    // Only a server clock set back makes this happen; keeping is the only safe answer.
    if (age < 0) add(s.id, "committed after now (was the server clock set back?)");
    else if (age < policy.keepWithinDays * DAY_MS)
      add(s.id, `within ${policy.keepWithinDays} days`);
  }

  for (const { period, count } of PERIODS) {
    const n = count(policy);
    if (n <= 0) continue;
    const current = periodIndex(period, now);
    const firstOfPeriod = new Set<number>();
    for (const s of oldestFirst) {
      const index = periodIndex(period, s.committedAt);
      if (index > current - n && index <= current && !firstOfPeriod.has(index)) {
        firstOfPeriod.add(index);
        add(s.id, `${period}: first of ${periodLabel(period, s.committedAt)}`);
      }
    }
  }

  if (policy.knownGoodAfterDays > 0) {
    const cutoff = now.getTime() - policy.knownGoodAfterDays * DAY_MS;
    const lastGood = oldestFirst
      .filter((s) => s.knownGood && s.committedAt.getTime() <= cutoff)
      .at(-1);
    if (lastGood)
      add(lastGood.id, `newest known-good older than ${policy.knownGoodAfterDays} days`);
  }

  return oldestFirst.map((s) => {
    const why = reasons.get(s.id) ?? [];
    return { id: s.id, keep: why.length > 0, reasons: why };
  });
}
