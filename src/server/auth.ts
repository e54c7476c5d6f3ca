/**
 * Who is asking. Every credential is a bearer token whose prefix says its kind; the catalog holds
 * only SHA-256 hashes and compares them. Refusals are precise for a credential that was real
 * (expired, revoked, tenant offboarded: the right secret proves it) and uniform for anything
 * else, a known agent id with a wrong secret included.
 */
import type { Agent, AgentScope, Catalog, Tenant } from "../catalog/catalog.js";
import { misuseRefusal } from "./agents/misuse.js";
import { ApiError } from "./api-error.js";
import {
  bearerToken,
  parseAgentCredential,
  sha256Hex,
  type TokenKind,
  tokenKind,
} from "./tokens.js";

export interface AgentPrincipal {
  readonly agent: Agent;
  readonly tenant: Tenant;
}

const CHALLENGE = { "WWW-Authenticate": 'Bearer realm="rempart"' };

function unauthorized(message: string): ApiError {
  return new ApiError("Unauthorized", message, undefined, CHALLENGE);
}

const EXPECTED: Record<"agent" | "session", string> = {
  agent: "an agent credential (rmpa_…)",
  session: "an operator session (rmps_… from POST /v1/login)",
};

/** The bearer token, refused unless it is of the kind the route needs. */
function tokenOf(authorization: string | undefined, wanted: "agent" | "session"): string {
  const token = bearerToken(authorization);
  if (token === undefined)
    throw unauthorized(`this route needs an Authorization: Bearer header with ${EXPECTED[wanted]}`);
  const kind: TokenKind | undefined = tokenKind(token);
  if (kind === undefined) throw unauthorized("the bearer token is not a Rempart credential");
  if (kind !== wanted) {
    const refusal = new ApiError(
      "Forbidden",
      `this route needs ${EXPECTED[wanted]}, not a ${kind} token`,
      { needed: wanted, offered: kind },
    );
    // Operator routes name tenants in their paths: an agent credential there is reaching
    // outside its own tenant, which the agent program never does.
    if (kind === "agent") throw misuseRefusal("outside-tenant", "an operator route", refusal);
    throw refusal;
  }
  return token;
}

/** Why a real credential (its secret right) was refused. */
export type CredentialRefusal = "revoked" | "expired" | "tenant-inactive";

/** A credential whose secret is right, refused: its machine is still calling in. */
export interface RefusedAgent {
  readonly agent: Agent;
  readonly reason: CredentialRefusal;
}

/**
 * The agent the credential proves. `onRefused` hears of a credential whose secret is right but
 * which is refused (before the refusal is thrown): only its holder can cause that, so a wrong
 * secret never reaches it.
 */
export async function authenticateAgent(
  catalog: Catalog,
  authorization: string | undefined,
  now: Date,
  onRefused: (refused: RefusedAgent) => Promise<void> = async () => {},
): Promise<AgentPrincipal> {
  const parsed = parseAgentCredential(tokenOf(authorization, "agent"));
  if (parsed === undefined) throw unauthorized("the agent credential is malformed");
  const agent = await catalog.authenticateAgent(parsed.agentId, sha256Hex(parsed.secret), now);
  if (agent !== undefined) {
    const tenant = await catalog.getTenant(agent.tenantId);
    if (tenant?.status === "active") return { agent, tenant };
    await onRefused({ agent, reason: "tenant-inactive" });
    throw tenantInactive();
  }
  // Why a real credential is refused is told only to its holder: a wrong secret for a known id
  // gets the very answer an unknown id gets, so an agent id (in logs, audit entries, listings)
  // does not reveal whether, or since when, its agent is revoked or expired.
  const known = await catalog.identifyAgent(parsed.agentId, sha256Hex(parsed.secret));
  if (known === undefined) throw unauthorized("the agent credential is not valid");
  const reason = await refusalOf(catalog, known, now);
  // Every check passed on a second look: the state changed in between; refused all the same.
  if (reason === undefined) throw unauthorized("the agent credential is not valid");
  await onRefused({ agent: known, reason });
  throw refusalError(known, reason);
}

async function refusalOf(
  catalog: Catalog,
  agent: Agent,
  now: Date,
): Promise<CredentialRefusal | undefined> {
  if (agent.revokedAt !== null) return "revoked";
  if (agent.expiresAt.getTime() <= now.getTime()) return "expired";
  if ((await catalog.getTenant(agent.tenantId))?.status !== "active") return "tenant-inactive";
  return undefined;
}

function refusalError(agent: Agent, reason: CredentialRefusal): ApiError {
  switch (reason) {
    case "revoked":
      return new ApiError(
        "CredentialRevoked",
        `this agent credential was revoked at ${agent.revokedAt?.toISOString()}; enroll the machine again`,
        undefined,
        CHALLENGE,
      );
    case "expired":
      return new ApiError(
        "CredentialExpired",
        `this agent credential expired at ${agent.expiresAt.toISOString()}; enroll the machine again`,
        undefined,
        CHALLENGE,
      );
    case "tenant-inactive":
      return tenantInactive();
  }
}

function tenantInactive(): ApiError {
  return new ApiError("Forbidden", "this agent's tenant is no longer active (offboarded)", {
    reason: "tenant-inactive",
  });
}

export function requireScope(principal: AgentPrincipal, scope: AgentScope): void {
  if (!principal.agent.scopes.includes(scope))
    throw new ApiError("Forbidden", `this agent credential lacks the ${scope} scope`, {
      needed: scope,
      scopes: principal.agent.scopes,
    });
}
