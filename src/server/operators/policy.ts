/**
 * How operators are let in: session lifetimes, the failed-login lockout, and whether admin
 * actions over HTTP need a second factor. docs/SERVER.md ("Operators") gives the reasons.
 */
import type { ThrottledAudit } from "../audit/throttled.js";
import type { SecretBox } from "./secret-box.js";

export interface LockoutPolicy {
  /** Failures under one key before the first lock. */
  readonly threshold: number;
  readonly firstLockMs: number;
  /** Each failure after the threshold doubles the lock, up to this. */
  readonly maxLockMs: number;
  /** A key with no failure for this long starts again from zero. */
  readonly forgetAfterMs: number;
}

export interface OperatorPolicy {
  /** A session ends this long after login, however busy. */
  readonly sessionMs: number;
  /** A session unused for this long ends. */
  readonly sessionIdleMs: number;
  /** Per username: a guessed password is locked out after a few tries. */
  readonly userLockout: LockoutPolicy;
  /** Per source address: one address spraying many usernames is cut too. */
  readonly addressLockout: LockoutPolicy;
  /** Routes that need the admin role refuse a session opened without a TOTP code. */
  readonly adminNeedsTotp: boolean;
}

const MINUTE = 60_000;

export const DEFAULT_OPERATOR_POLICY: OperatorPolicy = {
  sessionMs: 12 * 60 * MINUTE,
  sessionIdleMs: 30 * MINUTE,
  userLockout: {
    threshold: 5,
    firstLockMs: MINUTE,
    maxLockMs: 15 * MINUTE,
    forgetAfterMs: 24 * 60 * MINUTE,
  },
  addressLockout: {
    threshold: 20,
    firstLockMs: MINUTE,
    maxLockMs: 60 * MINUTE,
    forgetAfterMs: 24 * 60 * MINUTE,
  },
  adminNeedsTotp: true,
};

/**
 * The policy of a server listening on `host`. Admin routes need a TOTP session by default, except
 * on a loopback-only server (the embedded single-machine default, 127.0.0.1): whoever reaches it
 * is already on the machine, where `rempart admin` opens the catalog with no login at all.
 */
export function operatorPolicy(host: string, given: Partial<OperatorPolicy> = {}): OperatorPolicy {
  return { ...DEFAULT_OPERATOR_POLICY, adminNeedsTotp: !isLoopback(host), ...given };
}

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Operators' refusals a caller can repeat (a role too low, a locked login): one entry per key per 10 minutes. */
export const REFUSAL_AUDIT_EVERY_MS = 10 * MINUTE;

/**
 * What the server holds for operator logins: the policy, the key that seals TOTP secrets, and the
 * throttle of the refusals' audit entries (refusals.ts).
 */
export interface OperatorSecurity {
  readonly policy: OperatorPolicy;
  readonly secrets: SecretBox;
  readonly refusals: ThrottledAudit;
}
