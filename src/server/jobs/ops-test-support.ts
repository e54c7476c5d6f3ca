/**
 * A real server on 127.0.0.1 (real TLS, SQLite and files) with the issue-11 operations pieces
 * switched on: scheduled jobs and metrics. The plain `startTestServer` runs neither.
 */

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
  options: { jobs?: JobsOptions; metrics?: boolean; dataDir?: string } = {},
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
    metricsToken: options.metrics === true ? digestScrapeToken(SCRAPE_TOKEN) : undefined,
  });
  return { test: new TestServer(started, dataDir, clock), started };
}

/** Polls `ready` until it holds; a guard against a hang, not a timing assertion. */
export async function eventually(what: string, ready: () => Promise<boolean>): Promise<void> {
  const giveUp = Date.now() + 60_000;
  while (!(await ready())) {
    if (Date.now() > giveUp) throw new Error(`never happened: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
