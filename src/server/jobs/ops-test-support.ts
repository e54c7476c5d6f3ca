/**
 * A real server on 127.0.0.1 (real TLS, SQLite and files) with the issue-11 operations pieces
 * switched on: scheduled jobs and metrics. The plain `startTestServer` runs neither.
 */

import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { enrollCli, Operator } from "../../agent/test-support.js";
import {
  backupSummary,
  type CliOptions,
  expectExit,
  runCli,
  writePseudoRandomFile,
} from "../../testing/cli.js";
import type { AlertDeliveryOptions } from "../delivery/start.js";
import { digestScrapeToken } from "../metrics/scrape-token.js";
import { type StartedServer, startServer } from "../server.js";
import { type Cleanup, TestClock, TestServer, tempDir } from "../test-support.js";
import type { JobsOptions, Schedule } from "./runner.js";

export const SCRAPE_TOKEN = "scrape-token-0123456789abcdef0123456789abcdef";

/** Every `ms` milliseconds: a schedule fast enough for a test to see several runs. */
export const every =
  (ms: number): Schedule =>
  (after) =>
    new Date(after.getTime() + ms);

export interface OpsServer {
  readonly test: TestServer;
  readonly started: StartedServer;
}

export async function startOpsServer(
  owner: Cleanup,
  options: {
    jobs?: JobsOptions;
    metrics?: boolean;
    dataDir?: string;
    alertDelivery?: AlertDeliveryOptions;
  } = {},
): Promise<OpsServer> {
  let started: StartedServer | undefined;
  owner.after(() => started?.close());
  const dataDir = options.dataDir ?? tempDir(owner, "ops-server");
  const clock = new TestClock();
  started = await startServer({
    dataDir,
    listen: { host: "127.0.0.1", port: 0 },
    now: clock.now,
    jobs: options.jobs,
    alertDelivery: options.alertDelivery,
    metricsToken: options.metrics === true ? digestScrapeToken(SCRAPE_TOKEN) : undefined,
  });
  return { test: new TestServer(started, dataDir, clock), started };
}

/** The agent's check-in saying its last backup failed now, with `error`. */
export async function reportFailedBackup(
  server: TestServer,
  credential: string,
  error: string,
): Promise<void> {
  const checkin = await server.send({
    method: "POST",
    path: "/v1/agent/checkin",
    token: credential,
    json: {
      version: "0.1.0",
      last_backup: { at: server.clock.now().toISOString(), outcome: "failure", error },
    },
  });
  assert.equal(checkin.status, 204, checkin.body.toString());
}

/** Polls `ready` until it holds; a guard against a hang, not a timing assertion. */
export async function eventually(what: string, ready: () => Promise<boolean>): Promise<void> {
  const giveUp = Date.now() + 60_000;
  while (!(await ready())) {
    if (Date.now() > giveUp) throw new Error(`never happened: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export interface BackedUp {
  readonly tenantId: string;
  /** The tree backed up. */
  readonly src: string;
  readonly snapshotId: string;
  /** How to run the CLI as the enrolled agent. */
  readonly as: CliOptions;
}

/**
 * Tenant `acme` made over the API, this machine enrolled with the real CLI (the repository's
 * password is the test PASSWORD), and one `rempart backup` of a small tree through the server.
 */
export async function backUpThroughServer(owner: Cleanup, ops: OpsServer): Promise<BackedUp> {
  const base = tempDir(owner, "ops-backup");
  const { started } = ops;
  const operator = await Operator.login(started, started.firstAdminPassword);
  owner.after(() => operator.close());
  const tenant = await operator.createTenant("acme");
  const src = join(base, "src");
  mkdirSync(join(src, "docs"), { recursive: true });
  writePseudoRandomFile(join(src, "docs", "report.bin"), 300_000, "report");
  writePseudoRandomFile(join(src, "ledger.bin"), 40_000, "ledger");
  const configPath = join(base, "agent.json");
  const token = await operator.enrollToken("acme");
  expectExit(await enrollCli(started, token, { configPath, extra: ["--path", src] }), 0, "enroll");
  const as: CliOptions = { password: null, env: { REMPART_AGENT_CONFIG: configPath } };
  const summary = backupSummary(
    expectExit(await runCli(["backup", "--json", src], as), 0, "backup"),
  );
  return { tenantId: tenant.id, src, snapshotId: summary.snapshot_id, as };
}
