/**
 * The server's metadata: tenants, operators and their sessions, enrollment tokens, agents, the
 * objects and snapshots each tenant holds, retention, quarantines, offboarding, alerts and the
 * audit log.
 * Each concept is one small interface in its own file; `Catalog` is all of them on one object, so
 * that the server holds one catalog while a function may ask for only the concepts it uses.
 * SQLite implements it now (sqlite/) and PostgreSQL later, as one small class per concept put
 * together by `composeCatalog`; both must pass `describeCatalogConformance` (catalog-suite.ts,
 * one suite per concept under suite/), which is the behaviour the server may rely on.
 *
 * Rules every implementation keeps:
 * - The catalog never reads the clock: every time is a `now` from the caller, so expiry, retention
 *   and immutability are decided by code a test can drive to any instant.
 * - The catalog never sees a secret: it stores and compares only hashes the caller computed
 *   (lowercase hex SHA-256 for tokens and agent secrets, an opaque KDF string for passwords).
 *   The one exception is a webhook's signing key (delivery.ts): the server must sign with it.
 * - Lookups answer `undefined` for an absent record; changing an absent record fails `NotFound`;
 *   malformed input fails `InvalidArgument` and changes nothing.
 * - Anything an agent can reach only adds: no method deletes a snapshot record or an audit entry.
 *   Snapshots leave only by state `deleted`, and never before `immutableUntil`, which is fixed at
 *   commit from the server's receipt time. The one removal is `forgetPack`, for the server's GC:
 *   it refuses a pack any active or held snapshot references, or one recorded within the grace.
 *   Completing a tenant's deletion forgets the records of the objects it removed the same way.
 * - A tenant is deleted only through a `TenantDeletion`: scheduled by one admin, cancellable by
 *   another during its delay, never due before the immutability window of its snapshots.
 *
 * Transactions across concepts. Every method is one transaction, and many span concepts: a commit
 * checks the tenant is active, the agent is the tenant's and the packs are recorded and not
 * quarantined; scheduling a deletion changes the tenant, revokes its agents and audits, all or
 * nothing. So the parts of one catalog share one database handle (one SQLite connection; for
 * PostgreSQL, a pool whose `write` runs a function on one client between BEGIN and COMMIT), and a
 * method that reaches into another concept calls that concept's statement-level helpers inside
 * its own transaction (sqlite/lookups.ts, `revokeAgentsOf`, `insertAuditEntry`), never the other
 * part's public method, which would be a transaction of its own.
 */
import type { AgentCatalog } from "./agents.js";
import type { AlertCatalog } from "./alerts.js";
import type { AuditCatalog } from "./audit.js";
import type { DeliveryCatalog } from "./delivery.js";
import type { DrillCatalog } from "./drills.js";
import type { ObjectCatalog } from "./objects.js";
import type { OffboardingCatalog } from "./offboarding.js";
import type { OperatorCatalog } from "./operators.js";
import type { PackCatalog } from "./packs.js";
import type { QuarantineCatalog } from "./quarantines.js";
import type { RetentionCatalog } from "./retention.js";
import type { SnapshotCatalog } from "./snapshots.js";
import type { TenantCatalog } from "./tenants.js";

export * from "./agents.js";
export * from "./alerts.js";
export * from "./audit.js";
export * from "./delivery.js";
export * from "./drills.js";
export * from "./objects.js";
export * from "./offboarding.js";
export * from "./operators.js";
export * from "./packs.js";
export * from "./quarantines.js";
export * from "./retention.js";
export * from "./snapshots.js";
export * from "./tenants.js";

/** One implementation's part for each concept, sharing one database handle. */
export interface CatalogParts {
  readonly tenants: TenantCatalog;
  readonly operators: OperatorCatalog;
  readonly agents: AgentCatalog;
  readonly objects: ObjectCatalog;
  readonly snapshots: SnapshotCatalog;
  readonly retention: RetentionCatalog;
  readonly packs: PackCatalog;
  readonly quarantines: QuarantineCatalog;
  readonly offboarding: OffboardingCatalog;
  readonly alerts: AlertCatalog;
  readonly audit: AuditCatalog;
  readonly drills: DrillCatalog;
  readonly delivery: DeliveryCatalog;
}

export type Catalog = TenantCatalog &
  OperatorCatalog &
  AgentCatalog &
  ObjectCatalog &
  SnapshotCatalog &
  RetentionCatalog &
  PackCatalog &
  QuarantineCatalog &
  OffboardingCatalog &
  AlertCatalog &
  AuditCatalog &
  DrillCatalog &
  DeliveryCatalog & {
    /** Closes the database handle the parts share. */
    close(): Promise<void>;
  };
