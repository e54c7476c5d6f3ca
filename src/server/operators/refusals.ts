/**
 * Operators' requests refused for what the caller may do, kept in the audit log: a stolen
 * read-only login or a narrow API token probing the admin routes shows there. The entries go
 * through the refusals' throttle (policy.ts, audit/throttled.ts), per operator, so a script
 * looping on a refused route cannot flood the log; each entry counts the refusals it stands for.
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
