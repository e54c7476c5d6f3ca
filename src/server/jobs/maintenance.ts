/**
 * The destructive jobs the server runs on its own schedule, the same code as `rempart admin
 * prune`, `gc` and `run-deletions`: retention, garbage collection of packs, and the tenant
 * deletions that are due. Each goes through every tenant; one tenant's failure is reported and
 * the others still run. The caller holds the maintenance lock (runner.ts).
 */
import type { AuditActor, Catalog } from "../../catalog/catalog.js";
import type { TenantStoreSet } from "../../storage/tenant-store-set.js";
import { collectTenant } from "../gc/gc.js";
import { runDeletions } from "../offboarding/offboarding.js";
import { pruneTenant } from "../retention/prune.js";
import { type JobOutcome, messageOf } from "./outcome.js";

export interface MaintenanceContext {
  readonly catalog: Catalog;
  readonly stores: TenantStoreSet;
}

const actor = (job: string): AuditActor => ({ kind: "system", id: job });

async function liveTenants(catalog: Catalog) {
  return (await catalog.listTenants()).filter((t) => t.status !== "deleted");
}

export async function pruneJob(ctx: MaintenanceContext, now: Date): Promise<JobOutcome> {
  let removed = 0;
  let files = 0;
  const failures: string[] = [];
  for (const tenant of await liveTenants(ctx.catalog)) {
    try {
      const report = await pruneTenant(ctx, tenant, { now, dryRun: false, actor: actor("prune") });
      removed += report.removed.length;
      files += report.filesDeleted;
    } catch (error) {
      failures.push(`tenant ${tenant.name}: ${messageOf(error)}`);
    }
  }
  return {
    summary: `${removed} snapshot(s) removed, ${files} snapshot file(s) deleted`,
    counts: { freed_objects: files, freed_bytes: 0, snapshots_removed: removed },
    failures,
  };
}

export async function gcJob(
  ctx: MaintenanceContext,
  now: Date,
  graceMs: number,
): Promise<JobOutcome> {
  let packs = 0;
  let bytes = 0;
  const failures: string[] = [];
  for (const tenant of await liveTenants(ctx.catalog)) {
    try {
      const report = await collectTenant(ctx, tenant, {
        now,
        graceMs,
        dryRun: false,
        actor: actor("gc"),
      });
      packs += report.packs + report.strayFiles;
      bytes += report.bytes + report.strayBytes;
    } catch (error) {
      failures.push(`tenant ${tenant.name}: ${messageOf(error)}`);
    }
  }
  return {
    summary: `${packs} pack(s) freed, ${bytes} bytes`,
    counts: { freed_objects: packs, freed_bytes: bytes },
    failures,
  };
}

export async function deletionsJob(ctx: MaintenanceContext, now: Date): Promise<JobOutcome> {
  const reports = await runDeletions(ctx, { now, dryRun: false, actor: actor("deletions") });
  const deleted = reports.filter((r) => r.outcome === "deleted");
  const blocked = reports.filter((r) => r.outcome === "blocked");
  return {
    summary: `${deleted.length} tenant(s) deleted, ${blocked.length} blocked`,
    counts: {
      tenants_deleted: deleted.length,
      tenants_blocked: blocked.length,
      freed_objects: deleted.reduce((n, r) => n + r.snapshotsDeleted, 0),
      freed_bytes: 0,
    },
    // A blocked deletion (a held snapshot) waits for an admin: it is not the job failing.
    failures: [],
  };
}
