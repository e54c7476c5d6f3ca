/**
 * The `rempart` launcher (bin/rempart) starts Node with V8 settings per command. The floor under
 * the old-generation limit is what keeps each 16 MiB PUT or GET of the server, and the socket
 * reads of a restore, from setting off full mark-compacts; the 20 % growth is what keeps a
 * backup's main-thread garbage from piling up to ~4× its live heap (bin/rempart says why;
 * bench/object-routes.mjs and the bench measure them). Nothing but those benchmarks would notice
 * either gone, so the Node process each command runs is asked here.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, it } from "node:test";
import { PROJECT_ROOT } from "../testing/cli.js";

const LAUNCHER = join(PROJECT_ROOT, "bin", "rempart");
// Preloaded into the launched Node: prints the flags it runs with, and stops before the command.
const PRINT_FLAGS =
  "data:text/javascript,process.stdout.write(JSON.stringify(process.execArgv));process.exit(0)";

/** The V8 and Node flags `rempart <command>` runs with. */
function flagsOf(command: string): string[] {
  const run = spawnSync(LAUNCHER, [command], {
    encoding: "utf8",
    env: { ...process.env, NODE_OPTIONS: `--import=${PRINT_FLAGS}` },
  });
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout) as string[];
}

describe("the rempart launcher", () => {
  it("runs the server and restores with a 64 MB floor under V8's old-generation limit", () => {
    for (const command of ["server", "restore"])
      assert.ok(flagsOf(command).includes("--initial-old-space-size=64"), command);
  });

  it("grows a backup's old generation by 20 % at a time, in the agent too", () => {
    for (const command of ["backup", "agent"])
      assert.ok(flagsOf(command).includes("--heap-growing-percent=20"), command);
  });

  it("leaves other commands' old-generation floor to V8's default", () => {
    for (const command of ["backup", "agent"])
      assert.ok(!flagsOf(command).some((flag) => flag.startsWith("--initial-old-space-size")));
  });
});
