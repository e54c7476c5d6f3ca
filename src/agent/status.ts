/**
 * `rempart agent status`: what this machine's agent is and how it is doing. The enrollment comes
 * from the configuration, the last backup from the agent's own state (state.ts), and the server is
 * asked twice: whether it answers at all (health), and whether it still takes this machine's
 * credential (its own enrollment as the server holds it, the scopes and expiry included).
 */
import { isRempartError } from "../errors.js";
import { type AgentIdentity, type AgentScope, API_PREFIX, type Health } from "../protocol/api.js";
import { PinnedClient } from "../storage/http/pinned-client.js";
import { type AgentConfig, agentConnection } from "./config.js";
import { type AgentState, readAgentState } from "./state.js";

/** `valid`, a refusal's reason (credential-rejection.ts), or `unchecked` when the server is down. */
export type CredentialState =
  | "valid"
  | "revoked"
  | "expired"
  | "unknown"
  | "tenant-inactive"
  | "unchecked";

export interface AgentStatus {
  readonly server: string;
  readonly fingerprint: string;
  readonly agentId: string;
  readonly tenant: { readonly id: string; readonly name: string };
  readonly serverAnswers: boolean;
  readonly serverVersion: string | null;
  readonly credential: CredentialState;
  /** From the server, when it took the credential. */
  readonly scopes: readonly AgentScope[] | null;
  readonly expiresAt: string | null;
  /** Why the server is unreachable or refused the credential, with what to do. */
  readonly problem: string | null;
  readonly state: AgentState;
}

/** A person is waiting: one quick try each, no long retries. */
const QUICK = { retries: 0, timeoutMs: 15_000 } as const;

export async function agentStatus(config: AgentConfig, statePath: string): Promise<AgentStatus> {
  const base = {
    server: config.server,
    fingerprint: config.fingerprint,
    agentId: config.agentId,
    tenant: config.tenant,
    state: await readAgentState(statePath),
  };
  const client = new PinnedClient({ ...agentConnection(config), ...QUICK });
  try {
    let health: Health;
    try {
      health = await client.json<Health>("GET", `${API_PREFIX}/health`, undefined, true);
    } catch (error) {
      return {
        ...base,
        serverAnswers: false,
        serverVersion: null,
        credential: "unchecked",
        scopes: null,
        expiresAt: null,
        problem: messageOf(error),
      };
    }
    const answered = { ...base, serverAnswers: true, serverVersion: health.version };
    try {
      const self = await client.json<AgentIdentity>(
        "GET",
        `${API_PREFIX}/agent/self`,
        undefined,
        true,
      );
      return {
        ...answered,
        credential: "valid",
        scopes: self.scopes,
        expiresAt: self.expires_at,
        problem: null,
      };
    } catch (error) {
      if (!isRempartError(error, "CredentialRejected")) throw error;
      return {
        ...answered,
        credential: error.details.reason as CredentialState,
        scopes: null,
        expiresAt: null,
        problem: error.message,
      };
    }
  } finally {
    client.close();
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
