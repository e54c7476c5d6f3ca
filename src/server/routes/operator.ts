/** Operator routes (session token): thin doors onto admin.ts, which `rempart admin` shares. */
import Type from "#typebox";
import { MAX_PAGE } from "../../catalog/catalog.js";
import {
  Agent,
  AgentParam,
  AuditEntry,
  EnrollTokenRequest,
  EnrollTokenResponse,
  KeySlotResponse,
  Quarantine,
  QuarantineRequest,
  QuotaRequest,
  Tenant,
  TenantDetails,
  TenantParam,
  TenantRequest,
} from "../../protocol/api.js";
import {
  type AdminActor,
  type AdminContext,
  createEnrollmentToken,
  createTenant,
  listAgents,
  listTenants,
  readAudit,
  revokeAgent,
  setTenantQuota,
  showTenant,
} from "../admin.js";
import { ApiError } from "../api-error.js";
import { objectBodyLength, readObjectBody, sendJson } from "../http.js";
import { MAX_KEY_SLOT_BYTES } from "../key-slot-admission.js";
import { addKeySlot } from "../operator-keys.js";
import type { OperatorPrincipal } from "../operators/authenticate.js";
import { listQuarantines, quarantineAgent, releaseQuarantine } from "../quarantine/quarantine.js";
import type { QueryOf, Route } from "../router.js";

const AuditQuery = {
  tenant: Type.String({ description: "only this tenant's entries" }),
  limit: Type.Integer({
    minimum: 1,
    maximum: MAX_PAGE,
    description: `at most this many (default 100, at most ${MAX_PAGE})`,
  }),
  before: Type.Integer({
    minimum: 1,
    maximum: Number.MAX_SAFE_INTEGER,
    description: "entries with a smaller id (the next page)",
  }),
};

/** The operator, and the API token when they act through one (audited as its credential). */
export function actorOf(who: OperatorPrincipal): AdminActor {
  const { operator, credential } = who;
  const token =
    credential.kind === "token"
      ? {
          credential: {
            kind: "api-token" as const,
            id: credential.token.id,
            name: credential.token.name,
          },
        }
      : {};
  return { audit: { kind: "operator", id: operator.id, ...token }, operatorId: operator.id };
}

function param(params: Readonly<Record<string, string>>, name: string): string {
  const value = params[name];
  if (value === undefined) throw new ApiError("BadRequest", `the path lacks ${name}`);
  return value;
}

export const tenantsList: Route = {
  method: "GET",
  path: "/v1/tenants",
  auth: "operator",
  role: "read-only",
  tokenScope: "read-only",
  summary: "List every tenant",
  responses: {
    200: {
      description: "the tenants, by name",
      schema: Type.Array(Tenant.schema),
    },
  },
  errors: [],
  async handle({ res, ctx }) {
    sendJson(res, 200, await listTenants(ctx satisfies AdminContext));
  },
};

export const tenantsCreate: Route<TenantRequest> = {
  method: "POST",
  path: "/v1/tenants",
  auth: "operator",
  role: "admin",
  tokenScope: "tenant-admin",
  summary: "Create a tenant (admin role)",
  body: { contentType: "application/json", message: TenantRequest },
  responses: { 201: { description: "created", schema: Tenant.schema } },
  errors: ["Conflict", "UnsupportedMediaType", "PayloadTooLarge"],
  async handle({ res, who, ctx, body }) {
    sendJson(res, 201, await createTenant(ctx, actorOf(who), await body()));
  },
};

export const tenantShow: Route = {
  method: "GET",
  path: "/v1/tenants/{name}",
  auth: "operator",
  role: "read-only",
  tokenScope: "read-only",
  summary: "A tenant with its usage, snapshot counts and agents",
  params: { name: TenantParam },
  responses: { 200: { description: "the tenant", schema: TenantDetails.schema } },
  errors: ["NotFound"],
  async handle({ res, params, ctx }) {
    sendJson(res, 200, await showTenant(ctx, param(params, "name")));
  },
};

export const enrollTokenCreate: Route<EnrollTokenRequest> = {
  method: "POST",
  path: "/v1/tenants/{name}/enroll-tokens",
  auth: "operator",
  role: "technician",
  tokenScope: "tenant-admin",
  summary: "Issue a one-time enrollment token for a tenant",
  params: { name: TenantParam },
  body: { contentType: "application/json", message: EnrollTokenRequest },
  responses: {
    201: { description: "the token, shown this once", schema: EnrollTokenResponse.schema },
  },
  errors: ["NotFound", "UnsupportedMediaType", "PayloadTooLarge"],
  async handle({ res, params, who, ctx, body }) {
    const request = await body();
    sendJson(
      res,
      201,
      await createEnrollmentToken(ctx, actorOf(who), param(params, "name"), request),
    );
  },
};

export const agentsList: Route = {
  method: "GET",
  path: "/v1/tenants/{name}/agents",
  auth: "operator",
  role: "read-only",
  tokenScope: "read-only",
  summary: "A tenant's agents, revoked ones included",
  params: { name: TenantParam },
  responses: {
    200: {
      description: "the agents",
      schema: Type.Array(Agent.schema),
    },
  },
  errors: ["NotFound"],
  async handle({ res, params, ctx }) {
    sendJson(res, 200, await listAgents(ctx, param(params, "name")));
  },
};

export const agentRevoke: Route = {
  method: "POST",
  path: "/v1/agents/{id}/revoke",
  auth: "operator",
  role: "technician",
  tokenScope: "tenant-admin",
  summary: "Revoke an agent's credential, effective at its next request",
  params: { id: AgentParam },
  responses: { 200: { description: "the agent, revoked", schema: Agent.schema } },
  errors: ["NotFound"],
  async handle({ res, params, who, ctx }) {
    sendJson(res, 200, await revokeAgent(ctx, actorOf(who), param(params, "id")));
  },
};

export const auditList: Route<never, QueryOf<typeof AuditQuery>> = {
  method: "GET",
  path: "/v1/audit",
  auth: "operator",
  role: "read-only",
  tokenScope: "read-only",
  summary: "The audit log, newest first",
  queryParams: AuditQuery,
  responses: {
    200: {
      description: "entries",
      schema: Type.Array(AuditEntry.schema),
    },
  },
  errors: ["NotFound"],
  async handle({ res, query, ctx }) {
    const entries = await readAudit(ctx, {
      tenantName: query.tenant,
      limit: query.limit,
      beforeId: query.before,
    });
    sendJson(res, 200, entries);
  },
};

export const tenantQuotaSet: Route<QuotaRequest> = {
  method: "POST",
  path: "/v1/tenants/{name}/quota",
  auth: "operator",
  role: "admin",
  tokenScope: "tenant-admin",
  summary: "Set a tenant's quota (admin role); null: unlimited",
  params: { name: TenantParam },
  body: { contentType: "application/json", message: QuotaRequest },
  responses: { 200: { description: "the tenant", schema: Tenant.schema } },
  errors: ["NotFound", "UnsupportedMediaType", "PayloadTooLarge"],
  async handle({ res, params, who, ctx, body }) {
    const request = await body();
    sendJson(res, 200, await setTenantQuota(ctx, actorOf(who), param(params, "name"), request));
  },
};

export const keySlotAdd: Route = {
  method: "POST",
  path: "/v1/tenants/{name}/keys",
  auth: "operator",
  role: "admin",
  tokenScope: "tenant-admin",
  summary:
    "Add a key slot to a tenant's repository (admin role); the body is the slot's JSON, stored byte for byte",
  params: { name: TenantParam },
  body: { contentType: "application/octet-stream" },
  responses: {
    200: { description: "these bytes were already stored", schema: KeySlotResponse.schema },
    201: { description: "stored", schema: KeySlotResponse.schema },
  },
  errors: ["NotFound", "Conflict", "UnsupportedMediaType", "PayloadTooLarge"],
  async handle({ req, res, params, who, ctx }) {
    const length = objectBodyLength(req);
    if (length > MAX_KEY_SLOT_BYTES)
      throw new ApiError("PayloadTooLarge", `a key slot has at most ${MAX_KEY_SLOT_BYTES} bytes`, {
        limit: MAX_KEY_SLOT_BYTES,
      });
    const body = await readObjectBody(req, res, length, () => {});
    const answer = await addKeySlot(ctx, actorOf(who), param(params, "name"), body);
    sendJson(res, answer.outcome === "created" ? 201 : 200, answer);
  },
};

export const quarantineCreate: Route<QuarantineRequest> = {
  method: "POST",
  path: "/v1/tenants/{name}/quarantines",
  auth: "operator",
  role: "technician",
  tokenScope: "tenant-admin",
  summary:
    "Quarantine an agent (technician role): hide what it uploaded since a time from every agent's listings and reads; nothing is deleted",
  params: { name: TenantParam },
  body: { contentType: "application/json", message: QuarantineRequest },
  responses: { 201: { description: "the quarantine", schema: Quarantine.schema } },
  errors: ["NotFound", "Conflict", "UnsupportedMediaType", "PayloadTooLarge"],
  async handle({ res, params, who, ctx, body }) {
    const request = await body();
    sendJson(res, 201, await quarantineAgent(ctx, actorOf(who), param(params, "name"), request));
  },
};

export const quarantineRelease: Route = {
  method: "POST",
  path: "/v1/tenants/{name}/quarantines/{agent}/release",
  auth: "operator",
  role: "admin",
  tokenScope: "tenant-admin",
  summary: "Release an agent's quarantine (admin role): its objects are shown again",
  params: {
    name: TenantParam,
    agent: Type.String({ ...AgentParam, description: "the quarantined agent's id" }),
  },
  responses: { 200: { description: "the released quarantine", schema: Quarantine.schema } },
  errors: ["NotFound"],
  async handle({ res, params, who, ctx }) {
    sendJson(
      res,
      200,
      await releaseQuarantine(ctx, actorOf(who), param(params, "name"), param(params, "agent")),
    );
  },
};

export const quarantinesList: Route = {
  method: "GET",
  path: "/v1/tenants/{name}/quarantines",
  auth: "operator",
  role: "read-only",
  tokenScope: "read-only",
  summary: "A tenant's quarantines, released ones included, oldest first",
  params: { name: TenantParam },
  responses: {
    200: {
      description: "the quarantines",
      schema: Type.Array(Quarantine.schema),
    },
  },
  errors: ["NotFound"],
  async handle({ res, params, ctx }) {
    sendJson(res, 200, await listQuarantines(ctx, param(params, "name")));
  },
};
