/**
 * Requests refused before or after the caller is known, kept in the audit log: a stolen read-only
 * login or a narrow API token probing the admin routes, someone trying credentials against the
 * operator routes, a leaked or replayed enrollment token. The entries go through the refusals'
 * throttle (policy.ts, audit/throttled.ts), per operator or per address, so a script looping on a
 * refusal cannot flood the log; each entry counts the refusals it stands for.
 */
import { ApiError } from "../api-error.js";
import type { RouteAccess } from "./access.js";
import { type OperatorPrincipal, requireAccess } from "./authenticate.js";
import type { OperatorSecurity } from "./policy.js";

export interface RefusalContext {
  readonly security: OperatorSecurity;
  /** `GET /v1/audit`: the route's template, never the raw path. */
  readonly route: string;
  readonly address: string | null;
  readonly now: Date;
}

/** `requireAccess`, with its refusals audited as `operator.refused`. */
export async function requireAccessAudited(
  principal: OperatorPrincipal,
  access: RouteAccess,
  context: RefusalContext,
): Promise<void> {
  try {
    requireAccess(principal, access, context.security.policy);
  } catch (error) {
    if (error instanceof ApiError) await auditRefusal(principal, access, context, error);
    throw error;
  }
}

async function auditRefusal(
  principal: OperatorPrincipal,
  access: RouteAccess,
  context: RefusalContext,
  refusal: ApiError,
): Promise<void> {
  const { operator, credential } = principal;
  await context.security.refusals.append(
    `access ${operator.id}`,
    {
      actor: { kind: "operator", id: operator.id },
      action: "operator.refused",
      tenantId: null,
      details: {
        username: operator.username,
        route: context.route,
        reason: refusal.details?.reason ?? null,
        needed_role: access.role,
        needed_scope: access.scope,
        role: operator.role,
        credential: credential.kind,
        ...(credential.kind === "token"
          ? { token_id: credential.token.id, scopes: credential.token.scopes }
          : { mfa: credential.session.mfa }),
        address: context.address,
      },
    },
    context.now,
  );
}

/**
 * An operator route called without a credential that opens it (401, or another kind of token:
 * an agent's credential on an admin route is worth seeing). Keyed per address: the caller is not
 * known, and one scanner must not hide another's first entry.
 */
export async function auditUnauthenticated(
  context: RefusalContext,
  refusal: ApiError,
): Promise<void> {
  const address = context.address ?? "unknown";
  await context.security.refusals.append(
    `unauthenticated ${address}`,
    {
      actor: { kind: "system", id: "operator-auth" },
      action: "operator.unauthenticated",
      tenantId: null,
      details: {
        route: context.route,
        status: refusal.status,
        reason: refusal.details?.reason ?? null,
        ...(refusal.details?.offered === undefined ? {} : { offered: refusal.details.offered }),
        address: context.address,
      },
    },
    context.now,
  );
}

/**
 * An enrollment refused: a token that was never issued, already spent (a copy of it is out
 * there), expired, or of a tenant no longer active. Keyed per address, like a login.
 */
export async function auditRefusedEnrollment(
  security: OperatorSecurity,
  facts: {
    readonly reason: string;
    readonly hostname: string | null;
    readonly address: string | null;
  },
  now: Date,
): Promise<void> {
  await security.refusals.append(
    `enroll ${facts.address ?? "unknown"}`,
    {
      actor: { kind: "system", id: "enrollment" },
      action: "agent.enroll.refused",
      tenantId: null,
      details: {
        reason: facts.reason,
        hostname: facts.hostname?.slice(0, 255) ?? null,
        address: facts.address,
      },
    },
    now,
  );
}

/** A login refused because its username or address is locked out (lockout.ts). */
export async function auditLockedLogin(
  security: OperatorSecurity,
  facts: {
    readonly key: string;
    readonly username: string;
    readonly address: string;
    readonly until: Date;
  },
  now: Date,
): Promise<void> {
  await security.refusals.append(
    `login ${facts.key}`,
    {
      actor: { kind: "system", id: "login" },
      action: "operator.login.locked",
      tenantId: null,
      details: {
        username: facts.username.slice(0, 128),
        address: facts.address,
        locked: facts.key,
        locked_until: facts.until.toISOString(),
      },
    },
    now,
  );
}
