/**
 * The server's stores, one per tenant, as routes, GC, retention, quotas and offboarding hold
 * them: never a path, so that another backend (S3, a bucket prefix per tenant) plugs in here
 * without any of them changing. Agents never see it.
 */
import type { SweepableStore } from "./sweepable.js";

/** Room where the stores keep their bytes, in bytes. */
export interface Capacity {
  readonly freeBytes: number;
  readonly totalBytes: number;
}

export interface TenantStoreSet {
  /** The tenant's store, made on first use. */
  get(tenantId: string): Promise<SweepableStore>;
  /**
   * Removes the tenant's store and every byte in it, for good (offboarding). Repeatable: a run
   * killed midway is finished by the next call. True if there was a store to remove.
   */
  destroy(tenantId: string): Promise<boolean>;
  /**
   * The room left on what every tenant's store shares (a disk); undefined where no such shared
   * limit exists for this server to guard (an object storage service).
   */
  capacity(): Promise<Capacity | undefined>;
}
