/**
 * Snapshot objects: the roots of history. Sealed under the master key (AAD binds the kind), so a
 * storage writer without the key cannot forge or edit one; the object name is the SHA-256 of the
 * sealed bytes and doubles as the snapshot id.
 */
import { open, seal } from "../crypto/aead.js";
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

export function openSnapshot(encryptionKey: Uint8Array, sealed: Uint8Array, id: string): Snapshot {
  const plain = open(encryptionKey, sealed, AAD, `snapshot ${id}`);
  let snapshot: Snapshot;
  try {
    snapshot = JSON.parse(Buffer.from(plain).toString("utf8")) as Snapshot;
  } catch {
    throw new RempartError("RepositoryCorrupt", `snapshot ${id} is not valid JSON`);
  }
  const valid =
    snapshot.version === 1 &&
    typeof snapshot.time === "string" &&
    typeof snapshot.tree === "string" &&
    HEX_ID.test(snapshot.tree) &&
    Array.isArray(snapshot.paths) &&
    Array.isArray(snapshot.tags);
  if (!valid) throw new RempartError("RepositoryCorrupt", `snapshot ${id} has invalid fields`);
  return snapshot;
}
