/**
 * The server's Prometheus metrics (prom-client, on a registry of its own rather than the
 * process-global one). Two sources:
 * - counters the dispatcher feeds with every answered request (`observe`): requests and their
 *   latency by method, route template and status, commits and refused commits per tenant, bytes
 *   of new objects per tenant. They count from the server's start, as Prometheus expects;
 * - gauges read from the catalog and the job runner at each scrape (`scrape`): bytes stored per
 *   tenant, each live agent's last-success age, open alerts by severity, the jobs' last results.
 *
 * Labels are bounded by what the MSP set up (tenants, agents, the route table), never by what a
 * client sends: a path is reported as its route's template, an unknown method as `other`.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Catalog } from "../../catalog/catalog.js";
import { MAX_PAGE } from "../../catalog/catalog.js";
import { ALERT_SEVERITIES } from "../../protocol/constants.js";
import type { JobName, JobStats } from "../jobs/runner.js";
import type { Answered, Method } from "../router.js";

const COMMIT_ROUTE = "/v1/repo/snapshots";
const PUT_ROUTE = "/v1/repo/objects/{kind}/{name}";
const METHODS: ReadonlySet<string> = new Set<Method | "DELETE">([
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "DELETE",
]);

export interface MetricsSources {
  readonly catalog: Catalog;
  readonly now: () => Date;
  /** The job runner's results; absent when the server runs no jobs. */
  readonly jobs?: (() => ReadonlyMap<JobName, JobStats>) | undefined;
}

export class ServerMetrics {
  readonly registry = new Registry();
  readonly #sources: MetricsSources;
  readonly #requests: Counter<"method" | "route" | "status">;
  readonly #latency: Histogram<"method" | "route">;
  readonly #backups: Counter<"tenant">;
  readonly #backupFailures: Counter<"tenant">;
  readonly #addedBytes: Counter<"tenant">;
  readonly #storedBytes: Gauge<"tenant">;
  readonly #quotaBytes: Gauge<"tenant">;
  readonly #successAge: Gauge<"tenant" | "agent" | "hostname">;
  readonly #lastFailed: Gauge<"tenant" | "agent" | "hostname">;
  readonly #openAlerts: Gauge<"severity">;
  readonly #jobLastRun: Gauge<"job">;
  readonly #jobDuration: Gauge<"job">;
  readonly #jobSuccess: Gauge<"job">;
  readonly #jobFreedBytes: Gauge<"job">;
  readonly #jobFreedObjects: Gauge<"job">;
  readonly #jobRuns: Gauge<"job" | "outcome">;
  /** Scrapes one after the other: each resets and refills the gauges it then prints. */
  #scraping: Promise<unknown> = Promise.resolve();

  constructor(sources: MetricsSources) {
    this.#sources = sources;
    const registers = [this.registry];
    this.#requests = new Counter({
      name: "rempart_http_requests_total",
      help: "Requests answered, by method, route template and status",
      labelNames: ["method", "route", "status"],
      registers,
    });
    this.#latency = new Histogram({
      name: "rempart_http_request_duration_seconds",
      help: "Time to answer a request (body included), by method and route template",
      labelNames: ["method", "route"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120],
      registers,
    });
    const counter = (name: string, help: string) =>
      new Counter({ name, help, labelNames: ["tenant"], registers });
    const gauge = <L extends string>(name: string, help: string, labelNames: L[]) =>
      new Gauge<L>({ name, help, labelNames, registers });
    this.#backups = counter("rempart_backups_total", "Snapshots committed, per tenant");
    this.#backupFailures = counter(
      "rempart_backup_failures_total",
      "Snapshot commits refused (missing packs, hash mismatch, quota…), per tenant",
    );
    this.#addedBytes = counter(
      "rempart_added_bytes_total",
      "Bytes of new objects stored, per tenant (deduplicated uploads are not counted)",
    );
    this.#storedBytes = gauge("rempart_tenant_stored_bytes", "Bytes stored per tenant", ["tenant"]);
    this.#quotaBytes = gauge("rempart_tenant_quota_bytes", "Quota per tenant (absent: none)", [
      "tenant",
    ]);
    this.#successAge = gauge(
      "rempart_agent_last_success_age_seconds",
      "Age of each live agent's newest snapshot (absent: it never made one)",
      ["tenant", "agent", "hostname"],
    );
    this.#lastFailed = gauge(
      "rempart_agent_last_backup_failed",
      "1 when a live agent's last reported backup failed, else 0",
      ["tenant", "agent", "hostname"],
    );
    this.#openAlerts = gauge(
      "rempart_alerts_open",
      "Open alerts (neither acknowledged nor resolved), by severity",
      ["severity"],
    );
    this.#jobLastRun = gauge(
      "rempart_job_last_run_timestamp_seconds",
      "When each server job last started (Unix time)",
      ["job"],
    );
    this.#jobDuration = gauge(
      "rempart_job_last_duration_seconds",
      "How long each server job's last run took",
      ["job"],
    );
    this.#jobSuccess = gauge(
      "rempart_job_last_success",
      "1 when the job's last run succeeded, 0 when it failed or was skipped (lock busy)",
      ["job"],
    );
    this.#jobFreedBytes = gauge(
      "rempart_job_last_freed_bytes",
      "Bytes the job's last run freed (GC: packs)",
      ["job"],
    );
    this.#jobFreedObjects = gauge(
      "rempart_job_last_freed_objects",
      "Objects the job's last run removed (GC: packs; prune: snapshot files)",
      ["job"],
    );
    this.#jobRuns = gauge(
      "rempart_job_runs",
      "Runs of each server job since the server started, by outcome (ok, failed, busy)",
      ["job", "outcome"],
    );
  }

  /** The dispatcher's hook: called once per answered request. */
  readonly observe = (answered: Answered): void => {
    const method = METHODS.has(answered.method) ? answered.method : "other";
    const status = String(answered.status);
    this.#requests.inc({ method, route: answered.route, status });
    this.#latency.observe({ method, route: answered.route }, answered.seconds);
    const tenant = answered.tenant;
    if (tenant === null) return;
    if (answered.route === COMMIT_ROUTE && method === "POST") {
      if (answered.status === 201) this.#backups.inc({ tenant });
      else if (answered.status >= 400) this.#backupFailures.inc({ tenant });
    } else if (answered.route === PUT_ROUTE && method === "PUT" && answered.status === 201) {
      this.#addedBytes.inc({ tenant }, answered.contentLength ?? 0);
    }
  };

  /** The exposition text, with the gauges read afresh. */
  scrape(): Promise<string> {
    const text = this.#scraping.then(async () => {
      await this.#refresh();
      return this.registry.metrics();
    });
    this.#scraping = text.catch(() => {});
    return text;
  }

  /** Reads the catalog and the jobs' results into the gauges. */
  async #refresh(): Promise<void> {
    const { catalog } = this.#sources;
    const now = this.#sources.now().getTime();
    for (const g of [this.#storedBytes, this.#quotaBytes, this.#successAge, this.#lastFailed])
      g.reset();
    for (const tenant of await catalog.listTenants()) {
      if (tenant.status === "deleted") continue;
      const labels = { tenant: tenant.name };
      const [usage, agents, snapshots] = await Promise.all([
        catalog.objectUsage(tenant.id),
        catalog.listAgents(tenant.id),
        catalog.listSnapshots(tenant.id),
      ]);
      this.#storedBytes.set(labels, usage.totalBytes);
      if (tenant.quotaBytes !== null) this.#quotaBytes.set(labels, tenant.quotaBytes);
      const newest = new Map<string, number>();
      for (const s of snapshots)
        newest.set(s.agentId, Math.max(newest.get(s.agentId) ?? 0, s.committedAt.getTime()));
      for (const agent of agents) {
        if (agent.revokedAt !== null || agent.expiresAt.getTime() <= now) continue;
        const agentLabels = { tenant: tenant.name, agent: agent.id, hostname: agent.hostname };
        const last = newest.get(agent.id);
        if (last !== undefined) this.#successAge.set(agentLabels, Math.max(0, now - last) / 1000);
        this.#lastFailed.set(agentLabels, agent.lastBackupStatus === "failure" ? 1 : 0);
      }
    }
    const open = await catalog.listAlerts({ open: true, limit: MAX_PAGE });
    for (const severity of ALERT_SEVERITIES)
      this.#openAlerts.set({ severity }, open.filter((a) => a.severity === severity).length);
    this.#refreshJobs();
  }

  #refreshJobs(): void {
    const stats = this.#sources.jobs?.();
    if (stats === undefined) return;
    for (const [job, { last, runs }] of stats) {
      for (const [outcome, count] of Object.entries(runs))
        this.#jobRuns.set({ job, outcome }, count);
      if (last === undefined) continue;
      this.#jobLastRun.set({ job }, last.startedAt.getTime() / 1000);
      this.#jobDuration.set({ job }, last.durationMs / 1000);
      this.#jobSuccess.set({ job }, last.outcome === "ok" ? 1 : 0);
      this.#jobFreedBytes.set({ job }, last.counts.freed_bytes ?? 0);
      this.#jobFreedObjects.set({ job }, last.counts.freed_objects ?? 0);
    }
  }
}
