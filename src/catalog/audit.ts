/** The audit log: append-only, read newest first. */

import type { ActorKind } from "../protocol/constants.js";
import type { ChainLink } from "./audit-chain.js";

export { ACTOR_KINDS, type ActorKind } from "../protocol/constants.js";

/**
 * The credential an operator acted with, when it is not their own login: an API token, named so
 * an MSP can tell a script's actions from a person's (the operator stays the actor: the token
 * acts with their role, within its scopes).
 */
export interface AuditCredential {
  readonly kind: "api-token";
  readonly id: string;
  readonly name: string;
}

/** `id` is required for operators and agents; the system may name a job (`"gc"`) or give `null`. */
export interface AuditActor {
  readonly kind: ActorKind;
  readonly id: string | null;
  /** Only for an operator acting through an API token; stored as the entry's `details.credential`. */
  readonly credential?: AuditCredential;
}

/**
 * An entry's details as stored: the actor's credential, if any, under `credential`, over anything
 * of that name the caller gave, so the entry (and the hash chain over it) names the token.
 */
export function detailsWithCredential(
  actor: AuditActor,
  details: Readonly<Record<string, unknown>>,
): Readonly<Record<string, unknown>> {
  const { credential } = actor;
  return credential === undefined
    ? details
    : {
        ...details,
        credential: { kind: credential.kind, id: credential.id, name: credential.name },
      };
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

/** An entry as the hash chain holds it (audit-chain.ts): `details` is the stored JSON text. */
export type ChainedAuditEntry = ChainLink;

/** A page of the chain in append (id) order, as stored: what `audit verify` walks. */
export interface AuditChainQuery {
  /** Entries with a larger id: the cursor for the next page. */
  readonly afterId?: number;
  readonly limit: number;
}

/**
 * The audit log. Every entry, however it is appended (here or by another concept in its own
 * transaction), extends one hash chain: it takes the next sequence number and commits to the
 * entry before it, under the same write lock as the insert, so concurrent writers never fork it.
 */
export interface AuditCatalog {
  /** There is deliberately no way to change or remove an entry. */
  appendAudit(entry: NewAuditEntry, now: Date): Promise<AuditEntry>;
  listAudit(query: AuditQuery): Promise<AuditEntry[]>;
  /** Entries as stored, unchecked: the reader verifies them. */
  readAuditChain(query: AuditChainQuery): Promise<ChainedAuditEntry[]>;
}
