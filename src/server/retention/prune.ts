/**
 * The prune job: retention applied on the server, without tenant keys. The snapshots of one agent
 * form one series; each series is judged by `evaluateRetention` (pure, in policy.ts) with the
 * agent's effective policy and the server's `now`, then the snapshots it does not keep are marked
 * `deleted` in the catalog and their snapshot objects removed from the tenant's store.
 *
 * Order: the catalog first (listings stop showing the snapshot, and the catalog refuses the
 * change inside the immutability window or while held, whatever this code decided), the file
 * second. A run killed in between leaves a file of a deleted snapshot, which the next run removes.
 * Packs are not touched here: GC frees them once no snapshot needs them (src/server/gc/).
 */
import type {
  AuditActor,
  Catalog,
  PolicyRecord,
  SnapshotRecord,
  Tenant,
} from "../../catalog/catalog.js";
import { isRempartError } from "../../errors.js";
import type { TenantStoreSet } from "../../storage/tenant-store-set.js";
import { type EffectivePolicy, effectivePolicy } from "./effective.js";
import { evaluateRetention } from "./policy.js";

export interface PruneDecision {
  readonly id: string;
  readonly agentId: string;
  readonly committedAt: Date;
  readonly state: SnapshotRecord["state"];
  readonly keep: boolean;
  /** Which rules keep it; empty when it goes. */
  readonly reasons: readonly string[];
}

export interface SeriesPlan {
  readonly agentId: string;
  readonly policy: EffectivePolicy;
  /** Oldest first. */
  readonly decisions: readonly PruneDecision[];
}

/** Pure: every not-yet-deleted snapshot of the tenant with its mark, series by series. */
export function planPrune(
  tenant: Tenant,
  snapshots: readonly SnapshotRecord[],
  policies: readonly PolicyRecord[],
  now: Date,
): SeriesPlan[] {
  const series = new Map<string, SnapshotRecord[]>();
  for (const snapshot of snapshots) {
    if (snapshot.state === "deleted") continue;
    const list = series.get(snapshot.agentId) ?? [];
    list.push(snapshot);
    series.set(snapshot.agentId, list);
  }
  return [...series.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([agentId, list]) => {
      const policy = effectivePolicy(tenant, policies, agentId);
      const byId = new Map(list.map((s) => [s.id, s]));
      const decisions = evaluateRetention(
        list.map((s) => ({
          id: s.id,
          committedAt: s.committedAt,
          immutableUntil: s.immutableUntil,
          held: s.state === "held",
          knownGood: s.knownGood,
        })),
        policy.rules,
        now,
      ).map((decision) => {
        const record = byId.get(decision.id) as SnapshotRecord;
        return {
          id: decision.id,
          agentId,
          committedAt: record.committedAt,
          state: record.state,
          keep: decision.keep,
          reasons: decision.reasons,
        };
      });
      return { agentId, policy, decisions };
    });
}

export interface PruneContext {
  readonly catalog: Catalog;
  readonly stores: TenantStoreSet;
}

export interface PruneReport {
  readonly tenant: Tenant;
  readonly dryRun: boolean;
  readonly series: readonly SeriesPlan[];
  /** Marked deleted by this run (or, in a dry run, that would be). */
  readonly removed: readonly string[];
  /** Planned for removal but refused by the catalog (immutable or held meanwhile). */
  readonly refused: readonly { id: string; reason: string }[];
  /** Snapshot objects deleted from the store, leftovers of earlier runs included. */
  readonly filesDeleted: number;
}

const AUDITED_IDS = 200;

export async function pruneTenant(
  ctx: PruneContext,
  tenant: Tenant,
  options: { now: Date; dryRun: boolean; actor: AuditActor },
): Promise<PruneReport> {
  const { now, dryRun } = options;
  const [snapshots, policies] = await Promise.all([
    ctx.catalog.listSnapshots(tenant.id),
    ctx.catalog.listRetentionPolicies(tenant.id),
  ]);
  const series = planPrune(tenant, snapshots, policies, now);
  const doomed = series.flatMap((s) => s.decisions.filter((d) => !d.keep).map((d) => d.id));
  if (dryRun) return { tenant, dryRun, series, removed: doomed, refused: [], filesDeleted: 0 };

  const store = await ctx.stores.get(tenant.id);
  const removed: string[] = [];
  const refused: { id: string; reason: string }[] = [];
  for (const id of doomed) {
    try {
      await ctx.catalog.setSnapshotState(tenant.id, id, "deleted", now);
      removed.push(id);
    } catch (error) {
      if (!isRempartError(error, "ObjectConflict")) throw error;
      refused.push({ id, reason: error.message });
    }
  }
  // This run's deletions and any an earlier, killed run left on disk.
  let filesDeleted = 0;
  for (const snapshot of await ctx.catalog.listSnapshots(tenant.id)) {
    if (snapshot.state !== "deleted") continue;
    const ref = { kind: "snapshots" as const, name: snapshot.id };
    if ((await store.stat(ref)) === undefined) continue;
    await store.delete(ref);
    filesDeleted += 1;
  }
  if (removed.length > 0 || refused.length > 0 || filesDeleted > 0)
    await ctx.catalog.appendAudit(
      {
        actor: options.actor,
        action: "retention.prune",
        tenantId: tenant.id,
        details: {
          removed: removed.length,
          refused: refused.length,
          files_deleted: filesDeleted,
          kept: series.reduce((n, s) => n + s.decisions.filter((d) => d.keep).length, 0),
          removed_ids: removed.slice(0, AUDITED_IDS),
          refused_ids: refused.slice(0, AUDITED_IDS).map((r) => r.id),
        },
      },
      now,
    );
  return { tenant, dryRun, series, removed, refused, filesDeleted };
}
