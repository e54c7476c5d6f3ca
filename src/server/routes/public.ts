/** Routes without a credential: health, enrollment (the token is the credential) and login. */
import { isRempartError } from "../../errors.js";
import {
  EnrollRequest,
  EnrollResponse,
  Health,
  LoginRequest,
  LoginResponse,
} from "../../protocol/api.js";
import { agentView } from "../admin.js";
import { ApiError } from "../api-error.js";
import { sendJson } from "../http.js";
import { logIn } from "../operators/login.js";
import { auditRefusedEnrollment } from "../operators/refusals.js";
import type { Route } from "../router.js";
import { agentCredential, isWellFormedToken, newSecret, sha256Hex } from "../tokens.js";

/** Agents run unattended; a year between enrollments, and revocation for anything sooner. */
export const AGENT_CREDENTIAL_DAYS = 365;
const DAY_MS = 86_400_000;

export const health: Route = {
  method: "GET",
  path: "/v1/health",
  auth: "public",
  summary: "Liveness and version",
  responses: { 200: { description: "the server is up", schema: Health.schema } },
  errors: [],
  async handle({ res, ctx }) {
    const answer: Health = { status: "ok", version: ctx.version };
    sendJson(res, 200, answer);
  },
};

/** The refusals of `consumeEnrollmentToken`, as the wire names them and the audit log. */
function enrollRefusal(error: unknown): { answer: unknown; reason?: string } {
  if (isRempartError(error, "NotFound"))
    return {
      answer: new ApiError("Unauthorized", "this enrollment token is not valid"),
      reason: "unknown",
    };
  if (isRempartError(error, "ObjectConflict"))
    return {
      answer: new ApiError(
        "TokenUsed",
        "this enrollment token has already been used; ask for a new one",
      ),
      reason: "used",
    };
  if (isRempartError(error, "InvalidArgument") && error.details.reason === "expired")
    return {
      answer: new ApiError("TokenExpired", "this enrollment token has expired; ask for a new one", {
        expires_at: error.details.expiresAt,
      }),
      reason: "expired",
    };
  if (isRempartError(error, "InvalidArgument") && error.details.reason === "tenant-inactive")
    return {
      answer: new ApiError("Forbidden", "the tenant of this enrollment token is no longer active", {
        reason: "tenant-inactive",
      }),
      reason: "tenant-inactive",
    };
  return { answer: error };
}

export const enroll: Route<EnrollRequest> = {
  method: "POST",
  path: "/v1/enroll",
  auth: "public",
  summary: "Exchange a one-time enrollment token for an agent credential",
  body: { contentType: "application/json", message: EnrollRequest },
  responses: { 201: { description: "the agent is enrolled", schema: EnrollResponse.schema } },
  errors: [
    "Unauthorized",
    "TokenUsed",
    "TokenExpired",
    "Forbidden",
    "UnsupportedMediaType",
    "PayloadTooLarge",
  ],
  async handle({ req, res, ctx, body }) {
    // Checked before the token is spent: a typo in the hostname must not cost the token.
    const { hostname, version, ...request } = await body();
    const now = ctx.now();
    const refused = (reason: string) =>
      auditRefusedEnrollment(
        ctx.operatorSecurity,
        { reason, hostname, address: req.socket.remoteAddress ?? null },
        now,
      );
    if (!isWellFormedToken(request.token, "enroll")) {
      await refused("malformed");
      throw new ApiError("Unauthorized", "this is not an enrollment token (rmpe_…)");
    }
    const token = await ctx.catalog
      .consumeEnrollmentToken(sha256Hex(request.token), now)
      .catch(async (error: unknown) => {
        const { answer, reason } = enrollRefusal(error);
        if (reason !== undefined) await refused(reason);
        throw answer;
      });
    const tenant = await ctx.catalog.getTenant(token.tenantId);
    if (tenant === undefined) throw new ApiError("Internal", "the token's tenant is missing");
    const secret = newSecret();
    const agent = await ctx.catalog.createAgent(
      {
        tenantId: tenant.id,
        hostname,
        secretHash: sha256Hex(secret),
        scopes: token.scopes,
        expiresAt: new Date(now.getTime() + AGENT_CREDENTIAL_DAYS * DAY_MS),
        version,
      },
      now,
    );
    const view = agentView(agent);
    await ctx.catalog.appendAudit(
      {
        actor: { kind: "agent", id: agent.id },
        action: "agent.enroll",
        tenantId: tenant.id,
        details: { hostname, version, scopes: view.scopes, issued_by: token.createdBy },
      },
      now,
    );
    const answer: EnrollResponse = {
      agent_id: agent.id,
      credential: agentCredential(agent.id, secret),
      tenant: { id: tenant.id, name: tenant.name },
      scopes: agent.scopes,
      expires_at: view.expires_at,
    };
    sendJson(res, 201, answer);
  },
};

export const login: Route<LoginRequest> = {
  method: "POST",
  path: "/v1/login",
  auth: "public",
  summary:
    "Open an operator session with a username, password and (once enrolled) TOTP code; failures lock the username and the address out for a growing delay",
  body: { contentType: "application/json", message: LoginRequest },
  responses: { 200: { description: "a session token", schema: LoginResponse.schema } },
  errors: ["Unauthorized", "RateLimited", "UnsupportedMediaType", "PayloadTooLarge"],
  async handle({ req, res, ctx, body }) {
    const answer: LoginResponse = await logIn(
      {
        catalog: ctx.catalog,
        security: ctx.operatorSecurity,
        passwordHashing: ctx.passwordHashing,
        now: ctx.now(),
      },
      await body(),
      req.socket.remoteAddress ?? "unknown",
    );
    sendJson(res, 200, answer);
  },
};
