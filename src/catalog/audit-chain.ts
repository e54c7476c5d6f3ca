/**
 * The audit log's hash chain: each entry commits to the one before it, so that an entry edited,
 * removed or moved in the catalog file shows as a broken link. Pure: the encoding, the hash and
 * the check of one link; reading the log is the catalog's job, paging through it the verifier's.
 *
 * What it proves: that the entries form one unbroken sequence from the first, as appended. It does
 * not stop someone who can write the file from rewriting the whole chain from an entry onward
 * (the hashes are not keyed); only a head hash recorded elsewhere (`audit verify --anchor`) shows
 * that. docs/SECURITY.md says so.
 */
import { createHash } from "node:crypto";

/** The `prevHash` of the first entry. */
export const GENESIS_HASH = "0".repeat(64);

/** An entry's fields as stored, the ones its hash covers. `details` is the stored JSON text. */
export interface ChainFields {
  readonly seq: number;
  readonly at: number;
  readonly actorKind: string;
  readonly actorId: string | null;
  readonly action: string;
  readonly tenantId: string | null;
  readonly details: string;
}

export interface ChainLink extends ChainFields {
  /** The row's key: the append order, which the hash does not cover (seq is the entry's place). */
  readonly id: number;
  readonly prevHash: string;
  readonly hash: string;
}

/**
 * Lowercase hex SHA-256 of a JSON array of a version tag, the previous hash and the fields in a
 * fixed order: JSON.stringify of strings, integers and null is one text for one value, and the
 * array keeps the fields apart (no concatenation ambiguity).
 */
export function auditEntryHash(prevHash: string, entry: ChainFields): string {
  const encoded = JSON.stringify([
    "rempart-audit-v1",
    prevHash,
    entry.seq,
    entry.at,
    entry.actorKind,
    entry.actorId,
    entry.action,
    entry.tenantId,
    entry.details,
  ]);
  return createHash("sha256").update(encoded, "utf8").digest("hex");
}

export type ChainProblem = "edited" | "removed" | "reordered" | "truncated";

/** The first entry that does not follow from the one before it, and why. */
export interface ChainBreak {
  readonly problem: ChainProblem;
  readonly seq: number;
  readonly id: number | null;
  readonly message: string;
}

/** How an entry fails to follow the one read before it. */
export type LinkFault =
  /** Its fields do not give its hash. */
  | { readonly kind: "hash" }
  /** Its number skips ahead of `expectedSeq`. */
  | { readonly kind: "skip"; readonly expectedSeq: number }
  /** Its number is at or behind the previous one's. */
  | { readonly kind: "behind"; readonly expectedSeq: number }
  /** Its number is right but it names another predecessor. */
  | { readonly kind: "unlinked" };

/** Checks `entry`, read in id order, against the entry read before it (`null` for the first). */
export function checkLink(previous: ChainLink | null, entry: ChainLink): LinkFault | null {
  const expectedSeq = previous === null ? 1 : previous.seq + 1;
  if (auditEntryHash(entry.prevHash, entry) !== entry.hash) return { kind: "hash" };
  if (entry.seq > expectedSeq) return { kind: "skip", expectedSeq };
  if (entry.seq < expectedSeq) return { kind: "behind", expectedSeq };
  if (entry.prevHash !== (previous?.hash ?? GENESIS_HASH)) return { kind: "unlinked" };
  return null;
}

/** What the rest of the log holds, to tell a moved entry from a removed or rewritten one. */
export interface LaterEntries {
  hasSeq(seq: number): boolean;
  hasHash(hash: string): boolean;
}

/** The fault as the operator reads it, naming the first entry that is wrong. */
export function explainFault(
  fault: LinkFault,
  previous: ChainLink | null,
  entry: ChainLink,
  later: LaterEntries,
): ChainBreak {
  const name = `entry ${entry.seq} (id ${entry.id})`;
  const at = { seq: entry.seq, id: entry.id };
  switch (fault.kind) {
    case "hash":
      return {
        ...at,
        problem: "edited",
        message: `${name} was edited: its fields do not match its hash`,
      };
    case "skip":
      if (later.hasSeq(fault.expectedSeq))
        return {
          ...at,
          problem: "reordered",
          message: `${name} was moved: it comes before entry ${fault.expectedSeq}`,
        };
      return {
        seq: fault.expectedSeq,
        id: null,
        problem: "removed",
        message:
          entry.seq === fault.expectedSeq + 1
            ? `entry ${fault.expectedSeq} was removed (${name} follows entry ${fault.expectedSeq - 1})`
            : `entries ${fault.expectedSeq} to ${entry.seq - 1} were removed (${name} follows entry ${fault.expectedSeq - 1})`,
      };
    case "behind":
      return {
        ...at,
        problem: "reordered",
        message: `${name} was moved: it comes after entry ${fault.expectedSeq - 1}`,
      };
    case "unlinked":
      // Its own hash holds, so either its predecessor was rewritten with a fresh hash, or it
      // was renumbered into another place.
      if (previous !== null && !later.hasHash(entry.prevHash))
        return {
          seq: previous.seq,
          id: previous.id,
          problem: "edited",
          message: `entry ${previous.seq} (id ${previous.id}) was edited and its hash recomputed: ${name} no longer follows it`,
        };
      return {
        ...at,
        problem: "reordered",
        message: `${name} was moved: it follows another entry than the one before it`,
      };
  }
}

/** A head recorded earlier (`SEQ:HASH`) that the log must still hold, checked after the walk. */
export function checkAnchor(
  anchor: { readonly seq: number; readonly hash: string },
  found: { readonly id: number; readonly hash: string } | undefined,
): ChainBreak | null {
  if (found === undefined)
    return {
      seq: anchor.seq,
      id: null,
      problem: "truncated",
      message: `entry ${anchor.seq}, recorded as the head earlier, is gone: the log was cut back`,
    };
  if (found.hash !== anchor.hash)
    return {
      seq: anchor.seq,
      id: found.id,
      problem: "edited",
      message: `entry ${anchor.seq} (id ${found.id}) is not the one recorded earlier: the chain was rewritten from there or before`,
    };
  return null;
}
