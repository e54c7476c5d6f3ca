/**
 * Operators' credentials on operator routes: a session (`rmps_…`, from POST /v1/login) or an API
 * token (`rmpt_…`, from `rempart admin token create`). Both are bearer tokens the catalog knows
 * only by SHA-256. A real credential that no longer works is told why (expired, idle, revoked):
 * holding its 256-bit secret proves it was issued to the caller.
 */
import type { ApiToken, Catalog, Operator, Session } from "../../catalog/catalog.js";
import { ApiError } from "../api-error.js";
import { bearerToken, isWellFormedToken, sha256Hex, tokenKind } from "../tokens.js";
import { type RouteAccess, roleAllows, scopesAllow } from "./access.js";
import type { OperatorPolicy } from "./policy.js";

export type OperatorCredential =
  | { readonly kind: "session"; readonly session: Session }
  | { readonly kind: "token"; readonly token: ApiToken };

export interface OperatorPrincipal {
  readonly operator: Operator;
  readonly credential: OperatorCredential;
}

const CHALLENGE = { "WWW-Authenticate": 'Bearer realm="rempart"' };
const EXPECTED = "an operator session (rmps_… from POST /v1/login) or API token (rmpt_…)";

/** Writes of `lastUsedAt` at most this often per credential: idle time is coarse, requests are not. */
const TOUCH_EVERY_MS = 60_000;

function unauthorized(message: string, reason?: string): ApiError {
  return new ApiError(
    "Unauthorized",
    message,
    reason === undefined ? undefined : { reason },
    CHALLENGE,
  );
}

export async function authenticateOperator(
  catalog: Catalog,
  policy: OperatorPolicy,
  authorization: string | undefined,
  now: Date,
): Promise<OperatorPrincipal> {
  const token = bearerToken(authorization);
  if (token === undefined)
    throw unauthorized(
      `this route needs an Authorization: Bearer header with ${EXPECTED}`,
      "missing",
    );
  const kind = tokenKind(token);
  if (kind === undefined)
    throw unauthorized("the bearer token is not a Rempart credential", "foreign");
  if (kind !== "session" && kind !== "api")
    throw new ApiError("Forbidden", `this route needs ${EXPECTED}, not an ${kind} token`, {
      reason: "credential-kind",
      needed: "operator",
      offered: kind,
    });
  if (!isWellFormedToken(token, kind))
    throw unauthorized(`the ${kind} token is malformed`, "malformed");
  return kind === "session"
    ? sessionPrincipal(catalog, policy, sha256Hex(token), now)
    : tokenPrincipal(catalog, sha256Hex(token), now);
}

async function sessionPrincipal(
  catalog: Catalog,
  policy: OperatorPolicy,
  hash: string,
  now: Date,
): Promise<OperatorPrincipal> {
  const found = await catalog.findSession(hash);
  if (found === undefined) throw unauthorized("the session is unknown; log in again", "unknown");
  const refusal = sessionRefusal(found.session, found.operator, now, policy);
  if (refusal !== undefined) throw unauthorized(refusal.message, refusal.reason);
  if (now.getTime() - found.session.lastUsedAt.getTime() >= TOUCH_EVERY_MS)
    await catalog.touchSession(hash, now);
  return { operator: found.operator, credential: { kind: "session", session: found.session } };
}

/** Why a session no longer opens anything at `now`, or undefined while it does. */
export function sessionRefusal(
  session: Session,
  operator: Operator,
  now: Date,
  policy: OperatorPolicy,
): { reason: string; message: string } | undefined {
  if (session.revoked || operator.disabled)
    return {
      reason: "ended",
      message:
        "this session was ended (logout, new password, disabled operator or TOTP change); log in again",
    };
  if (now.getTime() >= session.expiresAt.getTime())
    return {
      reason: "expired",
      message: `this session expired at ${session.expiresAt.toISOString()}; log in again`,
    };
  const idleUntil = session.lastUsedAt.getTime() + policy.sessionIdleMs;
  if (now.getTime() >= idleUntil)
    return {
      reason: "idle",
      message: `this session was unused for ${Math.round(policy.sessionIdleMs / 60_000)} minutes and ended at ${new Date(idleUntil).toISOString()}; log in again`,
    };
  return undefined;
}

async function tokenPrincipal(
  catalog: Catalog,
  hash: string,
  now: Date,
): Promise<OperatorPrincipal> {
  const found = await catalog.findApiToken(hash);
  if (found === undefined) throw unauthorized("the API token is not valid", "unknown");
  const { token, operator } = found;
  if (token.revokedAt !== null)
    throw unauthorized(`this API token was revoked at ${token.revokedAt.toISOString()}`, "revoked");
  if (token.expiresAt !== null && now.getTime() >= token.expiresAt.getTime())
    throw unauthorized(`this API token expired at ${token.expiresAt.toISOString()}`, "expired");
  if (operator.disabled)
    throw unauthorized(
      `this API token's operator ${operator.username} is disabled`,
      "operator-disabled",
    );
  if (token.lastUsedAt === null || now.getTime() - token.lastUsedAt.getTime() >= TOUCH_EVERY_MS)
    await catalog.touchApiToken(token.id, now);
  return { operator, credential: { kind: "token", token } };
}

/**
 * Refuses a caller the route's access does not cover. An admin route also needs a session opened
 * with a TOTP code when the policy says so; an API token is not a login and has no second factor
 * to show (it is made on the server machine, and bounded by its scopes and expiry instead).
 */
export function requireAccess(
  principal: OperatorPrincipal,
  access: RouteAccess,
  policy: OperatorPolicy,
): void {
  const { operator, credential } = principal;
  if (!roleAllows(operator.role, access.role))
    throw new ApiError(
      "Forbidden",
      `this needs the ${access.role} role; ${operator.username} is ${operator.role}`,
      { reason: "role", needed: access.role, role: operator.role },
    );
  if (credential.kind === "token") {
    if (!scopesAllow(credential.token.scopes, access.scope))
      throw new ApiError(
        "Forbidden",
        `this API token's scopes (${credential.token.scopes.join(", ")}) do not include ${access.scope}`,
        { reason: "scope", needed: access.scope, scopes: credential.token.scopes },
      );
    return;
  }
  if (access.role === "admin" && policy.adminNeedsTotp && !credential.session.mfa)
    throw new ApiError(
      "Forbidden",
      operator.totp === null
        ? `admin actions over HTTP need TOTP: enrol it on the server (rempart admin operator totp enroll ${operator.username}) and log in with a code`
        : "admin actions over HTTP need a session opened with a TOTP code; log in again with your code",
      { reason: "totp-required" },
    );
}
