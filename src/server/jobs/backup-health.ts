/**
 * Which machines and tenants an operator must be told about, as pure functions of what the
 * catalog holds and `now`: an agent whose last successful backup is older than its tenant's RPO
 * (or that never made one since it was enrolled that long ago), an agent whose last reported
 * backup failed after its last success, and a tenant above 90 % of its quota. A client that
 * silently stopped backing up is the one that loses everything: the server has to say so, as the
 * agent itself may be gone.
 *
 * The alert job (alerts-job.ts) raises one alert per finding unless one of the same kind about
 * the same agent (or, for quota, the same tenant) is still open, and resolves an open one whose
 * finding is gone (`judgeRecoveries`), saying why: the condition cleared, so the alert closes as
 * a monitoring system's would, kept as history; if the condition comes back, a new alert opens.
 */
import { type Agent, type Alert, isSelfResolving, type Tenant } from "../../catalog/catalog.js";
import type { AlertKind, AlertSeverity } from "../../protocol/constants.js";

const HOUR_MS = 3_600_000;

/** A tenant above this share of its quota is about to have its uploads refused. */
export const QUOTA_ALERT_RATIO = 0.9;

/** The tenant's recovery point objective (`admin tenant set-rpo`; 24 h unless set), in ms. */
export function rpoOf(tenant: Tenant): number {
  return tenant.rpoSeconds * 1000;
}

export interface AgentBackups {
  readonly agent: Agent;
  /** Commit time of the agent's newest snapshot (any state: a pruned one was still a success). */
  readonly lastSuccessAt: Date | null;
}

export interface Finding {
  readonly kind: Extract<AlertKind, "backup-stale" | "backup-failing" | "quota">;
  readonly severity: AlertSeverity;
  /** Null for a finding about the tenant (quota). */
  readonly agentId: string | null;
  readonly message: string;
  readonly details: Readonly<Record<string, unknown>>;
}

/** Hours, or days and hours past two days: how long ago, for a person. */
export function describeAge(ms: number): string {
  const hours = Math.floor(ms / HOUR_MS);
  if (hours < 48) return `${hours} h`;
  const rest = hours % 24;
  return `${Math.floor(hours / 24)} days${rest === 0 ? "" : ` ${rest} h`}`;
}

/**
 * What an agent reported, fit for an alert: its control characters but new lines as spaces (the
 * catalog refuses them in a message, and a terminal would run them).
 */
function plain(text: string): string {
  return text.replace(/[^\P{Cc}\n]/gu, " ");
}

/** Agents that count: not revoked and not expired (a revoked one is expected to stop). */
function isLive(agent: Agent, now: Date): boolean {
  return agent.revokedAt === null && agent.expiresAt > now;
}

/** Pure: the stale and failing agents of an active tenant. Other tenants have none. */
export function judgeAgents(
  tenant: Tenant,
  agents: readonly AgentBackups[],
  rpoMs: number,
  now: Date,
): Finding[] {
  if (tenant.status !== "active") return [];
  const findings: Finding[] = [];
  for (const { agent, lastSuccessAt } of agents) {
    if (!isLive(agent, now)) continue;
    const where = `${agent.hostname} (tenant ${tenant.name})`;
    const since = lastSuccessAt ?? agent.createdAt;
    const age = now.getTime() - since.getTime();
    if (age > rpoMs)
      findings.push({
        kind: "backup-stale",
        severity: "warning",
        agentId: agent.id,
        message:
          lastSuccessAt === null
            ? `${where} has never completed a backup since it was enrolled ${describeAge(age)} ago (RPO ${describeAge(rpoMs)}).`
            : `The last successful backup of ${where} is ${describeAge(age)} old, past its RPO of ${describeAge(rpoMs)}.`,
        details: {
          last_success_at: lastSuccessAt?.toISOString() ?? null,
          age_seconds: Math.floor(age / 1000),
          rpo_seconds: Math.floor(rpoMs / 1000),
        },
      });
    const failedAt = agent.lastBackupAt;
    if (
      agent.lastBackupStatus === "failure" &&
      failedAt !== null &&
      (lastSuccessAt === null || failedAt > lastSuccessAt)
    )
      findings.push({
        kind: "backup-failing",
        severity: "high",
        agentId: agent.id,
        message: `The last backup of ${where} failed at ${failedAt.toISOString()}: ${plain(agent.lastError ?? "no error given")}`,
        details: {
          failed_at: failedAt.toISOString(),
          error: agent.lastError,
          last_success_at: lastSuccessAt?.toISOString() ?? null,
        },
      });
  }
  return findings;
}

/** Pure: a finding when the tenant stores more than `QUOTA_ALERT_RATIO` of its quota. */
export function judgeQuota(tenant: Tenant, storedBytes: number): Finding | undefined {
  const quota = tenant.quotaBytes;
  if (tenant.status !== "active" || quota === null || storedBytes <= quota * QUOTA_ALERT_RATIO)
    return undefined;
  const percent = Math.floor((storedBytes / quota) * 100);
  return {
    kind: "quota",
    severity: storedBytes >= quota ? "high" : "warning",
    agentId: null,
    message: `Tenant ${tenant.name} stores ${storedBytes} bytes, ${percent} % of its quota of ${quota} bytes: its backups are refused once it is full.`,
    details: { stored_bytes: storedBytes, quota_bytes: quota, percent },
  };
}

/** The key under which at most one alert may be open. */
export function findingKey(finding: { kind: AlertKind; agentId: string | null }): string {
  return `${finding.kind}:${finding.agentId ?? "-"}`;
}

/** An open alert whose condition has cleared, and why, in a sentence for the alert's history. */
export interface Recovery {
  readonly alertId: number;
  readonly reason: string;
}

/**
 * Pure: which of the tenant's open alerts of a self-resolving kind no longer have a finding
 * (`findings`: what `judgeAgents` and `judgeQuota` say now), each with the fact that cleared it.
 * Other kinds (ransomware, misuse, drills) are never returned: a person closes those.
 */
export function judgeRecoveries(
  tenant: Tenant,
  open: readonly Alert[],
  findings: readonly Finding[],
  agents: readonly AgentBackups[],
  storedBytes: number,
  now: Date,
): Recovery[] {
  if (tenant.status !== "active") return [];
  const standing = new Set(findings.map(findingKey));
  const recoveries: Recovery[] = [];
  for (const alert of open) {
    if (!isSelfResolving(alert.kind) || standing.has(findingKey(alert))) continue;
    const backups = agents.find((a) => a.agent.id === alert.agentId);
    const reason =
      alert.kind === "quota"
        ? quotaCleared(tenant, storedBytes)
        : backups === undefined
          ? "the agent it was about is no longer listed"
          : agentCleared(alert.kind, backups, rpoOf(tenant), now);
    recoveries.push({ alertId: alert.id, reason });
  }
  return recoveries;
}

function agentCleared(kind: AlertKind, backups: AgentBackups, rpoMs: number, now: Date): string {
  const { agent, lastSuccessAt } = backups;
  if (agent.revokedAt !== null)
    return `agent ${agent.hostname} was revoked at ${agent.revokedAt.toISOString()}: a revoked agent is expected to stop`;
  if (!isLive(agent, now))
    return `the credential of agent ${agent.hostname} expired at ${agent.expiresAt.toISOString()}: it is expected to stop`;
  const success =
    lastSuccessAt === null
      ? undefined
      : `a backup of ${agent.hostname} was committed at ${lastSuccessAt.toISOString()}`;
  if (kind === "backup-stale")
    return `${success ?? `${agent.hostname} has not backed up yet`}, within its RPO of ${describeAge(rpoMs)}`;
  return success === undefined
    ? `the last backup ${agent.hostname} reported succeeded`
    : `${success}, after the failure`;
}

function quotaCleared(tenant: Tenant, storedBytes: number): string {
  const quota = tenant.quotaBytes;
  if (quota === null) return `tenant ${tenant.name} no longer has a quota`;
  const percent = Math.floor((storedBytes / quota) * 100);
  return `tenant ${tenant.name} stores ${storedBytes} bytes, ${percent} % of its quota of ${quota} bytes, at most ${QUOTA_ALERT_RATIO * 100} %`;
}
