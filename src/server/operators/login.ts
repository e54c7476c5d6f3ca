/**
 * POST /v1/login: password, then the TOTP code of an operator who enrolled one, under the
 * failed-login lockout (lockout.ts). Every attempt that opens no session counts as a failure,
 * whatever was wrong, and is audited with its source address; so is every login, and every login
 * refused under a lock (throttled per locked key: refusals.ts).
 */
import type { AuditActor, Catalog, Operator } from "../../catalog/catalog.js";
import type { LoginRequest, LoginResponse } from "../../protocol/api.js";
import { ApiError } from "../api-error.js";
import type { Budget } from "../budget.js";
import { verifyPassword } from "../passwords.js";
import { newToken } from "../tokens.js";
import { addressKey, lockedUntil, onFailure, userKey } from "./lockout.js";
import type { LockoutPolicy, OperatorSecurity } from "./policy.js";
import { auditLockedLogin } from "./refusals.js";
import { totpStep } from "./totp.js";

/**
 * Verified when the username is unknown, so that a login takes as long whether or not the
 * operator exists (a valid hash of nothing anyone can type).
 */
const DECOY_HASH = `scrypt$32768$8$1$${Buffer.alloc(16).toString("base64")}$${Buffer.alloc(32).toString("base64")}`;

export interface LoginContext {
  readonly catalog: Catalog;
  readonly security: OperatorSecurity;
  readonly passwordHashing: Budget;
  readonly now: Date;
}

type Refusal = { readonly reason: string; readonly message: string };

const WRONG_PASSWORD: Refusal = { reason: "password", message: "wrong username or password" };

export async function logIn(
  ctx: LoginContext,
  request: LoginRequest,
  address: string,
): Promise<LoginResponse> {
  const { catalog, security, now } = ctx;
  const keys = [
    {
      key: addressKey(address),
      policy: security.policy.addressLockout,
      what: `address ${address}`,
    },
    {
      key: userKey(request.username),
      policy: security.policy.userLockout,
      what: `username ${request.username}`,
    },
  ];
  const refuseIfLocked = async () => {
    for (const { key, what } of keys) {
      const until = lockedUntil(await catalog.getLoginThrottle(key), now);
      if (until === undefined) continue;
      await auditLockedLogin(security, { key, username: request.username, address, until }, now);
      throw locked(what, until, now);
    }
  };
  await refuseIfLocked();
  const operator = await catalog.getOperatorByUsername(request.username);
  const refusal = await check(ctx, operator, request);
  // Again once the password is checked: a burst of guesses sent at once all passed the first
  // check while waiting for scrypt, and the failures of those ahead of this one lock it now.
  await refuseIfLocked();
  if (refusal === undefined && operator !== undefined) {
    await catalog.clearLoginThrottle(userKey(request.username));
    return openSession(ctx, operator, address);
  }
  const reason = refusal ?? WRONG_PASSWORD;
  const counted = await Promise.all(keys.map(({ key, policy }) => fail(catalog, key, now, policy)));
  const lock = counted.find((throttle) => throttle.lockedUntil !== null);
  await catalog.appendAudit(
    {
      actor: actorOf(operator),
      action: "operator.login.failure",
      tenantId: null,
      details: {
        username: request.username.slice(0, 128),
        address,
        reason: reason.reason,
        failures: counted[1]?.failures ?? 0,
        ...(lock?.lockedUntil ? { locked_until: lock.lockedUntil.toISOString() } : {}),
      },
    },
    now,
  );
  const until = lock?.lockedUntil;
  throw new ApiError(
    "Unauthorized",
    until
      ? `${reason.message}; too many failures: logins are locked until ${until.toISOString()}`
      : reason.message,
    { reason: reason.reason, ...(until ? { locked_until: until.toISOString() } : {}) },
  );
}

/** Why this attempt opens no session, or undefined when it does. */
async function check(
  ctx: LoginContext,
  operator: Operator | undefined,
  request: LoginRequest,
): Promise<Refusal | undefined> {
  const matches = await ctx.passwordHashing.with(1, () =>
    verifyPassword(request.password, operator?.passwordHash ?? DECOY_HASH),
  );
  if (operator === undefined || operator.disabled || !matches) return WRONG_PASSWORD;
  if (operator.totp === null) return undefined;
  if (request.totp === undefined)
    return {
      reason: "totp-required",
      message: "this operator logs in with a TOTP code too: send totp",
    };
  const secret = ctx.security.secrets.open(operator.totp.secret, operator.id);
  const step = totpStep(secret, request.totp, ctx.now);
  if (step === undefined) return { reason: "totp-wrong", message: "wrong TOTP code" };
  if (!(await ctx.catalog.useTotpStep(operator.id, step)))
    return {
      reason: "totp-replayed",
      message: "this TOTP code was already used (or an earlier one was); wait for the next code",
    };
  return undefined;
}

async function openSession(ctx: LoginContext, operator: Operator, address: string) {
  const { token, hash } = newToken("session");
  const mfa = operator.totp !== null;
  const session = await ctx.catalog.createSession(
    {
      tokenHash: hash,
      operatorId: operator.id,
      expiresAt: new Date(ctx.now.getTime() + ctx.security.policy.sessionMs),
      mfa,
    },
    ctx.now,
  );
  await ctx.catalog.appendAudit(
    {
      actor: { kind: "operator", id: operator.id },
      action: "operator.login",
      tenantId: null,
      details: { address, mfa },
    },
    ctx.now,
  );
  return {
    token,
    expires_at: session.expiresAt.toISOString(),
    idle_timeout_seconds: Math.round(ctx.security.policy.sessionIdleMs / 1000),
    mfa,
  };
}

function fail(catalog: Catalog, key: string, now: Date, policy: LockoutPolicy) {
  return catalog.recordLoginFailure(
    key,
    now,
    new Date(now.getTime() - policy.forgetAfterMs),
    onFailure(now, policy),
  );
}

function actorOf(operator: Operator | undefined): AuditActor {
  return operator === undefined
    ? { kind: "system", id: "login" }
    : { kind: "operator", id: operator.id };
}

function locked(what: string, until: Date, now: Date): ApiError {
  const seconds = Math.max(1, Math.ceil((until.getTime() - now.getTime()) / 1000));
  return new ApiError(
    "RateLimited",
    `too many failed logins for this ${what}: locked until ${until.toISOString()}; try again then, or ask an administrator to run rempart admin operator unlock`,
    { reason: "locked", locked_until: until.toISOString() },
    { "Retry-After": String(seconds) },
  );
}
