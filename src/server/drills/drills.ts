/**
 * Restore drills as the server sees them: an agent reports what it restored and verified, the
 * server records it (audited) and raises a `restore-drill` alert when it failed. The server never
 * restores anything itself: it holds no tenant key, so only the agent can prove a restore works.
 * What an agent reports is its word; the catalog checks only that the snapshot it names is one of
 * its tenant's. A compromised machine can report false successes, as it can fake its backups'
 * outcome, but never hide one of its failures from an operator once reported.
 */
import type { Agent, Catalog, RestoreDrill, Tenant } from "../../catalog/catalog.js";
import type { Drill, DrillRequest } from "../../protocol/api.js";

export interface DrillContext {
  readonly catalog: Catalog;
  readonly now: () => Date;
}

/**
 * MB (10^6 bytes) per second, as disk and network speeds are quoted; null for a failed drill
 * (what it restored before failing says nothing of the rate) or one without a duration.
 */
export function restoreRate(drill: RestoreDrill): number | null {
  if (!drill.ok || drill.durationMs === 0) return null;
  return Math.round((drill.bytes / 1e6 / (drill.durationMs / 1000)) * 100) / 100;
}

export function drillView(drill: RestoreDrill): Drill {
  return {
    id: drill.id,
    at: drill.at.toISOString(),
    snapshot_id: drill.snapshotId,
    ok: drill.ok,
    files: drill.files,
    bytes: drill.bytes,
    duration_ms: drill.durationMs,
    rate_mb_s: restoreRate(drill),
    error: drill.error,
  };
}

/** Records the agent's drill; a failed one also raises a high-severity alert about the agent. */
export async function recordDrillReport(
  ctx: DrillContext,
  tenant: Tenant,
  agent: Agent,
  request: DrillRequest,
): Promise<Drill> {
  const now = ctx.now();
  const drill = await ctx.catalog.recordDrill(
    {
      tenantId: tenant.id,
      agentId: agent.id,
      snapshotId: request.snapshot_id,
      ok: request.ok,
      files: request.files,
      bytes: request.bytes,
      durationMs: request.duration_ms,
      // A failure always says why, even from an agent that sent no error.
      error: request.ok ? null : (request.error ?? "the agent reported a failure without a reason"),
    },
    { actor: { kind: "agent", id: agent.id } },
    now,
  );
  if (!drill.ok)
    await ctx.catalog.raiseAlert(
      {
        tenantId: tenant.id,
        agentId: agent.id,
        snapshotId: drill.snapshotId,
        kind: "restore-drill",
        severity: "high",
        message: [
          `Restore drill failed on ${agent.hostname} (tenant ${tenant.name})${drill.snapshotId === null ? "" : ` for snapshot ${drill.snapshotId.slice(0, 12)}`}: ${drill.error}`,
          "Backups of this machine may not be restorable: run rempart check on the repository and restore a file by hand.",
        ].join("\n"),
        details: { drill_id: drill.id, files: drill.files, bytes: drill.bytes },
      },
      { actor: { kind: "system", id: "drills" } },
      now,
    );
  return drillView(drill);
}
