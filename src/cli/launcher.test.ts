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
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  assertSameTree,
  childEnvironment,
  PROJECT_ROOT,
  tempDir,
  writePseudoRandomFile,
} from "../testing/cli.js";

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

// Preloaded: prints the soft open-file limit the launched Node runs with, and stops.
const PRINT_FILE_LIMIT = `data:text/javascript,${encodeURIComponent(
  "import { readFileSync } from 'node:fs';" +
    "const limits = readFileSync('/proc/self/limits', 'utf8');" +
    "process.stdout.write(/^Max open files\\s+(\\d+)/m.exec(limits)?.[1] ?? '');" +
    "process.exit(0);",
)}`;

/** Runs `rempart --version` through sh with `limits` (ulimit arguments) set first. */
function underLimits(limits: string, preload?: string): ReturnType<typeof spawnSync> {
  return spawnSync("sh", ["-c", `ulimit ${limits} && exec "$0" --version`, LAUNCHER], {
    encoding: "utf8",
    env: { ...process.env, ...(preload ? { NODE_OPTIONS: `--import=${preload}` } : {}) },
  });
}

describe("the rempart launcher", () => {
  it("raises the soft open-file limit to the hard one, as Go programs do", () => {
    const run = underLimits("-Sn 300 && ulimit -Hn 900", PRINT_FILE_LIMIT);
    assert.equal(run.status, 0, String(run.stderr));
    assert.equal(run.stdout, "900");
  });

  it("refuses an open-file or address-space limit too low to run on, saying which", () => {
    const refusals: [string, RegExp][] = [
      ["-n 20", /open-file limit \(ulimit -n\) is 20; rempart needs at least 48/],
      [
        "-v 1000000",
        /address-space limit \(ulimit -v\) is 1000000 KiB; rempart needs at least 2097152/,
      ],
    ];
    for (const [limit, why] of refusals) {
      const run = underLimits(limit);
      assert.equal(run.status, 1, limit);
      assert.equal(run.stdout, "");
      assert.match(String(run.stderr), why);
    }
  });

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

  it("backs up and restores bit-exact under an address-space limit (ulimit -v) of 3 GiB", async (t) => {
    // WebAssembly's guard regions alone reserved 10 GiB: the backup failed at its start.
    const base = tempDir(t, "launcher-address-space");
    const src = join(base, "src");
    mkdirSync(src);
    writePseudoRandomFile(join(src, "data.bin"), 3 * 1024 * 1024, "address space");
    writeFileSync(join(src, "note.txt"), "under ulimit -v\n");
    const [repo, target] = [join(base, "repo"), join(base, "target")];
    const script =
      'ulimit -v 3145728 && "$0" init --repo "$1" && "$0" backup --repo "$1" "$2" && ' +
      '"$0" restore --repo "$1" latest --target "$3"';
    const run = spawnSync("sh", ["-c", script, LAUNCHER, repo, src, target], {
      encoding: "utf8",
      env: childEnvironment(),
    });
    assert.equal(run.status, 0, run.stderr);
    await assertSameTree(src, join(target, src));
  });
});
