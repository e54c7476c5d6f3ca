/** Tenants: the client companies, their settings and their status. */

import type { TenantStatus } from "../protocol/constants.js";

export { TENANT_STATUSES, type TenantStatus } from "../protocol/constants.js";

/** The client company. `name` is a slug (`^[a-z0-9][a-z0-9-]{0,62}$`) used on command lines. */
export interface Tenant {
  readonly id: string;
  readonly name: string;
  readonly createdAt: Date;
  readonly retentionDays: number;
  /** Applied to snapshots committed from now on; earlier snapshots keep the window they got. */
  readonly immutableDays: number;
  /** `null`: unlimited. */
  readonly quotaBytes: number | null;
  /** `active` → `offboarding` → `deleted`; offboarding can be cancelled, deleted is final. */
  readonly status: TenantStatus;
  /** Recovery point objective: a machine without a successful backup for longer is stale. */
  readonly rpoSeconds: number;
}

export const DEFAULT_IMMUTABLE_DAYS = 14;

export interface NewTenant {
  readonly name: string;
  readonly retentionDays: number;
  /** Default `DEFAULT_IMMUTABLE_DAYS`. */
  readonly immutableDays?: number;
  /** Default `null` (unlimited). */
  readonly quotaBytes?: number | null;
  /** Default `DEFAULT_RPO_SECONDS`. */
  readonly rpoSeconds?: number;
}

/** Only the fields given change. */
export interface TenantChanges {
  readonly retentionDays?: number;
  readonly immutableDays?: number;
  readonly quotaBytes?: number | null;
  readonly rpoSeconds?: number;
  /** Refused (`ObjectConflict`, `deletion-scheduled`) while a deletion is pending: see below. */
  readonly status?: TenantStatus;
}

/** Tenants, by id or name. */
export interface TenantCatalog {
  createTenant(tenant: NewTenant, now: Date): Promise<Tenant>;
  getTenant(id: string): Promise<Tenant | undefined>;
  getTenantByName(name: string): Promise<Tenant | undefined>;
  /** Every tenant, whatever its status, by name. */
  listTenants(): Promise<Tenant[]>;
  updateTenant(id: string, changes: TenantChanges): Promise<Tenant>;
}
