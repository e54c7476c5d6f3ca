/**
 * The decisions of offboarding, as pure functions of their inputs and `now` (no catalog, no
 * disk, no clock): when a requested deletion becomes due, and what the deletion job does with
 * each pending deletion. The catalog enforces the same limits again (immutability, two-person
 * rule) whatever these functions answer; they exist so that the reasons can be shown first.
 */
import type {
  DeletionReason,
  SnapshotRecord,
  SnapshotState,
  TenantDeletion,
} from "../../catalog/catalog.js";
import { RempartError } from "../../errors.js";

const HOUR_MS = 3_600_000;

/** Long enough for a second admin to notice (a weekend is not: hence a 72 h default). */
export const MIN_DELETION_DELAY_MS = 24 * HOUR_MS;
export const DEFAULT_DELETION_DELAY_MS = 72 * HOUR_MS;

type SnapshotTimes = Pick<SnapshotRecord, "id" | "state" | "immutableUntil">;

export interface DeletionPlan {
  /** When the deletion may run: the later of `delayEndsAt` and `immutableUntil`. */
  readonly dueAt: Date;
  /** Which of the two decided `dueAt`. */
  readonly reason: DeletionReason;
  readonly delayEndsAt: Date;
  /** The latest end of an immutability window among the snapshots not deleted; null if none. */
  readonly immutableUntil: Date | null;
  /** Held snapshots: the deletion will not run until their holds are released. */
  readonly held: number;
}

/** Hours, or days and hours: how a delay reads in an error message. */
export function describeDelay(ms: number): string {
  const hours = Math.round(ms / HOUR_MS);
  return hours < 48 || hours % 24 !== 0 ? `${hours} h` : `${hours / 24} days`;
}

/** `InvalidArgument` (reason `delay-too-short`) for a delay under `MIN_DELETION_DELAY_MS`. */
export function planTenantDeletion(
  snapshots: readonly SnapshotTimes[],
  delayMs: number,
  now: Date,
): DeletionPlan {
  if (!Number.isSafeInteger(delayMs) || delayMs < MIN_DELETION_DELAY_MS)
    throw new RempartError(
      "InvalidArgument",
      `the delay before a deletion must be at least ${describeDelay(MIN_DELETION_DELAY_MS)}, so that a second admin can cancel it; ${Number.isSafeInteger(delayMs) ? describeDelay(delayMs) : String(delayMs)} is too short`,
      { reason: "delay-too-short", minimum_seconds: MIN_DELETION_DELAY_MS / 1000 },
    );
  const delayEndsAt = new Date(now.getTime() + delayMs);
  const live = snapshots.filter((s) => s.state !== "deleted");
  const latest = Math.max(...live.map((s) => s.immutableUntil.getTime()));
  const immutableUntil = live.length === 0 ? null : new Date(latest);
  const immutability = immutableUntil !== null && immutableUntil > delayEndsAt;
  return {
    dueAt: immutability ? immutableUntil : delayEndsAt,
    reason: immutability ? "immutability" : "delay",
    delayEndsAt,
    immutableUntil,
    held: live.filter((s) => s.state === "held").length,
  };
}

/** Started deletions resume; others run once due. By due time, then id. */
export function dueDeletions(
  pending: readonly TenantDeletion[],
  now: Date,
): readonly TenantDeletion[] {
  return pending
    .filter(
      (d) =>
        d.cancelledAt === null &&
        d.completedAt === null &&
        (d.startedAt !== null || d.dueAt <= now),
    )
    .sort((a, b) => a.dueAt.getTime() - b.dueAt.getTime() || a.id - b.id);
}

export type DeletionAction = "wait" | "run" | "resume" | "blocked";

export interface DeletionDecision {
  readonly action: DeletionAction;
  /** For a person: why it waits, what blocks it, or what running it does. */
  readonly reason: string;
}

/** What the deletion job does with one pending deletion of a tenant at `now`. */
export function decideDeletion(
  deletion: TenantDeletion,
  snapshots: readonly { readonly state: SnapshotState; readonly immutableUntil: Date }[],
  now: Date,
): DeletionDecision {
  if (deletion.startedAt !== null)
    return {
      action: "resume",
      reason: `started at ${deletion.startedAt.toISOString()}: removing what is left`,
    };
  if (!dueDeletions([deletion], now).includes(deletion))
    return {
      action: "wait",
      reason: `due at ${deletion.dueAt.toISOString()} (${deletion.reason === "immutability" ? "end of the immutability window" : "end of the delay"}); cancellable until then`,
    };
  const live = snapshots.filter((s) => s.state !== "deleted");
  const held = live.filter((s) => s.state === "held").length;
  if (held > 0)
    return {
      action: "blocked",
      reason: `${held} snapshot(s) are held: release the holds before the deletion can run`,
    };
  const immutable = live.filter((s) => s.immutableUntil > now);
  if (immutable.length > 0) {
    const until = new Date(Math.max(...immutable.map((s) => s.immutableUntil.getTime())));
    return {
      action: "blocked",
      reason: `${immutable.length} snapshot(s) are immutable until ${until.toISOString()}`,
    };
  }
  return {
    action: "run",
    reason: `due since ${deletion.dueAt.toISOString()}: deleting ${live.length} snapshot(s) and the tenant's store`,
  };
}
