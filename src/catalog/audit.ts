/** The audit log: append-only, read newest first. */

import type { ActorKind } from "../protocol/constants.js";

export { ACTOR_KINDS, type ActorKind } from "../protocol/constants.js";

/** `id` is required for operators and agents; the system may name a job (`"gc"`) or give `null`. */
export interface AuditActor {
  readonly kind: ActorKind;
  readonly id: string | null;
}

export interface AuditEntry {
  /** Increasing in append order, never reused. */
  readonly id: number;
  readonly at: Date;
  readonly actor: AuditActor;
  /** Dotted lowercase, e.g. `tenant.create`, `snapshot.hold.release`. */
  readonly action: string;
  readonly tenantId: string | null;
  readonly details: Readonly<Record<string, unknown>>;
}

export interface NewAuditEntry {
  readonly actor: AuditActor;
  readonly action: string;
  readonly tenantId: string | null;
  /** A JSON object of at most `MAX_AUDIT_DETAILS_BYTES` once serialized. Default `{}`. */
  readonly details?: Readonly<Record<string, unknown>>;
}

/** Entries matching every given filter, newest first. */
export interface AuditQuery {
  readonly tenantId?: string;
  /** Entries at or after this time. */
  readonly since?: Date;
  /** Entries with a smaller id: the cursor for the next (older) page. */
  readonly beforeId?: number;
  readonly limit: number;
}

/**
 * Who does a change that the catalog audits itself, in the change's own transaction (the deletion
 * steps: an entry can never be missing for a step that happened). The catalog adds its facts
 * to `details`, which obeys the rules of `NewAuditEntry.details`.
 */
export interface AuditNote {
  readonly actor: AuditActor;
  readonly details?: Readonly<Record<string, unknown>>;
}

/** The audit log. */
export interface AuditCatalog {
  /** There is deliberately no way to change or remove an entry. */
  appendAudit(entry: NewAuditEntry, now: Date): Promise<AuditEntry>;
  listAudit(query: AuditQuery): Promise<AuditEntry[]>;
}
