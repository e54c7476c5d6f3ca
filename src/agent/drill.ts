/**
 * The restore drill: proof, each week, that the backups of this machine can be restored. The
 * agent restores a random sample of the files of its latest snapshot into a scratch folder with
 * the ordinary restore, reads every restored file back and checks it blob by blob against the
 * snapshot's tree (the keyed blob ids: a file is right only if each of its pieces hashes to the
 * id the snapshot lists), removes the scratch folder whatever happens, and reports to the server.
 *
 * What reaches the server is counts, bytes, a duration and the failure in words, never a file
 * name or path (as for detection): the server must not learn what the client's files are called.
 * Names stay in the agent's own log.
 *
 * The scratch folder is made with mkdtemp (mode 0700: the restored files are the client's data)
 * in the system's temporary folder or `drill.scratchParent`; a drill killed outright leaves it
 * behind, and the next drill removes such leftovers once they are a day old.
 */
import { randomInt } from "node:crypto";
import { mkdtemp, open, readdir, rm, stat } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { isRempartError } from "../errors.js";
import { API_PREFIX, type Drill, type DrillRequest } from "../protocol/api.js";
import { Repository, type StoredSnapshot } from "../repository/repository.js";
import { restore } from "../restore/restorer.js";
import { fsPath } from "../snapshot/filename.js";
import { PinnedClient } from "../storage/http/pinned-client.js";
import { type AgentConfig, agentConnection, agentOpenOptions, agentStore } from "./config.js";
import { DEFAULT_DRILL, type DrillSettings } from "./drill-config.js";
import { type Random, type SampledFile, sampleSnapshot } from "./drill-sample.js";

export interface DrillResult {
  /** null when the drill failed before it chose a snapshot */
  readonly snapshotId: string | null;
  readonly ok: boolean;
  /** files and bytes restored and verified */
  readonly files: number;
  readonly bytes: number;
  /** the restore's time, verification excluded: bytes / duration is the restore rate */
  readonly durationMs: number;
  /** the first failure, without any file name */
  readonly error: string | null;
}

export interface DrillOptions {
  readonly log: (line: string) => void;
  readonly random?: Random;
}

const SCRATCH_PREFIX = "rempart-drill-";
/** A leftover scratch folder younger than this may be another drill's, running now. */
const LEFTOVER_AGE_MS = 24 * 3600_000;
/** The wire's bound on the failure text. */
const MAX_ERROR_TEXT = 2000;

/** The drill settings in force: the configuration's, or the defaults. */
export function drillSettings(config: AgentConfig): DrillSettings | false {
  return config.drill ?? DEFAULT_DRILL;
}

function codeOf(error: unknown): string {
  if (isRempartError(error)) return error.code;
  const errno = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof errno === "string" ? errno : "unexpected error";
}

function oneLine(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds.
  return text.replace(/[\u0000-\u001f\u007f]+/g, " ").slice(0, MAX_ERROR_TEXT);
}

/**
 * The first difference between a restored file and its tree entry, in words (no name), or
 * undefined when equal: each piece of the file must hash, under the repository's key, to the blob
 * id the tree lists, and nothing may follow the last one.
 */
export async function verifyRestoredFile(
  repo: Repository,
  path: string | Buffer,
  file: SampledFile,
): Promise<string | undefined> {
  const handle = await open(path, "r").catch(() => undefined);
  if (handle === undefined) return "is missing after the restore";
  try {
    const content = file.node.content ?? [];
    let offset = 0;
    for (const [index, id] of content.entries()) {
      const [location] = await repo.blobLocations(id);
      if (location === undefined) return `lists blob ${index + 1}, which no index holds`;
      const piece = Buffer.alloc(location.rawLength);
      const { bytesRead } = await handle.read(piece, 0, piece.length, offset);
      if (bytesRead !== piece.length || repo.keyedId(piece) !== id)
        return `differs from the snapshot in blob ${index + 1} of ${content.length} (at byte ${offset})`;
      offset += piece.length;
    }
    const { size } = await handle.stat();
    if (size !== offset || size !== (file.node.size ?? 0))
      return `is ${size} bytes, the snapshot says ${file.node.size ?? 0}`;
    return undefined;
  } finally {
    await handle.close();
  }
}

/** Removes scratch folders of drills killed before they could clean up. */
async function removeLeftovers(parent: string, now: number, log: (line: string) => void) {
  const names = await readdir(parent).catch(() => [] as string[]);
  for (const name of names.filter((n) => n.startsWith(SCRATCH_PREFIX))) {
    const path = join(parent, name);
    const info = await stat(path).catch(() => undefined);
    if (info?.isDirectory() && now - info.mtimeMs > LEFTOVER_AGE_MS) {
      // Another user's (a shared /tmp) is theirs to remove: a failure here never stops a drill.
      await rm(path, { recursive: true, force: true }).then(
        () => log(`removed ${path}, left by an interrupted drill`),
        (error: Error) => log(`cannot remove ${path}, left by an earlier drill: ${error.message}`),
      );
    }
  }
}

/** Restores and verifies the sample in a scratch folder it removes before returning. */
async function restoreSample(
  repo: Repository,
  snapshot: StoredSnapshot,
  sample: readonly SampledFile[],
  parent: string,
  log: (line: string) => void,
): Promise<Omit<DrillResult, "snapshotId">> {
  const scratch = await mkdtemp(join(parent, SCRATCH_PREFIX));
  try {
    const started = performance.now();
    const restored = await restore(repo, snapshot, {
      target: scratch,
      include: sample.map((file) => file.path),
      owner: false,
      onWarning: (path, message) => log(`drill: warning: ${path}: ${message}`),
    });
    const durationMs = Math.round(performance.now() - started);
    const failures: string[] = [];
    let files = 0;
    let bytes = 0;
    for (const file of sample) {
      const damaged = restored.damaged.find((d) => d.path === file.path);
      const refused = restored.refused.find(
        (r) => file.path === r.path || file.path.startsWith(`${r.path}/`),
      );
      const problem =
        damaged !== undefined
          ? `could not be restored: ${damaged.error}`
          : refused !== undefined
            ? `was refused by the drill's scratch folder: ${refused.error}`
            : await verifyRestoredFile(repo, fsPath(`${scratch}${file.path}`), file);
      if (problem === undefined) {
        files += 1;
        bytes += file.node.size ?? 0;
      } else {
        log(`drill: ${file.path} ${problem}`);
        failures.push(
          problem.startsWith("could not")
            ? "could not be restored (its data fails verification)"
            : problem,
        );
      }
    }
    const [first] = failures;
    return {
      ok: first === undefined,
      files,
      bytes,
      durationMs,
      error:
        first === undefined
          ? null
          : `${failures.length} of ${sample.length} sampled file(s) failed; the first ${first}`,
    };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * One drill of the latest snapshot of this machine. Failures are results, not exceptions;
 * `undefined` when there is nothing to drill yet (no snapshot of this host).
 */
export async function runDrill(
  config: AgentConfig,
  settings: DrillSettings,
  options: DrillOptions,
): Promise<DrillResult | undefined> {
  const { log } = options;
  const random = options.random ?? randomInt;
  const parent = settings.scratchParent ?? tmpdir();
  await removeLeftovers(parent, Date.now(), log);
  const store = agentStore(config);
  let snapshotId: string | null = null;
  const failed = (what: string, error: unknown): DrillResult => {
    log(`drill: ${what}: ${error instanceof Error ? error.message : String(error)}`);
    return {
      snapshotId,
      ok: false,
      files: 0,
      bytes: 0,
      durationMs: 0,
      error: `${what} (${codeOf(error)})`,
    };
  };
  try {
    let repo: Repository;
    try {
      repo = await Repository.open(
        store,
        { password: config.repositoryPassword },
        agentOpenOptions(config),
      );
    } catch (error) {
      return failed("the repository could not be opened", error);
    }
    let snapshot: StoredSnapshot;
    try {
      snapshot = await repo.findSnapshot("latest", { host: hostname() });
    } catch (error) {
      if (isRempartError(error, "NotFound")) {
        log("drill: no snapshot of this machine yet, nothing to restore");
        return undefined;
      }
      return failed("the snapshots could not be listed", error);
    }
    snapshotId = snapshot.id;
    let sample: readonly SampledFile[];
    try {
      sample = (await sampleSnapshot(repo, snapshot.snapshot.tree, settings, random)).files;
    } catch (error) {
      return failed("the snapshot's folders could not be read", error);
    }
    log(`drill: restoring ${sample.length} file(s) of snapshot ${snapshot.id.slice(0, 8)}`);
    try {
      const result = await restoreSample(repo, snapshot, sample, parent, log);
      return { snapshotId, ...result, error: result.error === null ? null : oneLine(result.error) };
    } catch (error) {
      return failed("the restore failed", error);
    }
  } finally {
    store.close();
  }
}

/** Sends the result to the server; the recorded drill, or undefined when it could not be sent. */
export async function reportDrill(
  config: AgentConfig,
  result: DrillResult,
  log: (line: string) => void,
): Promise<Drill | undefined> {
  const report: DrillRequest = {
    snapshot_id: result.snapshotId,
    ok: result.ok,
    files: result.files,
    bytes: result.bytes,
    duration_ms: result.durationMs,
    ...(result.error === null ? {} : { error: result.error }),
  };
  const client = new PinnedClient(agentConnection(config));
  try {
    return await client.json<Drill>("POST", `${API_PREFIX}/agent/drills`, report, false);
  } catch (error) {
    log(`drill report failed: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  } finally {
    client.close();
  }
}

/** Drills and reports; failures are logged and reported, never thrown. */
export async function drillAndReport(
  config: AgentConfig,
  settings: DrillSettings,
  log: (line: string) => void,
): Promise<{ result: DrillResult; reported: boolean } | undefined> {
  const result = await runDrill(config, settings, { log });
  if (result === undefined) return undefined;
  log(
    result.ok
      ? `drill: ${result.files} file(s), ${result.bytes} bytes restored and verified in ${result.durationMs} ms`
      : `drill failed: ${result.error}`,
  );
  const reported = (await reportDrill(config, result, log)) !== undefined;
  return { result, reported };
}
