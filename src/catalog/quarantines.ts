/** Quarantines: an operator hides what a compromised machine uploaded, deleting nothing. */
import type { AuditNote } from "./audit.js";

/**
 * An operator's answer to a compromised machine: every object the agent uploaded at or after
 * `since` is hidden from every agent's listings and reads, and commits that need such a pack are
 * refused as missing. Nothing is deleted: retention, immutability and GC treat the objects as
 * before, and releasing the quarantine shows them again. Rows are history: never removed.
 * Never hidden: the repository's config and the key slots recorded up to it (the enrollment that
 * created the repository; agents can add neither afterwards), without which nothing opens.
 */
export interface Quarantine {
  /** Increasing, never reused. */
  readonly id: number;
  readonly tenantId: string;
  readonly agentId: string;
  readonly since: Date;
  readonly createdAt: Date;
  readonly releasedAt: Date | null;
  /** What it hides now (nothing once released): objects and their recorded bytes. */
  readonly hidden: { readonly objects: number; readonly bytes: number };
  /**
   * Snapshots of other agents, not deleted, that list a pack it hides: they lost those packs
   * (a machine that deduplicated against the quarantined one's uploads). `since` set to the
   * compromise, not earlier, keeps this at zero.
   */
  readonly affectedSnapshots: number;
}

/** Quarantining an agent's uploads and releasing them. */
export interface QuarantineCatalog {
  /**
   * Hides what the agent uploaded at or after `since` (see `Quarantine`); audited as
   * `agent.quarantine` in the same transaction. Refused: an agent of another tenant (`NotFound`);
   * one already quarantined (`ObjectConflict`, reason `already-quarantined`).
   */
  quarantineAgent(
    tenantId: string,
    agentId: string,
    since: Date,
    audit: AuditNote,
    now: Date,
  ): Promise<Quarantine>;
  /** Ends the agent's active quarantine (`NotFound`, reason `not-quarantined`, without one). */
  releaseQuarantine(
    tenantId: string,
    agentId: string,
    audit: AuditNote,
    now: Date,
  ): Promise<Quarantine>;
  /** The tenant's quarantines, released ones included, oldest first. */
  listQuarantines(tenantId: string): Promise<Quarantine[]>;
}
