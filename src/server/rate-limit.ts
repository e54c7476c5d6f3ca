/**
 * Rate limits as token buckets, with the time passed in (tests move it; nothing here reads a
 * clock). A bucket holds at most `burst` tokens and gains one every `intervalMs`; each request
 * takes one, and a request that finds none is refused with the time until the next one.
 *
 * Snapshot commits are limited per agent: each one costs a pack check (up to hundreds of thousands
 * of catalog lookups), a stored object and catalog rows, and a normal agent commits a few times a
 * day. A stolen credential committing in a loop is refused, and recorded (at most once per agent
 * per `auditEveryMs`, so the refusals cannot flood the audit log in turn).
 */

export interface RateRule {
  /** Requests accepted at once after a quiet period. */
  readonly burst: number;
  /** One more request is accepted every this many milliseconds. */
  readonly intervalMs: number;
}

export interface Bucket {
  readonly tokens: number;
  /** When `tokens` was counted. */
  readonly at: number;
}

export type Decision =
  | { readonly allowed: true; readonly bucket: Bucket }
  | { readonly allowed: false; readonly bucket: Bucket; readonly retryAfterMs: number };

export function checkRule(rule: RateRule): RateRule {
  if (!Number.isSafeInteger(rule.burst) || rule.burst < 1)
    throw new RangeError(`a rate limit's burst must be a positive whole number, not ${rule.burst}`);
  if (!Number.isFinite(rule.intervalMs) || rule.intervalMs <= 0)
    throw new RangeError(`a rate limit's interval must be positive, not ${rule.intervalMs}`);
  return rule;
}

/** The bucket after the time since it was counted, then one request at `now`. */
export function takeToken(rule: RateRule, bucket: Bucket | undefined, now: number): Decision {
  const elapsed = bucket === undefined ? Number.POSITIVE_INFINITY : Math.max(0, now - bucket.at);
  const tokens = Math.min(rule.burst, (bucket?.tokens ?? rule.burst) + elapsed / rule.intervalMs);
  if (tokens >= 1) return { allowed: true, bucket: { tokens: tokens - 1, at: now } };
  return {
    allowed: false,
    bucket: { tokens, at: now },
    retryAfterMs: Math.ceil((1 - tokens) * rule.intervalMs),
  };
}

/** Buckets by key (an agent id). A bucket that has refilled is the same as none and is dropped. */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(readonly rule: RateRule) {
    checkRule(rule);
  }

  take(key: string, now: number): Decision {
    const decision = takeToken(this.rule, this.buckets.get(key), now);
    this.buckets.set(key, decision.bucket);
    if (this.buckets.size > 10_000) this.forgetFull(now);
    return decision;
  }

  private forgetFull(now: number): void {
    const refill = this.rule.burst * this.rule.intervalMs;
    for (const [key, bucket] of this.buckets)
      if (now - bucket.at >= refill) this.buckets.delete(key);
  }
}

export const HOUR_MS = 3_600_000;

export type CommitDecision =
  | { readonly allowed: true }
  | {
      readonly allowed: false;
      readonly retryAfterMs: number;
      /** Set when this refusal should be recorded: how many were refused since the last record. */
      readonly record?: { readonly refusedSinceLast: number };
    };

/** The commit limit per agent, and when a refusal is worth an audit entry. */
export class CommitRateLimit {
  private readonly commits: RateLimiter;
  private readonly records: RateLimiter;
  private readonly unrecorded = new Map<string, number>();

  constructor(rule: RateRule, auditEveryMs = HOUR_MS) {
    this.commits = new RateLimiter(rule);
    this.records = new RateLimiter({ burst: 1, intervalMs: auditEveryMs });
  }

  get rule(): RateRule {
    return this.commits.rule;
  }

  check(agentId: string, now: number): CommitDecision {
    const decision = this.commits.take(agentId, now);
    if (decision.allowed) return { allowed: true };
    const refusedSinceLast = (this.unrecorded.get(agentId) ?? 0) + 1;
    if (!this.records.take(agentId, now).allowed) {
      this.unrecorded.set(agentId, refusedSinceLast);
      return { allowed: false, retryAfterMs: decision.retryAfterMs };
    }
    this.unrecorded.delete(agentId);
    return { allowed: false, retryAfterMs: decision.retryAfterMs, record: { refusedSinceLast } };
  }
}
