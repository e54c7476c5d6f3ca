/**
 * Shared helpers for the end-to-end CLI suites: they drive the real `bin/rempart.js` in a child
 * process against real directories, so what they prove is what a user gets. Nothing is mocked.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createCipheriv, createHash } from "node:crypto";
import {
  chmodSync,
  closeSync,
  createReadStream,
  existsSync,
  fstatSync,
  lstatSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Repository } from "../repository/repository.js";
import {
  captureMetadata,
  FIELDS_A_RESTORE_CANNOT_KEEP,
  metadataEqual,
  type NodeMetadata,
} from "../snapshot/fs-metadata.js";
import type { TreeNode } from "../snapshot/tree.js";
import { FsObjectStore } from "../storage/fs/fs-store.js";

/** The checkout: this file runs as dist-test/testing/cli.js. */
export const PROJECT_ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const CLI = join(PROJECT_ROOT, "bin", "rempart.js");
export const PASSWORD = "correct horse battery staple";
export const IS_ROOT = process.getuid?.() === 0;
/** The unprivileged user the "unreadable file" cases run as (Debian's nobody). */
export const NOBODY = 65534;

const MiB = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Temporary directories

/** Anything with an `after` hook: a TestContext or a SuiteContext-like object. */
export interface Cleanup {
  after(fn: () => void | Promise<void>): void;
}

/** A fresh directory under os.tmpdir(), removed when the test (or suite) that asked ends. */
export function tempDir(owner: Cleanup, label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `rempart-${label}-`));
  owner.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function mount(args: readonly string[], command = "mount"): void {
  const result = spawnSync(command, args, { encoding: "utf8" });
  assert.equal(result.status, 0, `${command} ${args.join(" ")}: ${result.stderr}`);
}

/** A fresh tmpfs of `mib` MiB (root only), unmounted and removed after the test. */
export function smallFilesystem(owner: Cleanup, label: string, mib: number): string {
  // Not inside another temporary directory: it must be unmounted before it can be removed.
  const dir = mkdtempSync(join(tmpdir(), `rempart-${label}-tmpfs-`));
  mount(["-t", "tmpfs", "-o", `size=${mib}m`, "tmpfs", dir]);
  owner.after(() => {
    mount(["-l", dir], "umount");
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/** Gives the tmpfs at `dir` (smallFilesystem) `mib` MiB. */
export function resizeFilesystem(dir: string, mib: number): void {
  mount(["-o", `remount,size=${mib}m`, dir]);
}

// ---------------------------------------------------------------------------------------------
// Running the CLI

export interface CliOptions {
  /** REMPART_PASSWORD for the child; null runs it without any password in its environment */
  readonly password?: string | null;
  /** extra environment (undefined removes a variable) */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly cwd?: string;
  /** run as this uid and gid, without supplementary groups (needs root: setpriv) */
  readonly asUser?: number;
  /**
   * A guard against a hung child (a restore blocked on a FIFO, say), not a timing assertion:
   * the child is killed and the promise rejects.
   */
  readonly hangGuardMs?: number;
}

export interface CliResult {
  /** exit code, or null when killed by a signal */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stdoutBytes: Buffer;
  readonly stderr: string;
}

export interface RunningCli {
  readonly child: ChildProcess;
  readonly result: Promise<CliResult>;
}

/**
 * What a spawned `rempart` sees: this process's environment without its REMPART_ and test-runner
 * variables, then the password and `options.env`.
 */
export function childEnvironment(options: CliOptions = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    // The child must see only what the test gives it, and must not think it is a test runner.
    if (name.startsWith("REMPART_") || name.startsWith("NODE_TEST")) continue;
    env[name] = value;
  }
  const password = options.password === undefined ? PASSWORD : options.password;
  if (password !== null) env.REMPART_PASSWORD = password;
  for (const [name, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

/** Starts `rempart ARGS…`; stdin is closed, so no command can wait for a typed password. */
export function startCli(args: readonly string[], options: CliOptions = {}): RunningCli {
  const command = options.asUser === undefined ? process.execPath : "setpriv";
  const argv =
    options.asUser === undefined
      ? [CLI, ...args]
      : [
          `--reuid=${options.asUser}`,
          `--regid=${options.asUser}`,
          "--clear-groups",
          process.execPath,
          CLI,
          ...args,
        ];
  const child = spawn(command, argv, {
    cwd: options.cwd ?? tmpdir(),
    env: childEnvironment(options),
    stdio: ["ignore", "pipe", "pipe"],
  });
  const result = new Promise<CliResult>((resolve, reject) => {
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout?.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk));
    const guardMs = options.hangGuardMs ?? 180_000;
    let hung = false;
    const guard = setTimeout(() => {
      hung = true;
      child.kill("SIGKILL");
    }, guardMs);
    child.on("error", (error) => {
      clearTimeout(guard);
      reject(error);
    });
    child.on("close", (code, signal) => {
      clearTimeout(guard);
      const stdoutBytes = Buffer.concat(stdout);
      const err = Buffer.concat(stderr).toString("utf8");
      if (hung) {
        reject(new Error(`rempart ${args.join(" ")} hung for ${guardMs} ms; stderr:\n${err}`));
        return;
      }
      resolve({ code, signal, stdout: stdoutBytes.toString("utf8"), stdoutBytes, stderr: err });
    });
  });
  return { child, result };
}

export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  return startCli(args, options).result;
}

/** A readable account of a result, for assertion messages. */
export function describeResult(result: CliResult): string {
  const stdout = result.stdout.length > 4000 ? `${result.stdout.slice(0, 4000)}…` : result.stdout;
  return `exit ${result.code ?? result.signal}\n--- stdout\n${stdout}\n--- stderr\n${result.stderr}`;
}

/** Asserts the exit code and returns the result, so calls chain. */
export function expectExit(result: CliResult, code: number, why = ""): CliResult {
  assert.equal(result.code, code, `${why}${why ? ": " : ""}${describeResult(result)}`);
  return result;
}

/**
 * An expected failure is a sentence for a person, never an internal error or a stack trace. The
 * sentence is on stderr, except for commands whose report is the failure (check: stdout).
 */
export function assertCleanFailure(
  result: CliResult,
  messageOn: "stderr" | "stdout" = "stderr",
): void {
  assert.notEqual(result.code, 0, `expected a failure\n${describeResult(result)}`);
  assert.equal(result.signal, null, `the command crashed\n${describeResult(result)}`);
  assert.doesNotMatch(result.stderr, /internal error/i, describeResult(result));
  assert.doesNotMatch(result.stderr, /^\s*at .*:\d+:\d+\)?$/m, describeResult(result));
  assert.doesNotMatch(
    result.stderr,
    /\b(TypeError|RangeError|ReferenceError|SyntaxError)\b/,
    describeResult(result),
  );
  assert.ok(
    result[messageOn].trim().length > 0,
    `no message on ${messageOn}\n${describeResult(result)}`,
  );
}

/** Every JSON document the command printed, one per line. */
export function jsonLines(stdout: string): unknown[] {
  return stdout
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as unknown);
}

/** The one JSON document a `--json` command printed. */
export function jsonOutput<T>(result: CliResult): T {
  const documents = jsonLines(result.stdout);
  assert.equal(documents.length, 1, `expected one JSON document\n${describeResult(result)}`);
  return documents[0] as T;
}

/** The final summary line of `backup --json`. */
export interface BackupSummary {
  readonly message_type: "summary";
  readonly snapshot_id: string;
  readonly parent: string | null;
  readonly files_new: number;
  readonly files_changed: number;
  readonly files_unchanged: number;
  readonly dirs: number;
  readonly files_unreadable: number;
  readonly bytes_read: number;
  readonly bytes_added: number;
  readonly bytes_stored: number;
  readonly total_files: number;
  readonly total_bytes: number;
  readonly duration_ms: number;
}

export function backupSummary(result: CliResult): BackupSummary {
  const documents = jsonLines(result.stdout) as { message_type?: string }[];
  const last = documents.at(-1);
  assert.equal(last?.message_type, "summary", `no summary line\n${describeResult(result)}`);
  for (const document of documents.slice(0, -1))
    assert.equal(document.message_type, "status", "only status lines precede the summary");
  const summary = last as BackupSummary;
  assert.match(summary.snapshot_id, /^[0-9a-f]{64}$/);
  return summary;
}

/** `init` then `backup --json PATHS`, both required to succeed. */
export async function initAndBackup(
  repo: string,
  paths: readonly string[],
  options: CliOptions = {},
): Promise<BackupSummary> {
  expectExit(await runCli(["init", "--repo", repo], options), 0, "init");
  return backupSummary(
    expectExit(await runCli(["backup", "--repo", repo, "--json", ...paths], options), 0, "backup"),
  );
}

// ---------------------------------------------------------------------------------------------
// The repository on disk

export interface StoredObject {
  readonly name: string;
  readonly path: string;
  readonly size: number;
}

/** The objects of one kind as files: `data` is fanned out in two-hex-digit directories. */
export function listObjects(
  repo: string,
  kind: "data" | "index" | "snapshots" | "keys",
): StoredObject[] {
  const root = join(repo, kind);
  if (!existsSync(root)) return [];
  const dirs = kind === "data" ? readdirSync(root).map((d) => join(root, d)) : [root];
  const objects: StoredObject[] = [];
  for (const dir of dirs)
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      objects.push({ name, path, size: statSync(path).size });
    }
  return objects.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Bytes of every stored object (config, keys, index, snapshots, packs); tmp/ is not counted. */
export function repositoryBytes(repo: string): number {
  let total = statSync(join(repo, "config")).size;
  for (const kind of ["data", "index", "snapshots", "keys"] as const)
    for (const object of listObjects(repo, kind)) total += object.size;
  return total;
}

/**
 * Opens the repository in this process, through the compiled modules, for what only a key holder
 * can do: locate a file's blobs (forging takes the key itself: forge-test-support.ts).
 */
export async function openRepository(repo: string, password = PASSWORD): Promise<Repository> {
  return Repository.open(await FsObjectStore.open(repo), { password });
}

// ---------------------------------------------------------------------------------------------
// Generating content

/**
 * Deterministic incompressible bytes: the AES-256-CTR keystream under a key derived from `seed`,
 * so a test can regenerate any file and no two seeds share a chunk.
 */
function keystream(seed: string): (length: number) => Buffer {
  const key = createHash("sha256").update(`rempart test data ${seed}`).digest();
  const cipher = createCipheriv("aes-256-ctr", key, Buffer.alloc(16));
  return (length) => cipher.update(Buffer.alloc(length));
}

export function pseudoRandomBytes(seed: string, length: number): Buffer {
  return keystream(seed)(length);
}

/** Writes `size` pseudo-random bytes to a new file, 1 MiB at a time. */
export function writePseudoRandomFile(path: string, size: number, seed: string): void {
  const next = keystream(seed);
  const fd = openSync(path, "wx");
  try {
    for (let written = 0; written < size; ) {
      const block = next(Math.min(MiB, size - written));
      writeSync(fd, block);
      written += block.length;
    }
  } finally {
    closeSync(fd);
  }
}

/** Inserts `bytes` at `offset` of an existing file, shifting the rest. */
export function insertIntoFile(path: string, offset: number, bytes: Uint8Array): void {
  const fd = openSync(path, "r+");
  try {
    const size = fstatSync(fd).size;
    const tail = Buffer.alloc(size - offset);
    let read = 0;
    while (read < tail.length) read += readSync(fd, tail, read, tail.length - read, offset + read);
    writeSync(fd, bytes, 0, bytes.length, offset);
    writeSync(fd, tail, 0, tail.length, offset + bytes.length);
  } finally {
    closeSync(fd);
  }
}

/** XORs one byte of a file with 0xff, even in a read-only object file. */
export function flipByte(path: string, offset: number): void {
  const mode = statSync(path).mode & 0o7777;
  chmodSync(path, mode | 0o200);
  const fd = openSync(path, "r+");
  try {
    const byte = Buffer.alloc(1);
    assert.equal(readSync(fd, byte, 0, 1, offset), 1, `${path} has no byte at ${offset}`);
    byte[0] = (byte[0] as number) ^ 0xff;
    writeSync(fd, byte, 0, 1, offset);
  } finally {
    closeSync(fd);
    chmodSync(path, mode);
  }
}

/** SHA-256 of a file, streamed. */
export async function hashFile(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: MiB })) hash.update(chunk);
  return hash.digest("hex");
}

/** SHA-256 of `length` zero bytes, without allocating them all. */
export function zerosHash(length: number): string {
  const hash = createHash("sha256");
  const block = Buffer.alloc(Math.min(length, 8 * MiB));
  for (let done = 0; done < length; done += block.length)
    hash.update(block.subarray(0, Math.min(block.length, length - done)));
  return hash.digest("hex");
}

// ---------------------------------------------------------------------------------------------
// Capturing and comparing trees

/** Every entry below root (root itself is ""), keyed by its path relative to root. */
export type TreeCapture = Map<string, NodeMetadata>;

export function captureTree(root: string): TreeCapture {
  const entries: TreeCapture = new Map();
  const visit = (path: string, relative: string): void => {
    const stats = lstatSync(path);
    // The root is named "." on both sides so that trees in differently named places compare.
    entries.set(relative, captureMetadata(path, relative === "" ? "." : basename(path), stats));
    if (!stats.isDirectory()) return;
    for (const name of readdirSync(path).sort())
      visit(join(path, name), relative === "" ? name : `${relative}/${name}`);
  };
  visit(root, "");
  return entries;
}

export interface CompareOptions {
  /** fields not compared, besides those no restore can keep (inode, device, ctime, atime) */
  readonly ignore?: ReadonlyArray<keyof TreeNode>;
  /** relative paths left out of the comparison on both sides */
  readonly exclude?: (relative: string) => boolean;
}

/**
 * Differences between two trees, as sentences; empty when `actual` is a bit-exact copy of
 * `expected`: the same entries, the same metadata (metadataEqual: type, mode with setuid and
 * sticky bits, owner, mtime to the microsecond, size, link target, link count, xattrs), the same
 * bytes in every regular file, and the same hard-link groups.
 */
export async function compareTrees(
  expected: string,
  actual: string,
  options: CompareOptions = {},
): Promise<string[]> {
  const exclude = options.exclude ?? (() => false);
  const ignore = [...FIELDS_A_RESTORE_CANNOT_KEEP, ...(options.ignore ?? [])];
  // Metadata first: hashing the content afterwards touches only access times.
  const before = captureTree(expected);
  const after = captureTree(actual);
  const differences: string[] = [];
  const show = (relative: string) => JSON.stringify(relative === "" ? "." : relative);
  for (const relative of before.keys())
    if (!exclude(relative) && !after.has(relative))
      differences.push(`${show(relative)} is missing`);
  for (const relative of after.keys())
    if (!exclude(relative) && !before.has(relative))
      differences.push(`${show(relative)} should not exist`);
  const inodes = new Map<number, number>();
  const claimed = new Map<number, number>();
  for (const [relative, a] of before) {
    const b = after.get(relative);
    if (b === undefined || exclude(relative)) continue;
    for (const difference of metadataEqual(a, b, { ignore }))
      differences.push(`${show(relative)}: ${difference}`);
    if (a.type !== "file" || b.type !== "file") continue;
    if (a.size === b.size) {
      const [x, y] = await Promise.all([
        hashFile(join(expected, relative)),
        hashFile(join(actual, relative)),
      ]);
      if (x !== y) differences.push(`${show(relative)}: content differs`);
    } else differences.push(`${show(relative)}: content differs (size)`);
    // Hard links: the same inode on one side must be the same inode on the other, and only that.
    const mapped = inodes.get(a.inode);
    if (mapped === undefined) {
      const owner = claimed.get(b.inode);
      if (owner !== undefined && owner !== a.inode)
        differences.push(`${show(relative)}: hard-linked to a file it was not linked to`);
      inodes.set(a.inode, b.inode);
      claimed.set(b.inode, a.inode);
    } else if (mapped !== b.inode) {
      differences.push(`${show(relative)}: no longer a hard link of its original's other names`);
    }
  }
  return differences;
}

/** Asserts `actual` is a bit-exact copy of `expected` (see compareTrees). */
export async function assertSameTree(
  expected: string,
  actual: string,
  options: CompareOptions = {},
): Promise<void> {
  const differences = await compareTrees(expected, actual, options);
  assert.deepEqual(differences, [], `${actual} differs from ${expected}`);
}
