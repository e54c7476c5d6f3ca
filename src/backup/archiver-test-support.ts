/**
 * Test support for suites that drive the library in process rather than the CLI: a repository in
 * a temporary directory on a real filesystem store, and a backup of real files into it.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type BlobLocation, type InitOptions, Repository } from "../repository/repository.js";
import type { Snapshot } from "../repository/snapshot.js";
import { findNode } from "../snapshot/walk.js";
import { FsObjectStore } from "../storage/fs/fs-store.js";
import type { ObjectKind, ObjectStore } from "../storage/object-store.js";
import { writePseudoRandomFile } from "../testing/cli.js";
import { type BackupOptions, type BackupResult, backup } from "./archiver.js";

export const TEST_PASSWORD = "in-process test";
const CHUNKER = { minSize: 16 * 1024, avgSize: 64 * 1024, maxSize: 256 * 1024 };
const CHEAP_KDF = { N: 2 ** 10, r: 8, p: 1 };

export interface TestRepository {
  readonly root: string;
  readonly store: ObjectStore;
  readonly repo: Repository;
}

/** A new repository in `root` (small chunks, a cheap KDF), on a filesystem store. */
export async function newRepository(
  root: string,
  options: Pick<InitOptions, "packSize" | "formatVersion"> = {},
): Promise<TestRepository> {
  const store = await FsObjectStore.create(root);
  const repo = await Repository.init(store, {
    password: TEST_PASSWORD,
    label: "test",
    chunker: CHUNKER,
    kdfCost: CHEAP_KDF,
    ...options,
  });
  return { root, store, repo };
}

/** The repository in `root` opened afresh, as the next command would. */
export async function reopen(root: string): Promise<TestRepository> {
  const store = await FsObjectStore.open(root);
  return { root, store, repo: await Repository.open(store, { password: TEST_PASSWORD }) };
}

/** Backs up `paths` with one worker; options override the defaults. */
export function backupPaths(
  repo: Repository,
  paths: readonly string[],
  options: Partial<BackupOptions> = {},
): Promise<BackupResult> {
  return backup(repo, { paths, tags: [], excludes: [], workers: 1, ...options });
}

/** Names of the stored objects of one kind, sorted. */
export async function objectNames(store: ObjectStore, kind: ObjectKind): Promise<string[]> {
  const names: string[] = [];
  for await (const info of store.list(kind)) names.push(info.name);
  return names.sort();
}

/**
 * A source tree: `big.bin` (600 KiB, several chunks), `copy.bin` (the same bytes again: dedup),
 * `docs/note.txt` and `docs/other.bin`.
 */
export function writeSourceTree(src: string): void {
  mkdirSync(join(src, "docs"), { recursive: true });
  writePseudoRandomFile(join(src, "big.bin"), 600 * 1024, "source big");
  writePseudoRandomFile(join(src, "copy.bin"), 600 * 1024, "source big");
  writeFileSync(join(src, "docs", "note.txt"), "a note\n".repeat(300));
  writePseudoRandomFile(join(src, "docs", "other.bin"), 70 * 1024, "source other");
}

/** Where the first data blob of the file at `path` in `snapshot` is stored (its first location). */
export async function firstBlobLocation(
  repo: Repository,
  snapshot: Snapshot,
  path: string,
): Promise<BlobLocation | undefined> {
  const node = await findNode((tree) => repo.readTree(tree), snapshot.tree, path);
  const [location] = await repo.blobLocations(node?.content?.[0] ?? "");
  return location;
}
