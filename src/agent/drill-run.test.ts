/**
 * `agent run` drills on its own schedule, between backups: run in this process with a clock set
 * just before the weekly drill, against a real server process, it drills (before Monday's
 * backup), reports, and cleans up.
 */
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { type Cleanup, expectExit, runCli, writePseudoRandomFile } from "../testing/cli.js";
import { readAgentConfig } from "./config.js";
import { nextRun } from "./cron.js";
import { drillingAgent } from "./drill-test-support.js";
import { runAgent } from "./run.js";

const cleanups: (() => unknown)[] = [];
const suite: Cleanup = { after: (fn) => cleanups.push(fn) };
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

const DRILL_SCHEDULE = "30 3 * * 0";

describe("agent run", () => {
  // A guard against an agent that never drills (it would wait for Monday), not a timing assertion.
  it("runs the weekly restore drill between backups and reports it", {
    timeout: 600_000,
  }, async () => {
    const { as, configPath, scratchParent, coverage } = await drillingAgent(
      suite,
      "drill-run",
      (src) => {
        for (let i = 0; i < 5; i++)
          writePseudoRandomFile(join(src, `f${i}`), 10_000 + i, `run-${i}`);
      },
      { schedule: DRILL_SCHEDULE },
      ["--schedule", "0 2 * * *"],
    );
    expectExit(await runCli(["agent", "run", "--once"], as), 0, "backup");

    // The agent's clock a second before the drill: Sunday 03:30, when the next backup is Monday's.
    const drillAt = nextRun(DRILL_SCHEDULE, new Date());
    const offset = drillAt.getTime() - 1000 - Date.now();
    const config = await readAgentConfig(configPath);
    const stop = new AbortController();
    const lines: string[] = [];
    let drilled: () => void = () => {};
    const done = new Promise<void>((resolve) => {
      drilled = resolve;
    });
    const running = runAgent({
      config,
      once: false,
      stop: stop.signal,
      log: (line) => {
        lines.push(line);
        if (/restored and verified|drill failed|drill report failed/.test(line)) drilled();
      },
      now: () => new Date(Date.now() + offset),
    });
    await done;
    stop.abort();
    await running;

    assert.ok(
      lines.some((l) => l === `next restore drill at ${drillAt.toISOString()}`),
      lines.join("\n"),
    );
    assert.ok(
      lines.some((l) => /^drill: 5 file\(s\), 50010 bytes restored and verified/.test(l)),
      lines.join("\n"),
    );
    assert.deepEqual(readdirSync(scratchParent), []);
    const report = await coverage();
    assert.equal(report.clients[0]?.machines[0]?.last_drill?.files, 5);
  });
});
