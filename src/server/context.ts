/** What every route handler may use: the catalog, the tenants' stores, the clock and the limits. */
import type { Catalog } from "../catalog/catalog.js";
import type { Budget } from "./budget.js";
import type { DiskReserve } from "./quota.js";
import type { TenantStores } from "./tenant-stores.js";

export interface ServerContext {
  readonly catalog: Catalog;
  readonly stores: TenantStores;
  /** The server's clock: receipt times, expiry. Tests drive it. */
  readonly now: () => Date;
  readonly log: (line: string) => void;
  readonly version: string;
  /** Bytes of upload bodies held in memory at once, across all requests. */
  readonly uploadMemory: Budget;
  /** scrypt runs at once (32 MiB and a CPU core each): a login flood queues rather than swaps. */
  readonly passwordHashing: Budget;
  /** Bytes of uploads in flight per tenant, counted against its quota with what is stored. */
  readonly uploadingBytes: Map<string, number>;
  /** Quota of tenants created without one; null: unlimited. Default `DEFAULT_TENANT_QUOTA`. */
  readonly defaultQuotaBytes?: number | null;
  /** Free disk space agent uploads may not eat into. Default `DEFAULT_DISK_RESERVE`. */
  readonly diskReserve?: DiskReserve;
}
