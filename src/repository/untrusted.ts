/**
 * What a reader decides about objects it cannot trust, as pure functions.
 *
 * Threat: an attacker holding one machine's agent configuration (credential and repository
 * password) adds objects to the tenant's repository through the documented API. Nothing is
 * deleted (the server is append-only), so the attack is on readers: an object that fails to
 * open, a name that sorts first, or a time claimed inside a snapshot must not decide for the
 * objects around it. So readers skip and report what fails (SkippedObject), load in the order
 * the server received objects when it says (oldest first: what the tenant wrote before the
 * attack comes before what the attacker added), and never let a claimed time beat the server's.
 */
import { isRempartError } from "../errors.js";
import type { ObjectInfo, ObjectKind } from "../storage/object-store.js";
import type { StoredSnapshot } from "./snapshot.js";

/** An object a reader left out (or distrusted) because it failed to open, authenticate or decode. */
export interface SkippedObject {
  readonly kind: ObjectKind;
  readonly name: string;
  /** a sentence: what failed */
  readonly reason: string;
  /** the agent that uploaded it, when the store knows */
  readonly uploadedBy?: string;
  /** when the server received it, when the store knows */
  readonly receivedAt?: string;
}

export function skipped(info: ObjectInfo, reason: string): SkippedObject {
  return {
    kind: info.kind,
    name: info.name,
    reason,
    ...(info.uploadedBy === undefined ? {} : { uploadedBy: info.uploadedBy }),
    ...(info.receivedAt === undefined ? {} : { receivedAt: info.receivedAt }),
  };
}

/**
 * Whether a failure reading an object is about that object (skip it, report it) rather than
 * about the store or the machine (stop: a network or disk error must not pass for damage).
 */
export function isObjectFault(error: unknown): boolean {
  return (
    isRempartError(error, "RepositoryCorrupt") ||
    isRempartError(error, "Unsupported") ||
    isRempartError(error, "InvalidArgument")
  );
}

function receiptMs(info: { readonly receivedAt?: string }): number {
  const ms = info.receivedAt === undefined ? Number.NaN : Date.parse(info.receivedAt);
  return Number.isNaN(ms) ? Number.POSITIVE_INFINITY : ms;
}

/**
 * Oldest receipt first, then by name; objects without a receipt time come last, by name. Used
 * for every "which first" a reader makes: key slots tried, indexes loaded (so a blob's first
 * location is the one uploaded first).
 */
export function receiptOrder<T extends ObjectInfo>(infos: readonly T[]): T[] {
  return [...infos].sort(
    (a, b) => receiptMs(a) - receiptMs(b) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
}

/**
 * How far in the future a snapshot's claimed time may be and still count, for stores that do
 * not record receipt times (a local repository). A day: a machine whose clock is set to local
 * time but believes it is UTC is up to 14 hours ahead, and its snapshots should stay in order.
 */
export const CLAIMED_TIME_SKEW_MS = 24 * 60 * 60 * 1000;

/**
 * The time a snapshot is ordered by: the server's receipt time when known; otherwise the time
 * claimed inside it, unless that lies beyond now + CLAIMED_TIME_SKEW_MS, in which case it
 * counts as older than every other (a claimed 9999-12-31 never becomes `latest`).
 */
export function orderingTime(snapshot: StoredSnapshot, now: Date): number {
  const received = receiptMs(snapshot);
  if (received !== Number.POSITIVE_INFINITY) return received;
  const claimed = Date.parse(snapshot.snapshot.time);
  if (Number.isNaN(claimed) || claimed > now.getTime() + CLAIMED_TIME_SKEW_MS)
    return Number.NEGATIVE_INFINITY;
  return claimed;
}

/** Snapshots oldest first by orderingTime, then by id: `latest` is the last. */
export function orderSnapshots(snapshots: readonly StoredSnapshot[], now: Date): StoredSnapshot[] {
  const keyed = snapshots.map((s) => ({ s, at: orderingTime(s, now) }));
  keyed.sort((a, b) => {
    if (a.at !== b.at) return a.at < b.at ? -1 : 1;
    return a.s.id < b.s.id ? -1 : a.s.id > b.s.id ? 1 : 0;
  });
  return keyed.map(({ s }) => s);
}
