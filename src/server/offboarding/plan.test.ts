import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { SnapshotState, TenantDeletion } from "../../catalog/catalog.js";
import { isRempartError } from "../../errors.js";
import {
  DEFAULT_DELETION_DELAY_MS,
  decideDeletion,
  dueDeletions,
  MIN_DELETION_DELAY_MS,
  planTenantDeletion,
} from "./plan.js";

const T0 = Date.parse("2031-03-01T00:00:00Z");
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const at = (ms: number) => new Date(T0 + ms);

const snap = (id: string, state: SnapshotState, immutableUntil: number) => ({
  id,
  state,
  immutableUntil: at(immutableUntil),
});

function deletion(id: number, overrides: Partial<TenantDeletion> = {}): TenantDeletion {
  return {
    id,
    tenantId: `t${id}`,
    requestedBy: "o1",
    requestedAt: at(0),
    dueAt: at(3 * DAY),
    reason: "delay",
    cancelledBy: null,
    cancelledAt: null,
    startedAt: null,
    completedAt: null,
    ...overrides,
  };
}

describe("planTenantDeletion", () => {
  it("is due at the end of the delay when no snapshot is immutable longer", () => {
    const plan = planTenantDeletion([snap("a", "active", DAY)], DEFAULT_DELETION_DELAY_MS, at(0));
    assert.deepEqual(plan, {
      dueAt: at(72 * HOUR),
      reason: "delay",
      delayEndsAt: at(72 * HOUR),
      immutableUntil: at(DAY),
      held: 0,
    });
    assert.equal(planTenantDeletion([], MIN_DELETION_DELAY_MS, at(0)).immutableUntil, null);
  });

  it("is postponed to the end of the last immutability window, deleted snapshots aside", () => {
    const plan = planTenantDeletion(
      [snap("a", "active", 14 * DAY), snap("b", "held", 10 * DAY), snap("c", "deleted", 99 * DAY)],
      DEFAULT_DELETION_DELAY_MS,
      at(DAY),
    );
    assert.equal(plan.reason, "immutability");
    assert.deepEqual(plan.dueAt, at(14 * DAY));
    assert.deepEqual(plan.delayEndsAt, at(4 * DAY));
    assert.equal(plan.held, 1);
  });

  it("refuses a delay shorter than 24 h with a clear reason", () => {
    for (const delay of [0, HOUR, MIN_DELETION_DELAY_MS - 1, Number.NaN, 1.5 * DAY + 0.5]) {
      assert.throws(
        () => planTenantDeletion([], delay, at(0)),
        (error: unknown) =>
          isRempartError(error, "InvalidArgument") &&
          error.details.reason === "delay-too-short" &&
          /at least 24 h, so that a second admin can cancel it/.test(error.message),
        String(delay),
      );
    }
    assert.deepEqual(planTenantDeletion([], MIN_DELETION_DELAY_MS, at(0)).dueAt, at(DAY));
  });
});

describe("dueDeletions and decideDeletion", () => {
  it("lists the deletions due at now, started ones whatever their time, by due time", () => {
    const pending = [
      deletion(1, { dueAt: at(5 * DAY) }),
      deletion(2, { dueAt: at(2 * DAY) }),
      deletion(3, { dueAt: at(9 * DAY), startedAt: at(9 * DAY) }),
      deletion(4, { dueAt: at(DAY), cancelledBy: "o2", cancelledAt: at(1) }),
      deletion(5, { dueAt: at(DAY), startedAt: at(DAY), completedAt: at(DAY) }),
    ];
    assert.deepEqual(
      dueDeletions(pending, at(5 * DAY - 1)).map((d) => d.id),
      [2, 3],
    );
    assert.deepEqual(
      dueDeletions(pending, at(5 * DAY)).map((d) => d.id),
      [2, 1, 3],
    );
  });

  it("waits before the due time, then runs, unless a snapshot is held or immutable", () => {
    const d = deletion(1);
    const wait = decideDeletion(d, [], at(3 * DAY - 1));
    assert.equal(wait.action, "wait");
    assert.match(wait.reason, /due at 2031-03-04T00:00:00.000Z \(end of the delay\); cancellable/);
    const run = decideDeletion(d, [snap("a", "active", DAY), snap("b", "deleted", 0)], at(3 * DAY));
    assert.deepEqual(run.action, "run");
    assert.match(run.reason, /deleting 1 snapshot/);
    const held = decideDeletion(d, [snap("a", "held", DAY)], at(3 * DAY));
    assert.equal(held.action, "blocked");
    assert.match(held.reason, /1 snapshot\(s\) are held: release/);
    const immutable = decideDeletion(d, [snap("a", "active", 4 * DAY)], at(3 * DAY));
    assert.equal(immutable.action, "blocked");
    assert.match(immutable.reason, /immutable until 2031-03-05T00:00:00.000Z/);
    assert.equal(
      decideDeletion({ ...d, startedAt: at(3 * DAY) }, [], at(3 * DAY)).action,
      "resume",
    );
  });
});
