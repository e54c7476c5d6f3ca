/** An agent's own enrollment, and the agents an operator has not heard from for a while. */
import Type from "#typebox";
import { AgentIdentity, StaleAgent } from "../../protocol/api.js";
import { DEFAULT_STALE_MS, listStaleAgents } from "../agents/stale.js";
import { sendJson } from "../http.js";
import type { QueryOf, Route } from "../router.js";

export const agentSelf: Route = {
  method: "GET",
  path: "/v1/agent/self",
  auth: "agent",
  scope: "backup",
  summary:
    "The asking agent's enrollment as the server holds it: a credential check (`rempart agent status`)",
  responses: { 200: { description: "the agent", schema: AgentIdentity.schema } },
  errors: [],
  async handle({ res, who, ctx }) {
    const answer: AgentIdentity = {
      agent_id: who.agent.id,
      tenant_id: who.tenant.id,
      tenant_name: who.tenant.name,
      hostname: who.agent.hostname,
      scopes: who.agent.scopes,
      expires_at: who.agent.expiresAt.toISOString(),
      server_version: ctx.version,
    };
    sendJson(res, 200, answer);
  },
};

const StaleQuery = {
  unseen_for: Type.Integer({
    minimum: 0,
    maximum: 100 * 365 * 86_400,
    description: `seconds an agent has not been seen for (default ${DEFAULT_STALE_MS / 1000}, a week)`,
  }),
};

export const staleAgents: Route<never, QueryOf<typeof StaleQuery>> = {
  method: "GET",
  path: "/v1/agents",
  auth: "operator",
  role: "read-only",
  tokenScope: "read-only",
  summary:
    "Unrevoked agents of active tenants not seen for a while (any request counts), longest unseen first",
  queryParams: StaleQuery,
  responses: { 200: { description: "the agents", schema: Type.Array(StaleAgent.schema) } },
  errors: [],
  async handle({ res, query, ctx }) {
    const unseenForMs = query.unseen_for === undefined ? DEFAULT_STALE_MS : query.unseen_for * 1000;
    sendJson(res, 200, await listStaleAgents(ctx, unseenForMs));
  },
};
