/** A tenant deletion as operators see it: usernames instead of ids, wire-style snake_case. */
import type { Catalog, DeletionReason, TenantDeletion } from "../../catalog/catalog.js";

export interface DeletionView {
  readonly id: number;
  readonly requested_by: string;
  readonly requested_at: string;
  readonly due_at: string;
  /** `delay`, or `immutability` when a snapshot's window ends after the delay. */
  readonly reason: DeletionReason;
  /** Until `due_at`, by an admin other than the requester; null once it cannot be any more. */
  readonly cancellable_until: string | null;
  readonly cancelled_by: string | null;
  readonly cancelled_at: string | null;
  readonly started_at: string | null;
  readonly completed_at: string | null;
}

const iso = (date: Date | null): string | null => date?.toISOString() ?? null;

async function username(catalog: Catalog, id: string | null): Promise<string | null> {
  if (id === null) return null;
  return (await catalog.getOperator(id))?.username ?? id;
}

export async function deletionView(
  catalog: Catalog,
  deletion: TenantDeletion,
): Promise<DeletionView> {
  const over =
    deletion.cancelledAt !== null || deletion.startedAt !== null || deletion.completedAt !== null;
  return {
    id: deletion.id,
    requested_by: (await username(catalog, deletion.requestedBy)) ?? deletion.requestedBy,
    requested_at: deletion.requestedAt.toISOString(),
    due_at: deletion.dueAt.toISOString(),
    reason: deletion.reason,
    cancellable_until: over ? null : deletion.dueAt.toISOString(),
    cancelled_by: await username(catalog, deletion.cancelledBy),
    cancelled_at: iso(deletion.cancelledAt),
    started_at: iso(deletion.startedAt),
    completed_at: iso(deletion.completedAt),
  };
}

/** The deletion `tenant show` displays: the pending one, else the last one (history). */
export async function currentDeletion(
  catalog: Catalog,
  tenantId: string,
): Promise<DeletionView | null> {
  const all = await catalog.listTenantDeletions(tenantId);
  const pending = all.find((d) => d.cancelledAt === null && d.completedAt === null);
  const shown = pending ?? all.at(-1);
  return shown === undefined ? null : deletionView(catalog, shown);
}
