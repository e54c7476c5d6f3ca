/**
 * The agent as a service: backs up the configured paths when the schedule says, tries again with
 * exponential backoff and jitter (storage/retry.ts) while the server cannot be reached, and checks in (version, last backup
 * result) after every attempt, and runs a weekly restore drill (drill.ts). A stop request (SIGTERM) is honoured between steps: a backup in
 * progress finishes first, since an interrupted one would only be resumed at the next run.
 */
import { availableParallelism, hostname } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { backup } from "../backup/archiver.js";
import { seriesIn } from "../backup/series.js";
import { isRempartError, RempartError } from "../errors.js";
import { API_PREFIX, type CheckinRequest } from "../protocol/api.js";
import { Repository } from "../repository/repository.js";
import { PinnedClient } from "../storage/http/pinned-client.js";
import { type Backoff, backoffDelay } from "../storage/retry.js";
import { REMPART_VERSION as VERSION } from "../version.js";
import {
  type AgentConfig,
  agentCacheDir,
  agentConnection,
  agentOpenOptions,
  agentStore,
} from "./config.js";
import { nextRun, parseCron } from "./cron.js";
import { drillAndReport, drillSettings } from "./drill.js";
import { type AgentState, writeAgentState } from "./state.js";

export interface BackupAttempt {
  readonly at: Date;
  readonly outcome: "success" | "partial" | "failure";
  readonly snapshotId?: string;
  readonly error?: string;
  /** the server could not be reached: worth trying again soon */
  readonly unreachable: boolean;
}

export interface RunOptions {
  readonly config: AgentConfig;
  /** one backup and its check-in, then return */
  readonly once: boolean;
  /** aborted: stop after the step in progress */
  readonly stop: AbortSignal;
  readonly log: (line: string) => void;
  readonly now?: () => Date;
  /** waits after an unreachable server: the first, doubled up to the last; default 30 s to 30 min */
  readonly backoff?: Backoff;
  /** where each attempt and check-in is remembered for `rempart agent status` (state.ts) */
  readonly statePath?: string;
}

const DEFAULT_BACKOFF: Backoff = { firstMs: 30_000, maxMs: 30 * 60_000 };
/** The check-in's error text is bounded by the wire contract. */
const MAX_ERROR_TEXT = 2000;

/** Runs until stopped (or after one attempt with `once`); answers the last attempt. */
export async function runAgent(options: RunOptions): Promise<BackupAttempt | undefined> {
  const { config, stop, log } = options;
  const now = options.now ?? (() => new Date());
  const backoff = options.backoff ?? DEFAULT_BACKOFF;
  const schedule = parseCron(config.schedule);
  if (config.paths.length === 0)
    throw new RempartError(
      "InvalidArgument",
      `no paths to back up: add them to "paths" in the agent configuration`,
    );
  let last: BackupAttempt | undefined;
  if (!options.once) await checkIn(config, undefined, log);
  let failures = 0;
  // Restore drills (drill.ts) run between backups on their own schedule, never during one.
  const drill = drillSettings(config);
  let drillDue = drill === false || options.once ? undefined : nextRun(drill.schedule, now());
  while (!stop.aborted) {
    if (!options.once) {
      const due =
        failures > 0
          ? new Date(now().getTime() + backoffDelay(backoff, failures))
          : nextRun(schedule, now());
      log(`${failures > 0 ? "retrying" : "next backup"} at ${due.toISOString()}`);
      if (drill !== false && drillDue !== undefined && drillDue < due) {
        log(`next restore drill at ${drillDue.toISOString()}`);
        if (!(await waitUntil(drillDue, now, stop))) break;
        await drillAndReport(config, drill, log);
        drillDue = nextRun(drill.schedule, now());
        continue;
      }
      if (!(await waitUntil(due, now, stop))) break;
    }
    last = await backupOnce(config, now, log);
    const checkedIn = await checkIn(config, last, log);
    if (options.statePath !== undefined)
      await remember(options.statePath, last, { at: now().toISOString(), ok: checkedIn }, log);
    if (options.once) break;
    // Only an unreachable server is retried early; other failures wait for the schedule.
    failures = last.unreachable ? failures + 1 : 0;
  }
  return last;
}

/** One backup of the configured paths to the server; failures are reported, not thrown. */
export async function backupOnce(
  config: AgentConfig,
  now: () => Date,
  log: (line: string) => void,
): Promise<BackupAttempt> {
  const at = now();
  const store = agentStore(
    config,
    (notice) => log(`server unreachable (${notice.reason}), trying again in ${notice.delayMs} ms`),
    agentCacheDir(config),
  );
  try {
    log(`backing up ${config.paths.join(", ")}`);
    const repo = await Repository.open(
      store,
      { password: config.repositoryPassword },
      {
        ...agentOpenOptions(config),
        // The index and the parent snapshot are asked for while the key slot's KDF runs.
        loadsIndex: true,
        listsSnapshots: true,
        onSkipped: (objects) =>
          log(
            `skipped ${objects.length} object(s) that fail to open: ${objects.map((o) => `${o.kind}/${o.name.slice(0, 16)}`).join(", ")}`,
          ),
      },
    );
    const host = hostname();
    const series = await seriesIn(repo, host, config.paths);
    const result = await backup(repo, {
      paths: config.paths,
      tags: ["agent"],
      host,
      excludes: config.exclude,
      ...series,
      workers: Math.max(1, Math.min(2, availableParallelism())),
      onWarning: ({ path, message }) => log(`warning: cannot read ${path}: ${message}`),
      onResume: (adopted) => log(`resuming: reused ${adopted} pack(s) of an interrupted backup`),
    });
    const s = result.snapshot.summary;
    log(
      `snapshot ${result.id.slice(0, 8)} saved: ${s.totalFiles} files, ${s.bytesAdded} new bytes${s.unreadable > 0 ? `, ${s.unreadable} unreadable` : ""}`,
    );
    return {
      at,
      outcome: s.unreadable > 0 ? "partial" : "success",
      snapshotId: result.id,
      unreachable: false,
    };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    log(`backup failed: ${message}`);
    // An unexpected error is a bug worth its stack in the service's log; the check-in gets the line.
    if (!isRempartError(error) && error instanceof Error && error.stack) log(error.stack);
    return {
      at,
      outcome: "failure",
      error: message.slice(0, MAX_ERROR_TEXT),
      unreachable: isRempartError(error, "Io") && typeof error.details.errno === "string",
    };
  } finally {
    store.close();
  }
}

/** Reports the agent's version and last result; a failed check-in is logged, never fatal. */
export async function checkIn(
  config: AgentConfig,
  last: BackupAttempt | undefined,
  log: (line: string) => void,
): Promise<boolean> {
  const report: CheckinRequest = {
    version: VERSION,
    ...(last === undefined
      ? {}
      : {
          last_backup: {
            at: last.at.toISOString(),
            outcome: last.outcome,
            ...(last.snapshotId === undefined ? {} : { snapshot_id: last.snapshotId }),
            ...(last.error === undefined ? {} : { error: last.error }),
          },
        }),
  };
  const client = new PinnedClient(agentConnection(config));
  try {
    await client.json("POST", `${API_PREFIX}/agent/checkin`, report, true);
    return true;
  } catch (error) {
    log(`check-in failed: ${error instanceof Error ? error.message : String(error)}`);
    return false;
  } finally {
    client.close();
  }
}

/** A state that cannot be written is logged: the backup itself is done and reported. */
async function remember(
  path: string,
  attempt: BackupAttempt,
  lastCheckIn: NonNullable<AgentState["lastCheckIn"]>,
  log: (line: string) => void,
): Promise<void> {
  const state: AgentState = {
    lastBackup: {
      at: attempt.at.toISOString(),
      outcome: attempt.outcome,
      ...(attempt.snapshotId === undefined ? {} : { snapshotId: attempt.snapshotId }),
      ...(attempt.error === undefined ? {} : { error: attempt.error }),
    },
    lastCheckIn,
  };
  try {
    await writeAgentState(path, state);
  } catch (error) {
    log(
      `cannot remember the last backup: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

/** False when stopped before `due`. Sleeps in slices so a changed wall clock is noticed. */
async function waitUntil(due: Date, now: () => Date, stop: AbortSignal): Promise<boolean> {
  for (;;) {
    const left = due.getTime() - now().getTime();
    if (stop.aborted) return false;
    if (left <= 0) return true;
    try {
      await sleep(Math.min(left, 60_000), undefined, { signal: stop });
    } catch {
      return false;
    }
  }
}
