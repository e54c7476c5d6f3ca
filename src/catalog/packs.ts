/** Packs no snapshot needs any more, for the server's GC: the one removal the catalog allows. */
import type { Page } from "./objects.js";

export const FORGET_OUTCOMES = ["forgotten", "referenced", "recent", "absent"] as const;
export type ForgetOutcome = (typeof FORGET_OUTCOMES)[number];

export interface PackUsage {
  readonly count: number;
  readonly bytes: number;
}

/** Packs no `active` or `held` snapshot references and recorded before `createdBefore`. */
export interface UnreferencedPackQuery extends Page {
  /** The grace period's start: packs of backups still in flight are newer and never listed. */
  readonly createdBefore: Date;
}

/** Unreferenced packs and their removal. */
export interface PackCatalog {
  /** Pack names, sorted, for GC: referenced by no `active` or `held` snapshot. */
  listUnreferencedPacks(tenantId: string, query: UnreferencedPackQuery): Promise<string[]>;
  /** How many packs `listUnreferencedPacks` would list in all, and their recorded bytes. */
  unreferencedPackUsage(tenantId: string, createdBefore: Date): Promise<PackUsage>;
  /**
   * GC's only removal, atomic with commits: removes the pack's record (and the pack lists of
   * deleted snapshots that name it) unless an active or held snapshot references it
   * (`referenced`) or it was recorded at or after `createdBefore` (`recent`); `absent` when there
   * is no record. `size` is the recorded size (0 when absent).
   */
  forgetPack(
    tenantId: string,
    name: string,
    createdBefore: Date,
  ): Promise<{ outcome: ForgetOutcome; size: number }>;
}
