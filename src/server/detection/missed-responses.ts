/**
 * Responses a crash lost: the commit route records a snapshot with its verdict, then holds the
 * restore point and raises the alert (response.ts). A server killed between the two leaves a
 * flagged snapshot with neither. The alert job (jobs/alerts-job.ts) looks for such snapshots and
 * responds as the route would have, so a crash delays the hold and the alert by at most one run
 * of that job instead of losing them.
 *
 * Only snapshots committed at least `SETTLE_MS` ago are taken, so a response still running in
 * the route is never doubled; and only those of the last `LOOKBACK_MS`, so an old flagged
 * snapshot whose alert history has been paged past is not raised again.
 */
import type { Alert, Catalog, SnapshotRecord, Tenant } from "../../catalog/catalog.js";
import { MAX_PAGE } from "../../catalog/catalog.js";
import { HISTORY, respondToVerdict } from "./response.js";

export const SETTLE_MS = 2 * 60_000;
export const LOOKBACK_MS = 7 * 24 * 3_600_000;

function flagged(snapshot: SnapshotRecord): boolean {
  return snapshot.detection !== null && snapshot.detection.verdict !== "ok";
}

/** Ids of the snapshots the tenant's detection alerts since `since` are about. */
async function answeredSince(
  catalog: Catalog,
  tenantId: string,
  since: Date,
): Promise<Set<string>> {
  const answered = new Set<string>();
  let beforeId: number | undefined;
  for (;;) {
    const page: Alert[] = await catalog.listAlerts({
      tenantId,
      limit: MAX_PAGE,
      ...(beforeId === undefined ? {} : { beforeId }),
    });
    for (const alert of page) {
      if (alert.kind === "detection" && alert.snapshotId !== null) answered.add(alert.snapshotId);
    }
    const oldest = page.at(-1);
    if (page.length < MAX_PAGE || oldest === undefined || oldest.createdAt < since) return answered;
    beforeId = oldest.id;
  }
}

/** Holds and alerts for the tenant's flagged snapshots that have no alert; how many. */
export async function respondToMissed(
  catalog: Catalog,
  tenant: Tenant,
  snapshots: readonly SnapshotRecord[],
  now: Date,
): Promise<number> {
  const since = new Date(now.getTime() - LOOKBACK_MS);
  const settled = now.getTime() - SETTLE_MS;
  const candidates = snapshots.filter(
    (s) => flagged(s) && s.committedAt >= since && s.committedAt.getTime() <= settled,
  );
  if (candidates.length === 0) return 0;
  // Alerts are raised after their snapshot is committed, so none about a candidate is older.
  const answered = await answeredSince(catalog, tenant.id, since);
  const agents = new Map((await catalog.listAgents(tenant.id)).map((a) => [a.id, a]));
  let responded = 0;
  for (const snapshot of candidates) {
    const agent = agents.get(snapshot.agentId);
    if (answered.has(snapshot.id) || agent === undefined) continue;
    const series = await catalog.listAgentSnapshots(tenant.id, agent.id, HISTORY);
    const earlier = series.filter(
      (s) =>
        s.committedAt < snapshot.committedAt ||
        (s.committedAt.getTime() === snapshot.committedAt.getTime() && s.id < snapshot.id),
    );
    await respondToVerdict({ catalog, now: () => now }, tenant, agent, snapshot, earlier);
    responded += 1;
  }
  return responded;
}
