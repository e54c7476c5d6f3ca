/**
 * The alert job: the findings of backup-health.ts raised as alerts through the catalog, at most
 * one open per agent and kind (per tenant for quota). An acknowledged alert whose cause is still
 * there is raised again on a later run: acknowledging says "seen", not "fixed". It also gives
 * flagged snapshots whose hold and alert a crash lost their response (missed-responses.ts).
 */
import type { AuditActor, Catalog, SnapshotRecord, Tenant } from "../../catalog/catalog.js";
import { MAX_PAGE } from "../../catalog/catalog.js";
import { respondToMissed } from "../detection/missed-responses.js";
import {
  type AgentBackups,
  type Finding,
  findingKey,
  judgeAgents,
  judgeQuota,
  rpoOf,
} from "./backup-health.js";
import { type JobOutcome, messageOf } from "./outcome.js";

const ACTOR: AuditActor = { kind: "system", id: "alerts" };

async function findingsOf(
  catalog: Catalog,
  tenant: Tenant,
  snapshots: readonly SnapshotRecord[],
  now: Date,
): Promise<Finding[]> {
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
  return [...judgeAgents(tenant, backups, rpoOf(tenant), now), ...(quota ? [quota] : [])];
}

/** Raises what is new; a tenant that fails is reported, the others are still judged. */
export async function raiseBackupAlerts(catalog: Catalog, now: Date): Promise<JobOutcome> {
  let raised = 0;
  let responded = 0;
  const failures: string[] = [];
  for (const tenant of await catalog.listTenants()) {
    if (tenant.status !== "active") continue;
    try {
      const snapshots = await catalog.listSnapshots(tenant.id);
      responded += await respondToMissed(catalog, tenant, snapshots, now);
      const open = await catalog.listAlerts({ tenantId: tenant.id, open: true, limit: MAX_PAGE });
      const openKeys = new Set(open.map(findingKey));
      for (const finding of await findingsOf(catalog, tenant, snapshots, now)) {
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
    summary: `${raised} alert(s) raised, ${responded} lost detection response(s) made`,
    counts: { alerts_raised: raised, detection_responses: responded },
    failures,
  };
}
