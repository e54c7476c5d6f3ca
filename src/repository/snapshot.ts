/**
 * Snapshot objects: the roots of history. Sealed under the master key (AAD binds the kind), so a
 * storage writer without the key cannot forge or edit one; the object name is the SHA-256 of the
 * sealed bytes and doubles as the snapshot id.
 */
import { open, seal } from "../crypto/aead.js";
import { type DetectionSummary, detectionProblem } from "../detection/summary.js";
import { RempartError } from "../errors.js";

export interface SnapshotSummary {
  readonly filesNew: number;
  readonly filesChanged: number;
  readonly filesUnchanged: number;
  readonly dirs: number;
  readonly bytesRead: number;
  /** plaintext bytes of blobs this backup added */
  readonly bytesAdded: number;
  /** bytes this backup added to storage (sealed, compressed, with pack overhead) */
  readonly bytesStored: number;
  /** total plaintext size of the files in the snapshot */
  readonly totalBytes: number;
  readonly totalFiles: number;
  readonly unreadable: number;
  readonly durationMs: number;
  /** the ransomware verdict on this backup (docs/DETECTION.md); absent in older snapshots */
  readonly detection?: DetectionSummary;
}

export interface Snapshot {
  readonly version: 1;
  /** ISO time the backup started, as claimed by the machine that made it */
  readonly time: string;
  readonly host: string;
  readonly username: string;
  readonly paths: readonly string[];
  readonly tags: readonly string[];
  readonly parent?: string;
  /** hex id of the root tree blob */
  readonly tree: string;
  readonly summary: SnapshotSummary;
  readonly program: string;
}

const AAD = Buffer.from("rempart snapshot v1");
const HEX_ID = /^[0-9a-f]{64}$/;

export function sealSnapshot(encryptionKey: Uint8Array, snapshot: Snapshot): Uint8Array {
  return seal(encryptionKey, Buffer.from(JSON.stringify(snapshot)), AAD);
}

/**
 * A snapshot is checked field by field after it authenticates: whoever holds the password (a
 * stolen agent configuration) can seal any JSON, and a listing must not crash on a snapshot
 * without a summary or with a host that is not a string.
 */
export function openSnapshot(encryptionKey: Uint8Array, sealed: Uint8Array, id: string): Snapshot {
  const plain = open(encryptionKey, sealed, AAD, `snapshot ${id}`);
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(plain).toString("utf8"));
  } catch {
    throw new RempartError("RepositoryCorrupt", `snapshot ${id} is not valid JSON`, {
      snapshot: id,
    });
  }
  const problem = snapshotProblem(value);
  if (problem !== undefined)
    throw new RempartError("RepositoryCorrupt", `snapshot ${id} has invalid fields: ${problem}`, {
      snapshot: id,
    });
  return value as Snapshot;
}

const SUMMARY_FIELDS = [
  "filesNew",
  "filesChanged",
  "filesUnchanged",
  "dirs",
  "bytesRead",
  "bytesAdded",
  "bytesStored",
  "totalBytes",
  "totalFiles",
  "unreadable",
  "durationMs",
] as const;

function snapshotProblem(value: unknown): string | undefined {
  if (!isRecord(value)) return "not a JSON object";
  if (value.version !== 1) return `version ${JSON.stringify(value.version)}`;
  if (typeof value.time !== "string" || Number.isNaN(Date.parse(value.time)))
    return "time is not an ISO time";
  for (const field of ["host", "username", "program"] as const)
    if (typeof value[field] !== "string") return `${field} is not a string`;
  for (const field of ["paths", "tags"] as const) {
    const list = value[field];
    if (!Array.isArray(list) || !list.every((item) => typeof item === "string"))
      return `${field} is not a list of strings`;
  }
  if (typeof value.tree !== "string" || !HEX_ID.test(value.tree)) return "tree is not an id";
  if (
    value.parent !== undefined &&
    (typeof value.parent !== "string" || !HEX_ID.test(value.parent))
  )
    return "parent is not an id";
  const { summary } = value;
  if (!isRecord(summary)) return "summary is not an object";
  for (const field of SUMMARY_FIELDS) {
    const n = summary[field];
    if (typeof n !== "number" || !Number.isFinite(n) || n < 0)
      return `summary.${field} is not a non-negative number`;
  }
  if (summary.detection !== undefined) {
    const problem = detectionProblem(summary.detection);
    if (problem !== undefined) return `summary.detection: ${problem}`;
  }
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A snapshot as a reader found it, with what the store knows of its arrival. */
export interface StoredSnapshot {
  readonly id: string;
  readonly snapshot: Snapshot;
  /** when the server received it (its clock), when the store knows */
  readonly receivedAt?: string;
  /** the agent that committed it, when the store knows */
  readonly uploadedBy?: string;
}
