/**
 * GC beside real backups: four agents of one tenant back up through a real server process while
 * `rempart admin gc --grace 0s` runs again and again at random moments. With no grace at all, GC
 * may take the packs of a backup that has not committed yet; that backup must then be refused
 * (and the next one re-upload), never accepted with a hole. After every round every committed
 * snapshot is verified by decrypting all of its data.
 */
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { enrollCli, Operator, ServerProcess } from "../../agent/test-support.js";
import {
  assertSameTree,
  type CliOptions,
  type CliResult,
  describeResult,
  expectExit,
  runCli,
  tempDir,
  writePseudoRandomFile,
} from "../../testing/cli.js";

const AGENTS = 4;
const ROUNDS = 3;
const MiB = 1024 * 1024;

interface Machine {
  readonly as: CliOptions;
  readonly src: string;
}

function refusedForMissingPacks(result: CliResult): boolean {
  return result.code === 1 && /pack\(s\) it needs are not stored|MissingPacks/.test(result.stderr);
}

test("GC racing four concurrent backups never leaves a committed snapshot without its data", async (t) => {
  const base = tempDir(t, "gc-race");
  const dataDir = join(base, "server");
  const server = await ServerProcess.start(t, dataDir);
  const operator = await Operator.login(server, server.adminPassword);
  t.after(() => operator.close());
  await operator.createTenant("acme");

  const machines: Machine[] = [];
  for (let i = 0; i < AGENTS; i++) {
    const configPath = join(base, `agent-${i}.json`);
    const token = await operator.enrollToken("acme");
    expectExit(await enrollCli(server, token, { configPath }), 0, `enroll agent ${i}`);
    const src = join(base, `src-${i}`);
    mkdirSync(src);
    machines.push({ as: { password: null, env: { REMPART_AGENT_CONFIG: configPath } }, src });
  }

  let refused = 0;
  let committed = 0;
  for (let round = 0; round < ROUNDS; round++) {
    // New data each round, so every backup uploads packs GC could take before the commit.
    for (const [i, m] of machines.entries())
      writePseudoRandomFile(join(m.src, `round-${round}.bin`), 3 * MiB, `race ${round} ${i}`);
    let running = true;
    const backups = Promise.all(machines.map((m) => runCli(["backup", m.src], m.as))).finally(
      () => {
        running = false;
      },
    );
    let collections = 0;
    while (running) {
      await sleep(Math.floor(Math.random() * 150));
      expectExit(await runCli(["admin", "gc", "--data", dataDir, "--grace", "0s"]), 0, "gc");
      collections++;
    }
    for (const result of await backups) {
      if (result.code === 0) committed++;
      else {
        assert.ok(
          refusedForMissingPacks(result),
          `a backup failed otherwise\n${describeResult(result)}`,
        );
        refused++;
      }
    }
    t.diagnostic(`round ${round}: ${collections} GC runs`);
    // Every snapshot the server accepted is whole: all of its data decrypts and verifies.
    expectExit(
      await runCli(["check", "--read-data"], machines[0]?.as),
      0,
      `check after round ${round}`,
    );
  }
  t.diagnostic(`${committed} backups committed, ${refused} refused for packs GC had taken`);

  // Without GC running, every machine completes again (re-uploading what GC took) and restores.
  for (const m of machines)
    expectExit(await runCli(["backup", m.src], m.as), 0, "backup after the race");
  expectExit(await runCli(["check", "--read-data"], machines[0]?.as), 0, "final check");
  const first = machines[0] as Machine;
  // `latest` alone is the tenant's latest, whichever machine made it: ask for this machine's own.
  const target = join(base, "restored");
  expectExit(
    await runCli(["restore", "latest", "--path", first.src, "--target", target], first.as),
    0,
    "restore",
  );
  await assertSameTree(first.src, join(target, first.src));
});
