/**
 * One filesystem ObjectStore per tenant under `<data>/tenants/<tenant id>/`: a tenant's objects
 * share no directory with another's, so a name can only ever reach its own tenant's store. Routes
 * and GC see only the SweepableStore interface, which another backend (S3) can implement.
 */
import { join, resolve } from "node:path";
import { RempartError } from "../errors.js";
import { FsObjectStore } from "../storage/fs/fs-store.js";
import type { SweepableStore } from "../storage/sweepable.js";

/** Catalog ids (hex, or UUIDs later): never a separator, never a dot. */
const TENANT_ID = /^[A-Za-z0-9-]{1,64}$/;

export class TenantStores {
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

  private async open(tenantId: string): Promise<SweepableStore> {
    const store = await FsObjectStore.create(this.pathOf(tenantId));
    // Temp files of uploads a killed server left behind (old enough never to be a live upload).
    await store.removeStaleTempFiles();
    return store;
  }
}
