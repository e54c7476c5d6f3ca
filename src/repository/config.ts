/**
 * The repository config: sealed under the master key, so only a key holder learns the chunker
 * seed (which would otherwise let a storage reader fingerprint files by their chunk lengths).
 * It is the last object `init` writes: its presence means the repository is complete.
 */
import { randomBytes } from "node:crypto";
import { open, seal } from "../crypto/aead.js";
import { RempartError } from "../errors.js";

/**
 * What `init` writes. Version 2 stores small data blobs in frames (frame.ts); a version 1
 * repository is still read, and written without frames, so that the programs that made it can
 * go on reading it.
 */
export const REPOSITORY_VERSION = 2;
export const READABLE_VERSIONS: readonly number[] = [1, 2];

/** Whether backups into a repository of this config may store blobs in frames. */
export function writesFrames(config: RepositoryConfig): boolean {
  return config.version >= 2;
}

export interface ChunkerSettings {
  readonly minSize: number;
  readonly avgSize: number;
  readonly maxSize: number;
  /** base64 of 32 secret bytes that derive the gear table */
  readonly seed: string;
}

export interface RepositoryConfig {
  readonly version: number;
  /** random hex, names the repository in messages and caches */
  readonly id: string;
  readonly created: string;
  readonly chunker: ChunkerSettings;
  /** target pack size in bytes */
  readonly packSize: number;
}

const AAD = Buffer.from("rempart config v1");
export const DEFAULT_PACK_SIZE = 16 * 1024 * 1024;

/** Refuses a format version this program cannot write (InvalidArgument). */
export function checkFormatVersion(version: number): void {
  if (!READABLE_VERSIONS.includes(version))
    throw new RempartError(
      "InvalidArgument",
      `repository format version ${version} does not exist (versions: ${READABLE_VERSIONS.join(", ")})`,
    );
}

export function newConfig(
  chunker: Omit<ChunkerSettings, "seed">,
  now: Date,
  packSize = DEFAULT_PACK_SIZE,
  version = REPOSITORY_VERSION,
): RepositoryConfig {
  checkFormatVersion(version);
  return {
    version,
    id: randomBytes(16).toString("hex"),
    created: now.toISOString(),
    chunker: { ...chunker, seed: randomBytes(32).toString("base64") },
    packSize,
  };
}

export function sealConfig(encryptionKey: Uint8Array, config: RepositoryConfig): Uint8Array {
  return seal(encryptionKey, Buffer.from(JSON.stringify(config)), AAD);
}

export function openConfig(encryptionKey: Uint8Array, sealed: Uint8Array): RepositoryConfig {
  const plain = open(encryptionKey, sealed, AAD, "repository config");
  let config: RepositoryConfig;
  try {
    config = JSON.parse(Buffer.from(plain).toString("utf8")) as RepositoryConfig;
  } catch {
    throw new RempartError("RepositoryCorrupt", "repository config is not valid JSON");
  }
  if (!READABLE_VERSIONS.includes(config.version))
    throw new RempartError(
      "Unsupported",
      `repository format version ${String(config.version)} is not supported (this program reads versions ${READABLE_VERSIONS.join(" and ")})`,
    );
  const c = config.chunker;
  const sane =
    typeof config.id === "string" &&
    Number.isInteger(config.packSize) &&
    config.packSize > 0 &&
    c !== undefined &&
    [c.minSize, c.avgSize, c.maxSize].every((n) => Number.isInteger(n) && n > 0) &&
    c.minSize < c.avgSize &&
    c.avgSize < c.maxSize &&
    c.maxSize <= 64 * 1024 * 1024 &&
    typeof c.seed === "string" &&
    Buffer.from(c.seed, "base64").length === 32;
  if (!sane) throw new RempartError("RepositoryCorrupt", "repository config has invalid fields");
  return config;
}
