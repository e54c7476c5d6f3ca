/**
 * The jobs `rempart server` runs on its own schedule, as Proxmox Backup Server does: prune and
 * GC nightly, due tenant deletions hourly, and the backup-health alerts every quarter hour.
 *
 * - A job still running is never started a second time: a trigger meanwhile (its schedule, or a
 *   call to `run`) gets the run in progress.
 * - The destructive jobs (prune, GC, deletions) run one at a time in this process and under the
 *   data directory's maintenance lock (`withGcLock`), the one `rempart admin gc` and
 *   `run-deletions` take: while an admin command holds it, the job is skipped (`busy`) and runs
 *   at its next time.
 * - A failure is logged and audited (`job.fail`), never thrown: the server goes on serving.
 * - The last result of each job and the count of runs by outcome are kept for the metrics.
 */
import { nextRun, parseCron } from "../../agent/cron.js";
import type { AuditActor, Catalog } from "../../catalog/catalog.js";
import { isRempartError } from "../../errors.js";
import type { TenantStoreSet } from "../../storage/tenant-store-set.js";
import { DEFAULT_GRACE_MS, withGcLock } from "../gc/gc.js";
import { raiseBackupAlerts } from "./alerts-job.js";
import { deletionsJob, gcJob, pruneJob } from "./maintenance.js";
import { type JobOutcome, messageOf } from "./outcome.js";

export const JOB_NAMES = ["prune", "gc", "deletions", "alerts"] as const;
export type JobName = (typeof JOB_NAMES)[number];

/** The first run time strictly after `after`. */
export type Schedule = (after: Date) => Date;

/** crontab(5) expressions in the server's local time; prune runs before GC, which frees its packs. */
export const DEFAULT_SCHEDULES: Readonly<Record<JobName, string>> = {
  prune: "30 1 * * *",
  gc: "30 2 * * *",
  deletions: "15 * * * *",
  alerts: "*/15 * * * *",
};

/**
 * A crontab(5) expression (the agent's own parser: one cron dialect in Rempart), or `off`: the
 * job does not run on its own. `InvalidArgument` naming what is wrong.
 */
export function cronSchedule(expression: string): Schedule | undefined {
  if (expression.trim().toLowerCase() === "off") return undefined;
  const parsed = parseCron(expression);
  return (after) => nextRun(parsed, after);
}

export const JOB_OUTCOMES = ["ok", "failed", "busy"] as const;
export type JobRunOutcome = (typeof JOB_OUTCOMES)[number];

export interface JobResult {
  readonly job: JobName;
  readonly startedAt: Date;
  readonly durationMs: number;
  /** `busy`: another process held the maintenance lock; nothing was done. */
  readonly outcome: JobRunOutcome;
  readonly summary: string;
  readonly counts: Readonly<Record<string, number>>;
  readonly error: string | null;
}

export interface JobStats {
  readonly last: JobResult | undefined;
  readonly runs: Readonly<Record<JobRunOutcome, number>>;
}

export interface JobsDeps {
  readonly catalog: Catalog;
  readonly stores: TenantStoreSet;
  /** Where the maintenance lock lives. */
  readonly dataDir: string;
  /** The server's clock: what the jobs judge ages and due times by. */
  readonly now: () => Date;
  readonly log: (line: string) => void;
}

export interface JobsOptions {
  /** When each job runs; a job without one does not run on its own (it still runs on `run`). */
  readonly schedules: Readonly<Partial<Record<JobName, Schedule>>>;
  /** GC spares packs younger than this; default `DEFAULT_GRACE_MS`. */
  readonly gcGraceMs?: number | undefined;
}

/** setTimeout's longest delay; a later run is reached by waking up and arming again. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const EXCLUSIVE: ReadonlySet<JobName> = new Set(["prune", "gc", "deletions"]);
const SYSTEM: AuditActor = { kind: "system", id: "jobs" };

export class JobRunner {
  readonly #deps: JobsDeps;
  readonly #options: JobsOptions;
  readonly #running = new Map<JobName, Promise<JobResult>>();
  readonly #stats = new Map<JobName, { last?: JobResult; runs: Record<JobRunOutcome, number> }>();
  readonly #timers = new Map<JobName, NodeJS.Timeout>();
  /** The destructive jobs, one after the other. */
  #maintenance: Promise<unknown> = Promise.resolve();
  #stopped = false;

  constructor(deps: JobsDeps, options: JobsOptions) {
    this.#deps = deps;
    this.#options = options;
    for (const job of JOB_NAMES) this.#stats.set(job, { runs: { ok: 0, failed: 0, busy: 0 } });
  }

  /** Arms every scheduled job. */
  start(): void {
    for (const job of JOB_NAMES) this.#arm(job);
  }

  #arm(job: JobName): void {
    const schedule = this.#options.schedules[job];
    if (schedule === undefined || this.#stopped) return;
    const due = schedule(new Date()).getTime();
    const wake = (): void => {
      const left = due - Date.now();
      if (left > 0) {
        this.#timers.set(job, setTimeout(wake, Math.min(left, MAX_TIMER_MS)).unref());
        return;
      }
      void this.run(job).then(() => this.#arm(job));
    };
    wake();
  }

  /** Runs the job now, or answers the run in progress. Never rejects. */
  run(job: JobName): Promise<JobResult> {
    const running = this.#running.get(job);
    if (running !== undefined) return running;
    const started = this.#execute(job).finally(() => this.#running.delete(job));
    this.#running.set(job, started);
    return started;
  }

  /** Each job's last result and run counts. */
  stats(): ReadonlyMap<JobName, JobStats> {
    return new Map(
      [...this.#stats].map(([job, s]) => [job, { last: s.last, runs: { ...s.runs } }]),
    );
  }

  /** No more runs; resolves once the runs in progress have ended. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    await Promise.allSettled([...this.#running.values()]);
  }

  #work(job: JobName, now: Date): Promise<JobOutcome> {
    const { catalog, stores } = this.#deps;
    switch (job) {
      case "prune":
        return pruneJob({ catalog, stores }, now);
      case "gc":
        return gcJob({ catalog, stores }, now, this.#options.gcGraceMs ?? DEFAULT_GRACE_MS);
      case "deletions":
        return deletionsJob({ catalog, stores }, now);
      case "alerts":
        return raiseBackupAlerts(catalog, now);
    }
  }

  /** The job under the maintenance lock if it needs it. */
  #guarded(job: JobName): Promise<JobOutcome> {
    if (!EXCLUSIVE.has(job)) return this.#work(job, this.#deps.now());
    const turn = this.#maintenance.then(() =>
      withGcLock(this.#deps.dataDir, () => this.#work(job, this.#deps.now())),
    );
    this.#maintenance = turn.catch(() => {});
    return turn;
  }

  async #execute(job: JobName): Promise<JobResult> {
    const startedAt = this.#deps.now();
    const clock = performance.now();
    let result: JobResult;
    try {
      const outcome = await this.#guarded(job);
      const failed = outcome.failures.length > 0;
      result = {
        job,
        startedAt,
        durationMs: performance.now() - clock,
        outcome: failed ? "failed" : "ok",
        summary: outcome.summary,
        counts: outcome.counts,
        error: failed ? outcome.failures.join("; ") : null,
      };
    } catch (error) {
      const busy = isRempartError(error, "ObjectConflict") && error.details.reason === "gc-running";
      result = {
        job,
        startedAt,
        durationMs: performance.now() - clock,
        outcome: busy ? "busy" : "failed",
        summary: busy ? "skipped: another process holds the maintenance lock" : "failed",
        counts: {},
        error: messageOf(error),
      };
    }
    await this.#record(result);
    return result;
  }

  async #record(result: JobResult): Promise<void> {
    const stats = this.#stats.get(result.job);
    if (stats !== undefined) {
      stats.last = result;
      stats.runs[result.outcome] += 1;
    }
    const took = `${Math.round(result.durationMs)} ms`;
    if (result.outcome !== "failed") {
      this.#deps.log(`job ${result.job}: ${result.summary} (${took})`);
      return;
    }
    this.#deps.log(`job ${result.job} failed (${took}): ${result.error ?? result.summary}`);
    try {
      await this.#deps.catalog.appendAudit(
        {
          actor: SYSTEM,
          action: "job.fail",
          tenantId: null,
          details: {
            job: result.job,
            summary: result.summary,
            error: (result.error ?? "").slice(0, 2000),
          },
        },
        this.#deps.now(),
      );
    } catch (error) {
      this.#deps.log(`job ${result.job}: the failure could not be audited: ${messageOf(error)}`);
    }
  }
}
