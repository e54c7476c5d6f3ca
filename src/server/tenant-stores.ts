/**
 * One filesystem ObjectStore per tenant under `<data>/tenants/<tenant id>/`: a tenant's objects
 * share no directory with another's, so a name can only ever reach its own tenant's store. The
 * server sees only the TenantStoreSet interface, which another backend (S3) can implement.
 */
import { rename, rm, statfs } from "node:fs/promises";
import { join, resolve } from "node:path";
import { RempartError } from "../errors.js";
import { FsObjectStore } from "../storage/fs/fs-store.js";
import type { SweepableStore } from "../storage/sweepable.js";
import type { Capacity, TenantStoreSet } from "../storage/tenant-store-set.js";

/** Catalog ids (hex, or UUIDs later): never a separator, never a dot. */
const TENANT_ID = /^[A-Za-z0-9-]{1,64}$/;

export class TenantStores implements TenantStoreSet {
  readonly root: string;
  private readonly opened = new Map<string, Promise<SweepableStore>>();

  /** `root` is `<data>/tenants`. */
  constructor(root: string) {
    this.root = resolve(root);
  }

  pathOf(tenantId: string): string {
    if (!TENANT_ID.test(tenantId))
      throw new RempartError("InvalidArgument", `${JSON.stringify(tenantId)} is not a tenant id`);
    return join(this.root, tenantId);
  }

  /** The tenant's store, made on first use (tenant creation, or a store removed by hand). */
  get(tenantId: string): Promise<SweepableStore> {
    let store = this.opened.get(tenantId);
    if (store === undefined) {
      store = this.open(tenantId);
      this.opened.set(tenantId, store);
      // A failure (disk full, say) is not remembered: the next request tries again.
      store.catch(() => this.opened.delete(tenantId));
    }
    return store;
  }

  /**
   * Renamed aside in one step (the server then finds no store), then removed. A leftover of a
   * killed run is removed first.
   */
  async destroy(tenantId: string): Promise<boolean> {
    const path = this.pathOf(tenantId);
    this.opened.delete(tenantId);
    // Tenant ids have no dot, so this name is never another tenant's store.
    const aside = `${path}.deleting`;
    await rm(aside, { recursive: true, force: true });
    let existed = true;
    try {
      await rename(path, aside);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      existed = false;
    }
    await rm(aside, { recursive: true, force: true });
    return existed;
  }

  /** The file system under every tenant's directory: one system call, no disk access. */
  async capacity(): Promise<Capacity> {
    const fs = await statfs(this.root);
    return { freeBytes: fs.bavail * fs.bsize, totalBytes: fs.blocks * fs.bsize };
  }

  private async open(tenantId: string): Promise<SweepableStore> {
    const store = await FsObjectStore.create(this.pathOf(tenantId));
    // Temp files of uploads a killed server left behind (old enough never to be a live upload).
    await store.removeStaleTempFiles();
    return store;
  }
}
