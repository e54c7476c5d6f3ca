/**
 * Issue 8 on a local repository: every object an attacker with one machine's password can add
 * (src/repository/forge-test-support.ts), written straight into the store past any server
 * check. After each, through the real CLI: `snapshots` still lists the real history, `restore
 * latest` restores the real snapshot bit-exact, `backup` succeeds with the real parent, and
 * `check` names the hostile object and exits 11 (or 0 when the object harms nothing).
 */
import assert from "node:assert/strict";
import { cpSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  type Attack,
  type Attacker,
  attacks,
  describeVictim,
  openAsAttacker,
  poisonedCopy,
  poisonedFrames,
  type Victim,
} from "../repository/forge-test-support.js";
import { FsObjectStore } from "../storage/fs/fs-store.js";
import {
  assertSameTree,
  type BackupSummary,
  backupSummary,
  describeResult,
  expectExit,
  initAndBackup,
  jsonOutput,
  PASSWORD,
  runCli,
  tempDir,
  writePseudoRandomFile,
} from "../testing/cli.js";

const KiB = 1024;

interface Listed {
  readonly id: string;
  readonly time: string;
}

interface CheckReport {
  readonly problems: readonly {
    readonly kind: string;
    readonly message: string;
    readonly object?: string;
  }[];
}

function buildSource(src: string): void {
  mkdirSync(join(src, "docs"), { recursive: true });
  writePseudoRandomFile(join(src, "big.bin"), 900 * KiB, "hostile-big");
  writePseudoRandomFile(join(src, "docs", "small.bin"), 5000, "hostile-small");
  writeFileSync(join(src, "docs", "note.txt"), "a note\n".repeat(50));
}

describe("a local repository with objects forged by a stolen password", () => {
  const base = tempDir({ after }, "hostile");
  const src = join(base, "src");
  const fixture = join(base, "fixture");
  let first: BackupSummary;
  let attacker: Attacker;
  let victim: Victim;
  let catalog: Attack[];
  let copies = 0;

  before(async () => {
    buildSource(src);
    first = await initAndBackup(fixture, [src]);
    attacker = await openAsAttacker(await FsObjectStore.open(fixture), PASSWORD);
    victim = await describeVictim(attacker);
    catalog = await attacks(attacker, victim, PASSWORD);
  });

  /** A copy of the fixture with the objects of the attacks stored in it. */
  const attacked = async (...chosen: Attack[]): Promise<string> => {
    const repo = join(base, `repo-${++copies}`);
    cpSync(fixture, repo, { recursive: true });
    const store = await FsObjectStore.open(repo);
    for (const attack of chosen)
      for (const { kind, name, bytes } of attack.objects) await store.put({ kind, name }, bytes);
    return repo;
  };

  const restoresLatest = async (repo: string, why: string, expected: string) => {
    const target = join(base, `restore-${++copies}`);
    const restored = expectExit(
      await runCli(["restore", "--repo", repo, "latest", "--target", target, "--json"]),
      0,
      `${why}: restore latest`,
    );
    assert.equal(
      jsonOutput<{ snapshot_id: string }>(restored).snapshot_id,
      expected,
      `${why}: latest is the real snapshot`,
    );
    await assertSameTree(src, join(target, src));
  };

  const checkNames = async (repo: string, why: string, damage: boolean, names: string[]) => {
    const checked = await runCli(["check", "--repo", repo, "--json"]);
    expectExit(checked, damage ? 11 : 0, `${why}: check`);
    const text = JSON.stringify(jsonOutput<CheckReport>(checked).problems);
    for (const name of names)
      assert.ok(text.includes(name), `${why}: check names ${name}\n${describeResult(checked)}`);
  };

  /** A sound structure (check), and what check --read-data then finds (exit 11). */
  const readDataProblems = async (repo: string, why: string) => {
    expectExit(await runCli(["check", "--repo", repo]), 0, "the structure is sound");
    const checked = await runCli(["check", "--repo", repo, "--read-data", "--json"]);
    expectExit(checked, 11, why);
    const { problems } = jsonOutput<{
      problems: { kind: string; pack?: string; files?: string[] }[];
    }>(checked);
    return { checked, problems };
  };

  const mustName = (attack: Attack): string[] => [
    ...(attack.reported ?? (attack.damage ? attack.objects.map((o) => o.name) : [])),
  ];

  it("after each attack alone, restore latest is bit-exact, backup works, check names the object", async () => {
    assert.ok(catalog.length >= 15, "the catalog covers the table of issue 8 and its variants");
    const failures: string[] = [];
    // Four attacks at a time: each is a few CLI runs on its own copy of the repository.
    for (let at = 0; at < catalog.length; at += 4)
      await Promise.all(
        catalog.slice(at, at + 4).map(async (attack) => {
          try {
            const repo = await attacked(attack);
            await restoresLatest(repo, attack.title, first.snapshot_id);
            const again = backupSummary(
              expectExit(
                await runCli(["backup", "--repo", repo, "--json", src]),
                0,
                `${attack.title}: backup`,
              ),
            );
            assert.equal(again.parent, first.snapshot_id, `${attack.title}: the real parent`);
            await checkNames(repo, attack.title, attack.damage, mustName(attack));
          } catch (error) {
            failures.push(error instanceof Error ? error.message : String(error));
          }
        }),
      );
    assert.deepEqual(failures, []);
  });

  it("after every attack at once, snapshots, restore, backup and check all work", async () => {
    const repo = await attacked(...catalog);
    const why = "all attacks";
    const listing = expectExit(
      await runCli(["snapshots", "--repo", repo, "--json"]),
      0,
      `${why}: snapshots`,
    );
    const listed = jsonOutput<Listed[]>(listing);
    assert.ok(
      listed.some((s) => s.id === first.snapshot_id),
      `the real snapshot is listed\n${describeResult(listing)}`,
    );
    await restoresLatest(repo, why, first.snapshot_id);
    const again = backupSummary(
      expectExit(await runCli(["backup", "--repo", repo, "--json", src]), 0, `${why}: backup`),
    );
    assert.equal(again.parent, first.snapshot_id, "the parent is the real snapshot");
    assert.equal(again.files_unchanged, 3, "nothing read again");
    assert.equal(again.bytes_added, 0, "nothing uploaded again");
    await restoresLatest(repo, `${why}, after the backup`, again.snapshot_id);
    await checkNames(repo, why, true, catalog.flatMap(mustName));
  });

  it("restores bit-exact when a forged copy of a blob is indexed before the real one", async () => {
    const attack = await poisonedCopy(attacker, victim);
    await restoresLatest(await attacked(attack), attack.title, first.snapshot_id);
  });

  it("restores bit-exact when forged frames claiming blobs (one a decompression bomb) are indexed first", async () => {
    const attack = await poisonedFrames(attacker, victim);
    const repo = await attacked(attack);
    await restoresLatest(repo, attack.title, first.snapshot_id);
    const { checked, problems } = await readDataProblems(repo, "the forged frames fail when read");
    const poisoned = attack.objects[0]?.name as string;
    assert.ok(problems.length >= 3, describeResult(checked));
    for (const problem of problems)
      assert.deepEqual([problem.kind, problem.pack, problem.files], ["blob", poisoned, undefined]);
  });

  it("check --read-data names a forged copy of a blob, and no file, when the real copy is intact", async () => {
    const attack = await poisonedCopy(attacker, victim);
    const repo = await attacked(attack);
    const poisoned = attack.objects[0]?.name as string;
    const { checked, problems } = await readDataProblems(
      repo,
      "the forged copy fails its keyed-id check",
    );
    assert.deepEqual(
      problems.map((p) => [p.kind, p.pack, p.files]),
      [["blob", poisoned, undefined]],
      describeResult(checked),
    );
  });

  it("prints skipped snapshots on stderr, with their count, and goes on", async () => {
    const attack = catalog.find((a) => a.title.startsWith("300 random bytes"));
    assert.ok(attack);
    const repo = await attacked(attack);
    const listing = expectExit(await runCli(["snapshots", "--repo", repo]), 0, "snapshots");
    const forged = (attack.objects[0] as { name: string }).name;
    assert.match(
      listing.stderr,
      new RegExp(`1 snapshot\\(s\\) could not be opened.*${forged.slice(0, 8)}`),
    );
    assert.ok(listing.stdout.includes(first.snapshot_id.slice(0, 8)), describeResult(listing));
    const json = expectExit(await runCli(["snapshots", "--repo", repo, "--json"]), 0, "--json");
    const warning = json.stderr
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as { message_type: string; name: string; kind: string });
    assert.deepEqual(
      warning.map((w) => [w.message_type, w.kind, w.name]),
      [["skipped", "snapshots", forged]],
    );
  });
});
