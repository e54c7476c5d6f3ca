/** Helpers for the restore suites: trees of many small files, the CLI under an open-file limit. */

import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  assertSameTree,
  CLI,
  type Cleanup,
  type CliResult,
  childEnvironment,
  expectExit,
  initAndBackup,
  tempDir,
} from "../testing/cli.js";

/**
 * `count` small files in `dir`: every other one compressible text, the others incompressible,
 * 1 byte to ~6 KB, so one pack holds thousands of them.
 */
export function smallFiles(dir: string, count: number, seed: string): void {
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < count; i++) {
    const size = 1 + ((i * 2654435761) % 6000);
    const content =
      i % 2 === 0
        ? `${seed} file ${i}\n`.repeat(Math.ceil(size / 16)).slice(0, size)
        : Buffer.from(
            Array.from({ length: size }, (_, k) => (k * 31 + i * 7 + seed.length) & 0xff),
          );
    writeFileSync(join(dir, `f${String(i).padStart(6, "0")}`), content);
  }
}

/**
 * `rempart ARGS…` with the soft open-file limit set to `limit` first (the shell's `ulimit -n`),
 * and optionally `/usr/bin/time -f %M` around it: `maxRssKb` is then its peak resident set.
 */
export function runLimited(
  limit: number,
  args: readonly string[],
  options: { readonly measure?: boolean; readonly hangGuardMs?: number } = {},
): Promise<CliResult & { readonly maxRssKb?: number }> {
  const env = childEnvironment();
  const timed = options.measure ? ["/usr/bin/time", "-f", "rempart-max-rss-kb %M"] : [];
  const child = spawn(
    "sh",
    ["-c", `ulimit -n ${limit} && exec "$@"`, "sh", ...timed, process.execPath, CLI, ...args],
    { cwd: tmpdir(), env, stdio: ["ignore", "pipe", "pipe"] },
  );
  return new Promise((resolve, reject) => {
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
    const guard = setTimeout(() => child.kill("SIGKILL"), options.hangGuardMs ?? 600_000);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(guard);
      const stdoutBytes = Buffer.concat(stdout);
      let err = Buffer.concat(stderr).toString("utf8");
      const rss = /^rempart-max-rss-kb (\d+)$/m.exec(err);
      if (rss) err = err.replace(rss[0], "").trimEnd();
      resolve({
        code,
        signal,
        stdout: stdoutBytes.toString("utf8"),
        stdoutBytes,
        stderr: err,
        ...(rss ? { maxRssKb: Number(rss[1]) } : {}),
      });
    });
  });
}

/**
 * `rempart restore latest` of `repo` into `target` under `ulimit -n limit`; asserts it succeeds
 * and that `src` came back bit-exact (assertSameTree) below the target.
 */
export async function restoreBitExact(
  repo: string,
  src: string,
  target: string,
  limit = 1024,
  why = "restore",
): Promise<void> {
  const result = await runLimited(limit, ["restore", "--repo", repo, "latest", "--target", target]);
  expectExit(result, 0, why);
  await assertSameTree(src, join(target, src));
}

/** A fresh directory with `src` built by `build` and backed up into `repo` by the CLI. */
export async function backedUpTree(
  owner: Cleanup,
  label: string,
  build: (src: string) => void,
): Promise<{ base: string; src: string; repo: string }> {
  const base = tempDir(owner, label);
  const src = join(base, "src");
  mkdirSync(src);
  build(src);
  const repo = join(base, "repo");
  await initAndBackup(repo, [src]);
  return { base, src, repo };
}
