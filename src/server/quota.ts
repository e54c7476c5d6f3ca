/**
 * Per-tenant quotas: what the catalog says is stored, plus what is being uploaded right now, may
 * not exceed the tenant's quota. Counting uploads in flight keeps concurrent uploads (eight
 * machines of one tenant) from all passing the same check.
 */
import type { Tenant } from "../catalog/catalog.js";
import { ApiError } from "./api-error.js";
import type { ServerContext } from "./context.js";

/** Reserves `bytes` for an upload; the function returned gives them back (once). */
export async function reserveQuota(
  ctx: ServerContext,
  tenant: Tenant,
  bytes: number,
): Promise<() => void> {
  const quota = tenant.quotaBytes;
  if (quota === null) return () => {};
  const stored = (await ctx.catalog.objectUsage(tenant.id)).totalBytes;
  // Read after the await, and checked and updated without another one: atomic in this process.
  const inFlight = ctx.uploadingBytes.get(tenant.id) ?? 0;
  if (stored + inFlight + bytes > quota)
    throw new ApiError(
      "QuotaExceeded",
      `tenant ${tenant.name} would exceed its quota of ${quota} bytes (${stored} stored, ${inFlight} being uploaded, ${bytes} more asked)`,
      {
        quota_bytes: quota,
        stored_bytes: stored,
        in_flight_bytes: inFlight,
        requested_bytes: bytes,
      },
    );
  ctx.uploadingBytes.set(tenant.id, inFlight + bytes);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const left = (ctx.uploadingBytes.get(tenant.id) ?? 0) - bytes;
    if (left > 0) ctx.uploadingBytes.set(tenant.id, left);
    else ctx.uploadingBytes.delete(tenant.id);
  };
}
