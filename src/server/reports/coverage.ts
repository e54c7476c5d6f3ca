/**
 * The coverage report: every client and machine with its last successful backup, its age against
 * the client's RPO, its last detection verdict and restore drill, and its status (status.ts),
 * worst first. Read from the catalog only; the decision is status.ts's pure function.
 */
import type { Agent, Alert, Catalog, RestoreDrill, Tenant } from "../../catalog/catalog.js";
import { MAX_PAGE } from "../../catalog/catalog.js";
import type { CoverageClient, CoverageMachine, CoverageReport } from "../../protocol/api.js";
import { drillView } from "../drills/drills.js";
import {
  type CoverageJudgement,
  coverageTotals,
  judgeMachine,
  statusRank,
  totalsSentence,
} from "./status.js";

export interface CoverageContext {
  readonly catalog: Catalog;
  readonly now: () => Date;
}

/** Open alerts counted against a machine: those about it, and those about its whole tenant. */
function openAlertsOf(open: readonly Alert[], agent: Agent): number {
  return open.filter(
    (a) => a.tenantId === agent.tenantId && (a.agentId === null || a.agentId === agent.id),
  ).length;
}

async function machineRow(
  ctx: CoverageContext,
  tenant: Tenant,
  agent: Agent,
  open: readonly Alert[],
  drills: ReadonlyMap<string, RestoreDrill>,
  now: Date,
): Promise<{ readonly row: CoverageMachine; readonly retired: boolean }> {
  const retired = agent.revokedAt !== null || agent.expiresAt.getTime() <= now.getTime();
  const [latest] = await ctx.catalog.listAgentSnapshots(tenant.id, agent.id, 1);
  const openAlerts = openAlertsOf(open, agent);
  const judgement = judgeMachine(
    tenant,
    {
      retired,
      lastSuccessAt: latest?.committedAt ?? null,
      lastOutcome: agent.lastBackupStatus,
      lastError: agent.lastError,
      openAlerts,
    },
    now,
  );
  const drill = drills.get(agent.id);
  const row: CoverageMachine = {
    agent_id: agent.id,
    hostname: agent.hostname,
    status: judgement.status,
    reason: judgement.reason,
    last_seen_at: agent.lastSeenAt?.toISOString() ?? null,
    last_backup_at: latest?.committedAt.toISOString() ?? null,
    age_seconds: judgement.ageSeconds,
    last_outcome: agent.lastBackupStatus,
    last_error: agent.lastError,
    detection_verdict: latest?.detection?.verdict ?? null,
    open_alerts: openAlerts,
    last_drill: drill === undefined ? null : drillView(drill),
  };
  return { row, retired };
}

function byStatus<T extends { status: CoverageJudgement["status"] }>(
  name: (row: T) => string,
): (a: T, b: T) => number {
  return (a, b) => statusRank(a.status) - statusRank(b.status) || name(a).localeCompare(name(b));
}

async function clientRow(
  ctx: CoverageContext,
  tenant: Tenant,
  open: readonly Alert[],
  drills: ReadonlyMap<string, RestoreDrill>,
  now: Date,
): Promise<CoverageClient> {
  const agents = await ctx.catalog.listAgents(tenant.id);
  const all = await Promise.all(
    agents.map((agent) => machineRow(ctx, tenant, agent, open, drills, now)),
  );
  // A retired agent of a current client is a machine replaced or removed: it is listed only
  // when nothing else is, so that a replaced PC never makes its client look unprotected.
  const working = all.filter((m) => !m.retired);
  const machines = (tenant.status === "active" && working.length > 0 ? working : all)
    .map((m) => m.row)
    .sort(byStatus((m) => m.hostname));
  const [worst] = machines;
  const judgement = worst ?? judgeMachine(tenant, undefined, now);
  return {
    tenant_id: tenant.id,
    tenant: tenant.name,
    tenant_status: tenant.status,
    rpo_seconds: tenant.rpoSeconds,
    status: judgement.status,
    reason:
      worst === undefined || machines.length === 1
        ? judgement.reason
        : `${worst.hostname}: ${worst.reason}`,
    machines,
  };
}

export async function coverageReport(ctx: CoverageContext): Promise<CoverageReport> {
  const now = ctx.now();
  const [tenants, open, drills] = await Promise.all([
    ctx.catalog.listTenants(),
    ctx.catalog.listAlerts({ open: true, limit: MAX_PAGE }),
    ctx.catalog.latestDrills(),
  ]);
  const clients = [];
  for (const tenant of tenants) clients.push(await clientRow(ctx, tenant, open, drills, now));
  clients.sort(byStatus((c) => c.tenant));
  const totals = coverageTotals(clients.map((c) => c.status));
  return {
    generated_at: now.toISOString(),
    summary: totalsSentence(totals),
    totals: {
      clients: totals.clients,
      protected: totals.protected,
      percent: totals.percent,
      offboarding: totals.offboarding,
      former: totals.former,
      by_status: totals.byStatus,
    },
    clients,
  };
}
