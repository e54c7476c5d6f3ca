/**
 * Deleting a tenant's data (offboarding, contract end): two steps, delayed, audited.
 *
 * 1. An admin requests it: the tenant goes `offboarding` at once (agents revoked, enrollment
 *    tokens void), and the deletion is due at the later of `now + delay` (at least 24 h) and the
 *    end of the last immutability window of its snapshots.
 * 2. Until then another admin may cancel it (never the requester: two-person rule).
 * 3. The deletion job (`runDeletions`) runs the due ones in three steps, each safe to repeat, so
 *    that a run killed anywhere is finished by the next: the catalog marks every snapshot
 *    deleted at once (refusing, with nothing changed, while one is held or immutable); the
 *    store directory is renamed aside, then removed; the catalog forgets the tenant's objects
 *    and sets it `deleted`. Each catalog step writes its audit entry in its own transaction.
 */
import type { AuditActor, Catalog, Tenant, TenantDeletion } from "../../catalog/catalog.js";
import { isRempartError, RempartError } from "../../errors.js";
import type { TenantStoreSet } from "../../storage/tenant-store-set.js";
import { type AdminActor, type AdminContext, tenantByName } from "../admin.js";
import {
  DEFAULT_DELETION_DELAY_MS,
  type DeletionAction,
  type DeletionPlan,
  decideDeletion,
  planTenantDeletion,
} from "./plan.js";
import { type DeletionView, deletionView } from "./view.js";

export async function operatorByUsername(catalog: Catalog, username: string) {
  const operator = await catalog.getOperatorByUsername(username);
  if (operator === undefined)
    throw new RempartError(
      "NotFound",
      `there is no operator named ${JSON.stringify(username)} (see rempart admin operator list)`,
      { username },
    );
  return operator;
}

export interface ScheduledDeletion {
  readonly tenant: string;
  readonly deletion: DeletionView;
  readonly plan: {
    readonly delay_ends_at: string;
    readonly immutable_until: string | null;
    readonly held_snapshots: number;
  };
}

/** Step 1: `requestedBy` is an admin's username. */
export async function requestTenantDeletion(
  ctx: AdminContext,
  actor: AdminActor,
  tenantName: string,
  options: { readonly requestedBy: string; readonly delayMs?: number | undefined },
): Promise<ScheduledDeletion> {
  const tenant = await tenantByName(ctx.catalog, tenantName);
  const requester = await operatorByUsername(ctx.catalog, options.requestedBy);
  const delayMs = options.delayMs ?? DEFAULT_DELETION_DELAY_MS;
  const now = ctx.now();
  const plan: DeletionPlan = planTenantDeletion(
    await ctx.catalog.listSnapshots(tenant.id),
    delayMs,
    now,
  );
  const deletion = await ctx.catalog.scheduleTenantDeletion(
    { tenantId: tenant.id, requestedBy: requester.id, dueAt: plan.dueAt, reason: plan.reason },
    {
      actor: actor.audit,
      details: {
        delay_seconds: Math.round(delayMs / 1000),
        immutable_until: plan.immutableUntil?.toISOString() ?? null,
        held_snapshots: plan.held,
      },
    },
    now,
  );
  return {
    tenant: tenant.name,
    deletion: await deletionView(ctx.catalog, deletion),
    plan: {
      delay_ends_at: plan.delayEndsAt.toISOString(),
      immutable_until: plan.immutableUntil?.toISOString() ?? null,
      held_snapshots: plan.held,
    },
  };
}

/** Step 2: `by` is an admin's username, not the requester's. */
export async function cancelTenantDeletion(
  ctx: AdminContext,
  actor: AdminActor,
  tenantName: string,
  by: string,
): Promise<{ readonly tenant: string; readonly deletion: DeletionView }> {
  const tenant = await tenantByName(ctx.catalog, tenantName);
  const canceller = await operatorByUsername(ctx.catalog, by);
  const deletion = await ctx.catalog.cancelTenantDeletion(
    tenant.id,
    canceller.id,
    { actor: actor.audit },
    ctx.now(),
  );
  return { tenant: tenant.name, deletion: await deletionView(ctx.catalog, deletion) };
}

export type DeletionOutcome = DeletionAction | "deleted" | "would-delete";

export interface DeletionReport {
  readonly tenant: string;
  readonly tenantId: string;
  readonly deletionId: number;
  readonly dueAt: Date;
  /** `wait`, `blocked`, `deleted`; in a dry run `would-delete` (or `resume` for a started one). */
  readonly outcome: DeletionOutcome;
  readonly reason: string;
  readonly snapshotsDeleted: number;
  readonly storeRemoved: boolean;
}

export interface DeletionContext {
  readonly catalog: Catalog;
  readonly stores: TenantStoreSet;
}

/**
 * The catalog step of a due deletion: every snapshot deleted at once, or none. A refusal (held,
 * immutable) is audited as `tenant.delete.refused` and answered as `blocked`.
 */
export async function startDeletion(
  ctx: DeletionContext,
  deletion: TenantDeletion,
  actor: AuditActor,
  now: Date,
): Promise<{ started: true; snapshots: number } | { started: false; reason: string }> {
  const before = (await ctx.catalog.listSnapshots(deletion.tenantId)).filter(
    (s) => s.state !== "deleted",
  ).length;
  try {
    await ctx.catalog.startTenantDeletion(deletion.id, { actor }, now);
    return { started: true, snapshots: before };
  } catch (error) {
    if (!isRempartError(error, "ObjectConflict")) throw error;
    await ctx.catalog.appendAudit(
      {
        actor,
        action: "tenant.delete.refused",
        tenantId: deletion.tenantId,
        details: {
          deletion_id: deletion.id,
          reason: String(error.details.reason ?? "refused"),
          message: error.message,
        },
      },
      now,
    );
    return { started: false, reason: error.message };
  }
}

/** The job: every pending deletion, each judged by `decideDeletion` at `now`. */
export async function runDeletions(
  ctx: DeletionContext,
  options: { readonly now: Date; readonly dryRun: boolean; readonly actor: AuditActor },
): Promise<DeletionReport[]> {
  const { now, dryRun, actor } = options;
  const reports: DeletionReport[] = [];
  for (const deletion of await ctx.catalog.listPendingTenantDeletions()) {
    const tenant: Tenant | undefined = await ctx.catalog.getTenant(deletion.tenantId);
    const snapshots = await ctx.catalog.listSnapshots(deletion.tenantId);
    const decision = decideDeletion(deletion, snapshots, now);
    const report = (outcome: DeletionOutcome, reason: string, snapshotsDeleted = 0) => ({
      tenant: tenant?.name ?? deletion.tenantId,
      tenantId: deletion.tenantId,
      deletionId: deletion.id,
      dueAt: deletion.dueAt,
      outcome,
      reason,
      snapshotsDeleted,
      storeRemoved: false,
    });
    if (decision.action === "wait" || dryRun) {
      const outcome = dryRun && decision.action === "run" ? "would-delete" : decision.action;
      reports.push(report(outcome, decision.reason));
      continue;
    }
    let snapshotsDeleted = 0;
    if (decision.action === "resume") {
      // Audits the resumption; there is nothing new to mark, as commits are refused meanwhile.
      await ctx.catalog.startTenantDeletion(deletion.id, { actor }, now);
    } else {
      // Run or blocked: the catalog decides, not this judgement (a hold released since counts).
      const started = await startDeletion(ctx, deletion, actor, now);
      if (!started.started) {
        reports.push(report("blocked", started.reason));
        continue;
      }
      snapshotsDeleted = started.snapshots;
    }
    const storeRemoved = await ctx.stores.destroy(deletion.tenantId);
    await ctx.catalog.completeTenantDeletion(
      deletion.id,
      { actor, details: { store_removed: storeRemoved } },
      now,
    );
    const what = `${decision.action === "resume" ? "resumed: " : ""}${snapshotsDeleted} snapshot(s) deleted, store ${storeRemoved ? "removed" : "already gone"}, tenant deleted`;
    reports.push({ ...report("deleted", what, snapshotsDeleted), storeRemoved });
  }
  return reports;
}
