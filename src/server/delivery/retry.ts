/**
 * When a failed delivery is tried again: exponential backoff with jitter, up to a bound, then it
 * is recorded as failed. Pure: the attempt count and a random number in [0, 1) are passed in.
 *
 * Jitter ("equal jitter": half the delay fixed, half random) spreads the retries of many alerts
 * raised together (a fleet-wide incident) so that a receiver coming back is not hit by all of
 * them at once.
 */
export interface RetryPolicy {
  /** The delay after the first failure. */
  readonly baseDelayMs: number;
  /** No delay grows beyond this. */
  readonly maxDelayMs: number;
  /** Attempts in all, the first included; the last failure is final. */
  readonly maxAttempts: number;
}

/** 30 s, 1 min, 2 min … capped at 1 h: 12 attempts span about 6 hours. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  baseDelayMs: 30_000,
  maxDelayMs: 3_600_000,
  maxAttempts: 12,
};

/** After `attempts` failed attempts: wait this long, or give up (`null`). */
export function retryDelayMs(attempts: number, random: number, policy: RetryPolicy): number | null {
  if (attempts >= policy.maxAttempts) return null;
  const delay = Math.min(policy.baseDelayMs * 2 ** (attempts - 1), policy.maxDelayMs);
  return Math.round(delay / 2 + (random * delay) / 2);
}
