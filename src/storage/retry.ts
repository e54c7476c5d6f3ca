/**
 * Trying an idempotent operation again after a failure a later attempt may not meet (a network
 * failure, a server restarting or busy), with exponential backoff and jitter. This module decides
 * when to try again and how long to wait; what counts as transient is the caller's to say (the
 * HTTP client: network errors, 5xx, 408, 429), since only it knows the failures' shapes.
 *
 * Only idempotent operations may be wrapped: an attempt whose answer was lost may have happened.
 */
import { randomInt } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";

export interface Backoff {
  /** the ceiling of the first wait; each later one doubles it */
  readonly firstMs: number;
  /** no wait is longer than this */
  readonly maxMs: number;
}

export interface RetryNotice {
  /** the attempt that failed, from 1 */
  readonly attempt: number;
  readonly delayMs: number;
  readonly reason: string;
}

/** How a failed attempt reads: try again (at least `notBeforeMs` later, a server's Retry-After). */
export interface Transient {
  readonly reason: string;
  readonly notBeforeMs?: number;
}

export interface RetryOptions<T> {
  /** further attempts after the first */
  readonly retries: number;
  readonly backoff: Backoff;
  /** a result that is a transient failure (an HTTP 503), or undefined for a final one */
  readonly transientResult?: (result: T) => Transient | undefined;
  /** a thrown error that is a transient failure, or undefined to throw it at once */
  readonly transientError: (error: unknown) => Transient | undefined;
  /** the error to throw once every attempt has failed with a transient error */
  readonly exhausted: (last: Transient, attempts: number, error: unknown) => unknown;
  /** told before each wait, so a caller can say why it is waiting */
  readonly onRetry?: (notice: RetryNotice) => void;
}

/**
 * The wait after `failures` consecutive failures (1 or more): a random duration in the upper half
 * of firstMs·2^(failures−1), capped at maxMs. The jitter keeps agents that a server restart cut
 * off together from all coming back at the same instant; the lower bound keeps the backoff real.
 */
export function backoffDelay(backoff: Backoff, failures: number): number {
  const ceiling = Math.min(backoff.maxMs, backoff.firstMs * 2 ** Math.max(0, failures - 1));
  const half = Math.ceil(ceiling / 2);
  return Math.min(ceiling, half + randomInt(half + 1));
}

/**
 * Runs `attempt` until it gives a final result or error, or `retries` further attempts have failed
 * transiently: then a transient result is returned as it is, a transient error becomes
 * `exhausted(…)`.
 */
export async function retrying<T>(attempt: () => Promise<T>, options: RetryOptions<T>): Promise<T> {
  const attempts = options.retries + 1;
  for (let made = 1; ; made++) {
    let transient: Transient;
    try {
      const result = await attempt();
      const failed = options.transientResult?.(result);
      if (failed === undefined || made >= attempts) return result;
      transient = failed;
    } catch (error) {
      const failed = options.transientError(error);
      if (failed === undefined) throw error;
      if (made >= attempts) throw options.exhausted(failed, attempts, error);
      transient = failed;
    }
    const delayMs = Math.max(transient.notBeforeMs ?? 0, backoffDelay(options.backoff, made));
    options.onRetry?.({ attempt: made, delayMs, reason: transient.reason });
    await sleep(delayMs);
  }
}
