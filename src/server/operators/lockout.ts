/**
 * The failed-login lockout, as pure decisions. Failures are counted per username and per source
 * address; from the threshold on each failure locks the key for a delay that doubles, up to a
 * ceiling. A login under a locked key is refused before its password is checked and is not
 * counted, so a flood neither learns anything nor pushes the lock further out.
 *
 * The trade-off (docs/SECURITY.md): a stranger who knows a username can keep it locked by
 * failing on purpose; the ceiling bounds each lock, the address counter cuts a single flooding
 * address, every failure is audited with its address, and `rempart admin operator unlock` on
 * the server machine (which no lock reaches) lifts it.
 */
import type { LoginFailureDecision, LoginThrottle } from "../../catalog/catalog.js";
import type { LockoutPolicy } from "./policy.js";

export function userKey(username: string): string {
  return `user:${username.slice(0, 128)}`;
}

export function addressKey(address: string): string {
  return `addr:${address.slice(0, 64)}`;
}

/** When the lock of `failures` failures ends; null below the threshold. */
export function lockDelay(failures: number, policy: LockoutPolicy): number | null {
  if (failures < policy.threshold) return null;
  const doublings = Math.min(failures - policy.threshold, 30);
  return Math.min(policy.firstLockMs * 2 ** doublings, policy.maxLockMs);
}

/** The catalog's decision for one more failure at `now`. */
export function onFailure(now: Date, policy: LockoutPolicy): LoginFailureDecision {
  return (previous) => {
    const failures = previous === undefined ? 1 : previous.failures + 1;
    const delay = lockDelay(failures, policy);
    return { failures, lockedUntil: delay === null ? null : new Date(now.getTime() + delay) };
  };
}

/** The lock in force at `now`, if any. */
export function lockedUntil(throttle: LoginThrottle | undefined, now: Date): Date | undefined {
  const until = throttle?.lockedUntil;
  return until != null && until.getTime() > now.getTime() ? until : undefined;
}
