/**
 * Per-tenant quotas: what the catalog says is stored, plus what is being uploaded right now, may
 * not exceed the tenant's quota. Counting uploads in flight keeps concurrent uploads (eight
 * machines of one tenant) from all passing the same check.
 *
 * Two safe defaults bound what one stolen agent credential can fill:
 * - a tenant created without a quota gets `DEFAULT_TENANT_QUOTA` (the server's
 *   `--default-quota`): 1 TiB holds years of deduplicated history of a typical small-business
 *   file server, and stops one machine's credential from taking a whole shared disk;
 * - the server refuses agent uploads (507 StorageFull) while the disk the tenants' stores share
 *   (`TenantStoreSet.capacity`; a store set without one, such as S3, has no reserve) has less
 *   free space than a reserve (`--disk-reserve`, default 2 GiB): the catalog, commits in
 *   flight, GC and the operator's own repairs still find room, and no tenant can fill the disk
 *   that every other tenant shares. The reserve is absolute, not a share of the disk, because
 *   what it must hold is: at most 256 MiB of uploads in memory, a catalog's WAL, a GC run.
 */
import type { Tenant } from "../catalog/catalog.js";
import { ApiError } from "./api-error.js";
import type { ServerContext } from "./context.js";

/** 1 TiB. */
export const DEFAULT_TENANT_QUOTA = 2 ** 40;

/** Free space kept on the data directory's file system: bytes, or a percentage of its size. */
export type DiskReserve = { readonly bytes: number } | { readonly percent: number };

export const DEFAULT_DISK_RESERVE: DiskReserve = { bytes: 2 * 2 ** 30 };

/** The reserve in bytes on a file system of `totalBytes`. */
export function reserveBytes(reserve: DiskReserve, totalBytes: number): number {
  return "bytes" in reserve ? reserve.bytes : Math.ceil((totalBytes * reserve.percent) / 100);
}

/**
 * Refuses an upload of `bytes` that would leave less than the reserve free (uploads in flight
 * counted as already written).
 */
export async function checkDiskReserve(ctx: ServerContext, bytes: number): Promise<void> {
  const capacity = await ctx.stores.capacity();
  if (capacity === undefined) return;
  const reserve = ctx.diskReserve ?? DEFAULT_DISK_RESERVE;
  const free = capacity.freeBytes;
  const needed = reserveBytes(reserve, capacity.totalBytes);
  let inFlight = 0;
  for (const amount of ctx.uploadingBytes.values()) inFlight += amount;
  if (free - inFlight - bytes < needed)
    throw new ApiError(
      "StorageFull",
      `the server keeps ${needed} bytes of its disk free and has ${free} (${inFlight} being uploaded): uploads are refused until its operator makes room`,
      {
        free_bytes: free,
        reserve_bytes: needed,
        in_flight_bytes: inFlight,
        requested_bytes: bytes,
      },
    );
}

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
