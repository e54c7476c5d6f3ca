/**
 * What `rempart admin` does to operators' second factor, lockouts and API tokens, on the server
 * machine (which no login reaches: whoever runs it holds the data directory). Every change is
 * audited; secrets are answered once and stored sealed (TOTP) or hashed (tokens).
 */
import type { ApiToken, Operator } from "../../catalog/catalog.js";
import { normalizeApiTokenScopes } from "../../catalog/catalog.js";
import { checkRole } from "../../catalog/validation.js";
import { RempartError } from "../../errors.js";
import type { AdminActor, AdminContext } from "../admin.js";
import { newToken } from "../tokens.js";
import { scopesBeyond } from "./access.js";
import { userKey } from "./lockout.js";
import type { SecretBox } from "./secret-box.js";
import { newTotpSecret, totpStep, totpUri } from "./totp.js";

async function operatorNamed(ctx: AdminContext, username: string): Promise<Operator> {
  const operator = await ctx.catalog.getOperatorByUsername(username);
  if (operator === undefined)
    throw new RempartError("NotFound", `there is no operator named ${username}`, { username });
  return operator;
}

async function audit(
  ctx: AdminContext,
  actor: AdminActor,
  action: string,
  details: Record<string, unknown>,
  now: Date,
): Promise<void> {
  await ctx.catalog.appendAudit({ actor: actor.audit, action, tenantId: null, details }, now);
}

/**
 * A new TOTP secret, pending until `confirmTotp` sees a code from it: until then the operator's
 * logins are as before, so a botched scan locks nobody out.
 */
export async function enrollTotp(
  ctx: AdminContext,
  actor: AdminActor,
  secrets: SecretBox,
  username: string,
): Promise<{ readonly uri: string; readonly secret: string }> {
  const operator = await operatorNamed(ctx, username);
  const secret = newTotpSecret();
  await ctx.catalog.setPendingTotp(operator.id, secrets.seal(secret, operator.id));
  await audit(
    ctx,
    actor,
    "operator.totp.enroll",
    { operator_id: operator.id, username },
    ctx.now(),
  );
  return { uri: totpUri(secret, operator.username), secret };
}

/** Activates the pending secret with its first code, which is spent by doing so. */
export async function confirmTotp(
  ctx: AdminContext,
  actor: AdminActor,
  secrets: SecretBox,
  username: string,
  code: string,
): Promise<void> {
  const operator = await operatorNamed(ctx, username);
  if (operator.totpPending === null)
    throw new RempartError(
      "NotFound",
      `${username} has no TOTP enrolment to confirm: run rempart admin operator totp enroll ${username}`,
      { reason: "no-pending-totp" },
    );
  const now = ctx.now();
  const step = totpStep(secrets.open(operator.totpPending, operator.id), code, now);
  if (step === undefined) {
    // A wrong first code is a typo or a clock off, or someone guessing at an enrolment: on record.
    await audit(
      ctx,
      actor,
      "operator.totp.confirm.failure",
      { operator_id: operator.id, username, reason: "totp-wrong" },
      now,
    );
    throw new RempartError(
      "InvalidArgument",
      "wrong TOTP code: type the 6 digits the app shows now (is the machine's clock right?)",
      { reason: "totp-wrong" },
    );
  }
  await ctx.catalog.confirmTotp(operator.id, step);
  await audit(ctx, actor, "operator.totp.confirm", { operator_id: operator.id, username }, now);
}

/** For a lost phone: the operator logs in with the password alone until they enrol again. */
export async function resetTotp(
  ctx: AdminContext,
  actor: AdminActor,
  username: string,
): Promise<void> {
  const operator = await operatorNamed(ctx, username);
  await ctx.catalog.removeTotp(operator.id);
  await audit(ctx, actor, "operator.totp.reset", { operator_id: operator.id, username }, ctx.now());
}

/** A demotion holds from the operator's next request, for their sessions and API tokens alike. */
export async function setOperatorRole(
  ctx: AdminContext,
  actor: AdminActor,
  username: string,
  role: string,
): Promise<void> {
  const operator = await operatorNamed(ctx, username);
  const checked = checkRole(role);
  await ctx.catalog.setOperatorRole(operator.id, checked);
  await audit(
    ctx,
    actor,
    "operator.role",
    { operator_id: operator.id, username, from: operator.role, to: checked },
    ctx.now(),
  );
}

/** Staff who leave: every session ends and their API tokens stop at their next request. */
export async function disableOperator(
  ctx: AdminContext,
  actor: AdminActor,
  username: string,
): Promise<void> {
  const operator = await operatorNamed(ctx, username);
  await ctx.catalog.disableOperator(operator.id);
  await audit(ctx, actor, "operator.disable", { operator_id: operator.id, username }, ctx.now());
}

/** Lifts the failed-login lock of a username (a flood aimed at it, or a forgetful operator). */
export async function unlockOperator(
  ctx: AdminContext,
  actor: AdminActor,
  username: string,
): Promise<void> {
  await ctx.catalog.clearLoginThrottle(userKey(username));
  await audit(ctx, actor, "operator.unlock", { username }, ctx.now());
}

export interface ApiTokenView {
  readonly id: string;
  readonly name: string;
  readonly operator: string;
  readonly scopes: readonly string[];
  readonly created_at: string;
  readonly expires_at: string | null;
  readonly revoked_at: string | null;
  readonly last_used_at: string | null;
}

function tokenView(token: ApiToken, operator: string): ApiTokenView {
  const iso = (date: Date | null) => date?.toISOString() ?? null;
  return {
    id: token.id,
    name: token.name,
    operator,
    scopes: token.scopes,
    created_at: token.createdAt.toISOString(),
    expires_at: iso(token.expiresAt),
    revoked_at: iso(token.revokedAt),
    last_used_at: iso(token.lastUsedAt),
  };
}

export interface NewApiTokenRequest {
  readonly name: string;
  /** Whose role bounds the token. */
  readonly username: string;
  readonly scopes: readonly string[];
  /** null: never expires. */
  readonly expiresInMs: number | null;
}

/** The token, shown this once: only its SHA-256 is kept. */
export async function createApiToken(
  ctx: AdminContext,
  actor: AdminActor,
  request: NewApiTokenRequest,
): Promise<{ readonly token: string; readonly view: ApiTokenView }> {
  const operator = await operatorNamed(ctx, request.username);
  const scopes = normalizeApiTokenScopes(request.scopes);
  const beyond = scopesBeyond(operator.role, scopes);
  if (beyond.length > 0)
    throw new RempartError(
      "InvalidArgument",
      `${operator.username} is ${operator.role} and may not give a token the scope ${beyond.join(", ")}`,
      { reason: "scope-beyond-role", scopes: beyond, role: operator.role },
    );
  const now = ctx.now();
  const { token, hash } = newToken("api");
  const created = await ctx.catalog.createApiToken(
    {
      name: request.name,
      tokenHash: hash,
      operatorId: operator.id,
      scopes,
      expiresAt:
        request.expiresInMs === null ? null : new Date(now.getTime() + request.expiresInMs),
    },
    now,
  );
  const view = tokenView(created, operator.username);
  await audit(
    ctx,
    actor,
    "api-token.create",
    {
      token_id: created.id,
      name: created.name,
      operator_id: operator.id,
      scopes,
      expires_at: view.expires_at,
    },
    now,
  );
  return { token, view };
}

export async function listApiTokens(ctx: AdminContext): Promise<ApiTokenView[]> {
  const names = new Map((await ctx.catalog.listOperators()).map((o) => [o.id, o.username]));
  return (await ctx.catalog.listApiTokens()).map((token) =>
    tokenView(token, names.get(token.operatorId) ?? token.operatorId),
  );
}

/** Effective at the token's next request; revoking twice keeps the first time. */
export async function revokeApiToken(
  ctx: AdminContext,
  actor: AdminActor,
  id: string,
): Promise<ApiTokenView> {
  const now = ctx.now();
  const token = await ctx.catalog.revokeApiToken(id, now);
  await audit(ctx, actor, "api-token.revoke", { token_id: id, name: token.name }, now);
  const operator = await ctx.catalog.getOperator(token.operatorId);
  return tokenView(token, operator?.username ?? token.operatorId);
}
