/**
 * A backup killed with SIGKILL at any moment (power cut, OOM killer, impatient operator) must
 * leave a repository that checks clean, and the next backup must complete, reuse the packs the
 * killed one stored instead of uploading them again, and restore bit-exact.
 */
import assert from "node:assert/strict";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  assertSameTree,
  backupSummary,
  type CliResult,
  describeResult,
  expectExit,
  jsonOutput,
  listObjects,
  runCli,
  startCli,
  tempDir,
  writePseudoRandomFile,
} from "../testing/cli.js";

const MiB = 1024 * 1024;
const FILES = 8;
const FILE_SIZE = 25 * MiB;
const TOTAL = FILES * FILE_SIZE;

interface KillPoint {
  readonly label: string;
  /** kill this long after the start… */
  readonly delayMs?: number;
  /** …or as soon as this many pack files exist under data/ (progress, not time: speed varies) */
  readonly packs?: number;
}

const KILL_POINTS: readonly KillPoint[] = [
  // Still deriving the key or walking: nothing stored yet.
  { label: "after 0.3 s", delayMs: 300 },
  { label: "as soon as the first pack is stored", packs: 1 },
  // Mid-way: several packs stored, none indexed, more being sealed.
  { label: "once 4 packs are stored", packs: 4 },
  { label: "once 8 packs are stored", packs: 8 },
];

interface CheckReport {
  readonly snapshots: number;
  readonly packs: number;
  readonly packsRead: number;
  readonly unindexedPacks: readonly string[];
  readonly problems: readonly unknown[];
}

/** Runs a backup and kills it with SIGKILL at the given point. */
async function killedBackup(repo: string, src: string, point: KillPoint): Promise<CliResult> {
  const { child, result } = startCli(["backup", "--repo", repo, "--json", src]);
  let exited = false;
  void result.then(
    () => {
      exited = true;
    },
    () => {
      exited = true;
    },
  );
  if (point.packs !== undefined) {
    while (!exited && listObjects(repo, "data").length < point.packs) await sleep(2);
  } else {
    await sleep(point.delayMs ?? 0);
  }
  child.kill("SIGKILL");
  return result;
}

describe("a backup killed with SIGKILL", () => {
  const base = tempDir({ after }, "crash");
  const src = join(base, "src");

  before(() => {
    mkdirSync(join(src, "nested"), { recursive: true });
    // Random data: nothing compresses or dedups, so packs are written all through the backup.
    for (let i = 0; i < FILES; i++)
      writePseudoRandomFile(
        join(src, i % 2 === 0 ? "nested" : "", `file-${i}.bin`),
        FILE_SIZE,
        `crash ${i}`,
      );
  });

  KILL_POINTS.forEach((point, i) => {
    it(`checks clean and resumes when killed ${point.label}`, async (t) => {
      const repo = join(base, `repo-${i}`);
      const target = join(base, `restore-${i}`);
      t.after(() => {
        rmSync(repo, { recursive: true, force: true });
        rmSync(target, { recursive: true, force: true });
      });
      expectExit(await runCli(["init", "--repo", repo]), 0, "init");

      const killed = await killedBackup(repo, src, point);
      assert.equal(
        killed.signal,
        "SIGKILL",
        `the backup ended before it was killed ${point.label}\n${describeResult(killed)}`,
      );
      assert.deepEqual(listObjects(repo, "snapshots"), [], "no snapshot from a killed backup");
      const leftovers = listObjects(repo, "data");
      t.diagnostic(`${leftovers.length} pack(s) left by the killed backup`);

      // The repository is consistent: the leftovers are only reported, as unindexed.
      const afterKill = jsonOutput<CheckReport>(
        expectExit(await runCli(["check", "--repo", repo, "--json"]), 0, "check after the kill"),
      );
      assert.deepEqual(afterKill.problems, []);
      assert.equal(afterKill.snapshots, 0);
      const unindexed = new Set(afterKill.unindexedPacks);
      for (const pack of unindexed)
        assert.ok(
          leftovers.some((p) => p.name === pack),
          `unindexed ${pack} is a leftover`,
        );
      if (listObjects(repo, "index").length === 0)
        assert.equal(unindexed.size, leftovers.length, "without an index every pack is unindexed");

      const resumed = await runCli(["backup", "--repo", repo, "--json", src]);
      expectExit(resumed, 0, "the backup after the kill");
      const summary = backupSummary(resumed);
      assert.equal(summary.total_bytes, TOTAL);
      assert.equal(summary.files_new, FILES);
      if (unindexed.size > 0) {
        assert.ok(
          resumed.stderr.includes(`resuming: reused ${unindexed.size} pack(s)`),
          resumed.stderr,
        );
        // What the adopted packs hold is not added again (their size bounds their data, give or
        // take per-blob framing and the header).
        const adoptedBytes = leftovers
          .filter((p) => unindexed.has(p.name))
          .reduce((sum, p) => sum + p.size, 0);
        assert.ok(summary.bytes_added < TOTAL, `bytes_added ${summary.bytes_added}`);
        assert.ok(
          summary.bytes_added <= TOTAL - adoptedBytes + unindexed.size * 64 * 1024,
          `bytes_added ${summary.bytes_added} with ${adoptedBytes} bytes of packs adopted`,
        );
      } else {
        assert.doesNotMatch(resumed.stderr, /resuming/);
        assert.equal(summary.bytes_added, TOTAL);
      }
      // Reuse means one copy of the data in the repository, not one and a bit.
      const stored = listObjects(repo, "data").reduce((sum, p) => sum + p.size, 0);
      assert.ok(stored < TOTAL * 1.01 + MiB, `${stored} bytes of packs for ${TOTAL} of data`);

      const verified = jsonOutput<CheckReport>(
        expectExit(
          await runCli(["check", "--repo", repo, "--read-data", "--json"]),
          0,
          "check --read-data after the resumed backup",
        ),
      );
      assert.deepEqual(verified.problems, []);
      assert.deepEqual(verified.unindexedPacks, []);
      assert.equal(verified.packsRead, verified.packs);

      expectExit(
        await runCli(["restore", "--repo", repo, "latest", "--target", target]),
        0,
        "restore",
      );
      await assertSameTree(src, join(target, src));
    });
  });
});
