/** The objects each tenant holds, as the catalog accounts for them, and what an agent may see of them. */
import type { ObjectKind, PutOutcome } from "../storage/object-store.js";

/** An object as the catalog accounts for it: one row per tenant, kind and name (first write wins). */
export interface StoredObject {
  readonly tenantId: string;
  readonly kind: ObjectKind;
  readonly name: string;
  readonly size: number;
  readonly createdAt: Date;
  /** `null` when the server itself or an operator stored it. */
  readonly createdByAgent: string | null;
}

export interface NewObject {
  readonly tenantId: string;
  readonly kind: ObjectKind;
  readonly name: string;
  readonly size: number;
  readonly createdByAgent: string | null;
}

export interface KindUsage {
  readonly count: number;
  readonly bytes: number;
}

export interface ObjectUsage {
  readonly totalBytes: number;
  readonly totalCount: number;
  readonly byKind: Readonly<Record<ObjectKind, KindUsage>>;
}

/** What one agent uploaded in a time span: every kind, and packs (`data`) on their own. */
export interface UploadVolume {
  readonly objects: number;
  readonly bytes: number;
  readonly packs: number;
  readonly packBytes: number;
}

/** Keyset paging: names strictly after `after` (byte order), at most `limit` (1 to `MAX_PAGE`). */
export interface Page {
  readonly after?: string;
  readonly limit: number;
}

export const MAX_PAGE = 10_000;

/** Most names one `visibleObjects` call takes. */
export const MAX_LOOKUP = 1000;

/** Object records, usage and visibility. */
export interface ObjectCatalog {
  /**
   * `created` for a new name; `exists` when the name is recorded with the same size (the first
   * record is kept); a different size fails `ObjectConflict`. `createdByAgent` must be an agent
   * of the same tenant.
   */
  recordObject(object: NewObject, now: Date): Promise<PutOutcome>;
  /** Only ever about this tenant's objects: another tenant's object of that name does not count. */
  objectExists(tenantId: string, kind: ObjectKind, name: string): Promise<boolean>;
  listObjectNames(tenantId: string, kind: ObjectKind, page: Page): Promise<string[]>;
  objectUsage(tenantId: string): Promise<ObjectUsage>;
  /**
   * The objects of a kind an agent may see: recorded, not hidden by an active quarantine, and
   * for `snapshots` only those of a recorded snapshot not deleted. Paged by name.
   */
  listVisibleObjects(tenantId: string, kind: ObjectKind, page: Page): Promise<StoredObject[]>;
  /** One object, under the rules of `listVisibleObjects`; undefined when absent or hidden. */
  getVisibleObject(
    tenantId: string,
    kind: ObjectKind,
    name: string,
  ): Promise<StoredObject | undefined>;
  /**
   * Which of `names` (at most `MAX_LOOKUP`) the tenant has of `kind`, as `getVisibleObject` would
   * answer for each (a quarantine hides objects), in no particular order: one query for many names, so that a caller checking
   * thousands (a commit's packs) can let others in between batches.
   */
  visibleObjects(tenantId: string, kind: ObjectKind, names: readonly string[]): Promise<string[]>;
  /**
   * What `agentId` uploaded (recorded as its uploader) strictly after `after`, hidden objects
   * included: the volume a commit adds, which the server judges without trusting the agent.
   */
  uploadsByAgent(tenantId: string, agentId: string, after: Date): Promise<UploadVolume>;
}
