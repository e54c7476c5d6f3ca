import assert from "node:assert/strict";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import {
  assertSameTree,
  expectExit,
  jsonOutput,
  PASSWORD,
  runCli,
  tempDir,
  writePseudoRandomFile,
} from "../testing/cli.js";

interface SlotRow {
  readonly id: string;
  readonly kind: string;
  readonly label: string;
  readonly current: boolean;
}

test("the MSP recovery key restores a client's repository without the client's password", async (t) => {
  const base = tempDir(t, "escrow");
  const src = join(base, "src");
  const repo = join(base, "repo");
  mkdirSync(src);
  writePseudoRandomFile(join(src, "ledger.db"), 300_000, "escrow");
  writeFileSync(join(src, "notes.txt"), "payroll\n");
  const pub = join(base, "msp.pub");
  const key = join(base, "msp.key");
  expectExit(
    await runCli(["key", "generate-recovery", "--public-out", pub, "--private-out", key]),
    0,
    "generate the recovery key pair",
  );
  assert.equal(statSync(key).mode & 0o777, 0o600, "the private key is readable by its owner only");
  assert.match(readFileSync(pub, "utf8"), /^rempart-recovery-public-v1:/);
  expectExit(await runCli(["init", "--repo", repo, "--recovery-key", pub]), 0, "init with escrow");
  expectExit(await runCli(["backup", "--repo", repo, src]), 0, "backup");

  // The client's password is gone; only the MSP's offline key remains.
  const target = join(base, "restored");
  const restored = await runCli(
    ["restore", "--repo", repo, "--recovery-key-file", key, "latest", "--target", target],
    { password: null },
  );
  expectExit(restored, 0, "restore with the recovery key");
  await assertSameTree(src, join(target, src));

  const other = join(base, "other");
  expectExit(
    await runCli([
      "key",
      "generate-recovery",
      "--public-out",
      `${other}.pub`,
      "--private-out",
      `${other}.key`,
    ]),
    0,
  );
  const refused = await runCli(
    ["snapshots", "--repo", repo, "--recovery-key-file", `${other}.key`],
    {
      password: null,
    },
  );
  expectExit(refused, 10, "another recovery key is refused");
  assert.match(refused.stderr, /recovery key/);
});

test("key add, list and remove manage password slots, and the slot in use cannot be removed", async (t) => {
  const base = tempDir(t, "keys");
  const repo = join(base, "repo");
  expectExit(await runCli(["init", "--repo", repo]), 0, "init");
  const second = join(base, "second.txt");
  writeFileSync(second, "a second password\n");
  expectExit(
    await runCli([
      "key",
      "add",
      "--repo",
      repo,
      "--new-password-file",
      second,
      "--label",
      "colleague",
    ]),
    0,
    "add a password slot",
  );
  const listed = jsonOutput<SlotRow[]>(
    expectExit(await runCli(["key", "list", "--repo", repo, "--json"]), 0, "list"),
  );
  assert.equal(listed.length, 2);
  const current = listed.find((row) => row.current);
  const colleague = listed.find((row) => row.label === "colleague");
  assert.ok(current && colleague && current.id !== colleague.id);

  const viaSecond = { password: "a second password" };
  expectExit(
    await runCli(["snapshots", "--repo", repo], viaSecond),
    0,
    "the new password opens it",
  );
  const selfRemoval = await runCli(
    ["key", "remove", "--repo", repo, colleague.id.slice(0, 10)],
    viaSecond,
  );
  expectExit(selfRemoval, 1, "removing the slot in use is refused");
  assert.match(selfRemoval.stderr, /opened with/);
  expectExit(
    await runCli(["key", "remove", "--repo", repo, current.id.slice(0, 10)], viaSecond),
    0,
    "remove the first password",
  );
  expectExit(
    await runCli(["snapshots", "--repo", repo], { password: PASSWORD }),
    10,
    "the removed password no longer opens the repository",
  );
});
