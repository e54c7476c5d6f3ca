/**
 * The alert job: the findings of backup-health.ts raised as alerts through the catalog, at most
 * one open per agent and kind (per tenant for quota), and the open ones whose finding is gone
 * resolved by the system with the fact that cleared them. An acknowledged alert whose cause is
 * still there is raised again on a later run: acknowledging says "seen", not "fixed". So a
 * stale or failing agent's alert closes at the first run after its next successful backup (15
 * minutes by default). It also gives flagged snapshots whose hold and alert a crash lost their
 * response (missed-responses.ts).
 */
import type { Alert, AuditActor, Catalog, SnapshotRecord, Tenant } from "../../catalog/catalog.js";
import { MAX_PAGE } from "../../catalog/catalog.js";
import { isRempartError } from "../../errors.js";
import { respondToMissed } from "../detection/missed-responses.js";
import {
  type AgentBackups,
  type Finding,
  findingKey,
  judgeAgents,
  judgeQuota,
  judgeRecoveries,
  type Recovery,
  rpoOf,
} from "./backup-health.js";
import { type JobOutcome, messageOf } from "./outcome.js";

const ACTOR: AuditActor = { kind: "system", id: "alerts" };

interface Judgement {
  readonly findings: readonly Finding[];
  readonly recoveries: readonly Recovery[];
}

async function judge(
  catalog: Catalog,
  tenant: Tenant,
  snapshots: readonly SnapshotRecord[],
  open: readonly Alert[],
  now: Date,
): Promise<Judgement> {
  const [agents, usage] = await Promise.all([
    catalog.listAgents(tenant.id),
    catalog.objectUsage(tenant.id),
  ]);
  const lastSuccess = new Map<string, Date>();
  for (const snapshot of snapshots) {
    const known = lastSuccess.get(snapshot.agentId);
    if (known === undefined || snapshot.committedAt > known)
      lastSuccess.set(snapshot.agentId, snapshot.committedAt);
  }
  const backups: AgentBackups[] = agents.map((agent) => ({
    agent,
    lastSuccessAt: lastSuccess.get(agent.id) ?? null,
  }));
  const quota = judgeQuota(tenant, usage.totalBytes);
  const findings = [...judgeAgents(tenant, backups, rpoOf(tenant), now), ...(quota ? [quota] : [])];
  return {
    findings,
    recoveries: judgeRecoveries(tenant, open, findings, backups, usage.totalBytes, now),
  };
}

/** False when an operator closed the alert in the meantime: it stays as they closed it. */
async function resolve(catalog: Catalog, recovery: Recovery, now: Date): Promise<boolean> {
  try {
    await catalog.resolveAlert(recovery.alertId, recovery.reason, { actor: ACTOR }, now);
    return true;
  } catch (error) {
    if (isRempartError(error, "ObjectConflict")) return false;
    throw error;
  }
}

/**
 * Resolves what has cleared, raises what is new; a tenant that fails is reported, the others are
 * still judged.
 */
export async function raiseBackupAlerts(catalog: Catalog, now: Date): Promise<JobOutcome> {
  let raised = 0;
  let resolved = 0;
  let responded = 0;
  const failures: string[] = [];
  for (const tenant of await catalog.listTenants()) {
    if (tenant.status !== "active") continue;
    try {
      const snapshots = await catalog.listSnapshots(tenant.id);
      responded += await respondToMissed(catalog, tenant, snapshots, now);
      const open = await catalog.listAlerts({ tenantId: tenant.id, open: true, limit: MAX_PAGE });
      const { findings, recoveries } = await judge(catalog, tenant, snapshots, open, now);
      for (const recovery of recoveries) if (await resolve(catalog, recovery, now)) resolved += 1;
      // A resolved alert's key has no finding: this set decides only what is raised.
      const openKeys = new Set(open.map(findingKey));
      for (const finding of findings) {
        if (openKeys.has(findingKey(finding))) continue;
        await catalog.raiseAlert(
          { tenantId: tenant.id, snapshotId: null, ...finding },
          { actor: ACTOR },
          now,
        );
        openKeys.add(findingKey(finding));
        raised += 1;
      }
    } catch (error) {
      failures.push(`tenant ${tenant.name}: ${messageOf(error)}`);
    }
  }
  return {
    summary: `${raised} alert(s) raised, ${resolved} resolved, ${responded} lost detection response(s) made`,
    counts: { alerts_raised: raised, alerts_resolved: resolved, detection_responses: responded },
    failures,
  };
}
