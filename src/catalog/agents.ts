/** Agents (the machines of a tenant), their credentials and the enrollment tokens that make them. */

import type { AgentScope, BackupOutcome } from "../protocol/constants.js";

export {
  AGENT_SCOPES,
  type AgentScope,
  BACKUP_OUTCOMES,
  type BackupOutcome,
} from "../protocol/constants.js";

export interface EnrollmentToken {
  readonly tokenHash: string;
  readonly tenantId: string;
  /** The operator who issued it. */
  readonly createdBy: string;
  readonly createdAt: Date;
  readonly expiresAt: Date;
  readonly usedAt: Date | null;
  /** Sorted, without repeats, always containing `backup`. */
  readonly scopes: readonly AgentScope[];
}

export interface NewEnrollmentToken {
  readonly tokenHash: string;
  readonly tenantId: string;
  readonly createdBy: string;
  readonly expiresAt: Date;
  readonly scopes: readonly AgentScope[];
}

/**
 * A machine of a tenant. The secret's hash stays inside the catalog (`authenticateAgent` compares
 * it), so an agent record can be shown or serialized without leaking a credential.
 */
export interface Agent {
  readonly id: string;
  readonly tenantId: string;
  readonly hostname: string;
  readonly scopes: readonly AgentScope[];
  readonly createdAt: Date;
  readonly expiresAt: Date;
  readonly revokedAt: Date | null;
  readonly lastSeenAt: Date | null;
  readonly version: string | null;
  readonly lastBackupAt: Date | null;
  readonly lastBackupStatus: BackupOutcome | null;
  readonly lastError: string | null;
  /** The snapshot the last report named, as the agent said it. */
  readonly lastBackupSnapshotId: string | null;
  /**
   * Whether the last report's snapshot is one the catalog holds, committed by this agent: `false`
   * for a success or partial backup naming none, or a snapshot it did not commit (a stolen
   * credential claiming backups that never happened); `null` for a failure or no report.
   */
  readonly lastBackupVerified: boolean | null;
  /** The host name its last request gave (it may differ from `hostname`, the enrolled one). */
  readonly lastHost: string | null;
  /** The network address its last recorded request came from, as the server saw it. */
  readonly lastAddress: string | null;
}

export interface NewAgent {
  readonly tenantId: string;
  readonly hostname: string;
  readonly secretHash: string;
  readonly scopes: readonly AgentScope[];
  readonly expiresAt: Date;
  readonly version?: string | null;
}

export interface BackupReport {
  readonly at: Date;
  readonly status: BackupOutcome;
  /** At most `MAX_ERROR_LENGTH` characters; `null` when the backup succeeded. */
  readonly error: string | null;
  /** The snapshot the backup committed, by the agent's account; checked against the catalog. */
  readonly snapshotId?: string | null;
}

export interface AgentCheckIn {
  readonly version: string;
  /** Absent: the agent has no new result since its last check-in, and the last one is kept. */
  readonly lastBackup?: BackupReport;
}

/** What an agent's request says about where it comes from; absent parts keep the last ones. */
export interface AgentSighting {
  readonly host?: string;
  readonly version?: string;
  readonly address?: string;
}

/** The alerts raised about one agent at most once per quiet period. */
export const AGENT_ALERT_GATES = ["leftover", "misuse"] as const;
export type AgentAlertGate = (typeof AGENT_ALERT_GATES)[number];

/** Enrollment tokens and agents. */
export interface AgentCatalog {
  /** For an active tenant, by an enabled operator. */
  createEnrollmentToken(token: NewEnrollmentToken, now: Date): Promise<EnrollmentToken>;
  /**
   * Marks the token used and returns it, atomically: of any number of concurrent calls exactly one
   * succeeds. Refusals change nothing: unknown → `NotFound`; used → `ObjectConflict` (reason
   * `used`); `now >= expiresAt` → `InvalidArgument` (reason `expired`); tenant no longer active →
   * `InvalidArgument` (reason `tenant-inactive`). The reason is in `error.details.reason`.
   */
  consumeEnrollmentToken(tokenHash: string, now: Date): Promise<EnrollmentToken>;

  /** For an active tenant; `expiresAt` must be after `now`. */
  createAgent(agent: NewAgent, now: Date): Promise<Agent>;
  getAgent(id: string): Promise<Agent | undefined>;
  /** The tenant's agents, revoked ones included, by hostname. */
  listAgents(tenantId: string): Promise<Agent[]>;
  /** Idempotent: a second revocation keeps the first `revokedAt`. */
  revokeAgent(id: string, now: Date): Promise<void>;
  /** Revokes every unrevoked agent of the tenant at once (offboarding); returns how many. */
  revokeTenantAgents(tenantId: string, now: Date): Promise<number>;
  /**
   * The agent when `secretHash` matches, it is unrevoked, `now < expiresAt` and its tenant is
   * active; otherwise `undefined`, without saying which check failed.
   */
  authenticateAgent(id: string, secretHash: string, now: Date): Promise<Agent | undefined>;
  /** Records `now` as last seen, the agent's version and, when given, its last backup result. */
  recordAgentCheckIn(id: string, checkIn: AgentCheckIn, now: Date): Promise<void>;
  /** Records `now` as last seen, with where and as what the agent called from. */
  recordAgentSighting(id: string, sighting: AgentSighting, now: Date): Promise<void>;
  /**
   * Whether an alert of `gate` about the agent may be raised now, that is none was claimed in the
   * `quietMs` before `now`; a `true` claims it. Of concurrent calls at most one gets `true`.
   */
  claimAgentAlert(id: string, gate: AgentAlertGate, now: Date, quietMs: number): Promise<boolean>;
  /**
   * Unrevoked agents of active tenants not seen since `cutoff` (never seen: enrolled before it),
   * longest unseen first.
   */
  listUnseenAgents(cutoff: Date): Promise<Agent[]>;
  /**
   * The agent when `secretHash` is its secret, whatever its state (revoked, expired, tenant not
   * active); otherwise `undefined`. Lets the server tell a real credential why it is refused
   * while telling a wrong secret nothing.
   */
  identifyAgent(id: string, secretHash: string): Promise<Agent | undefined>;
}
