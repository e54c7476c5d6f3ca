/**
 * `rempart admin export` end to end: a real backup through a real server, exported while the
 * tenant is offboarding, then opened by the client with nothing but its own password
 * (`rempart snapshots --repo DIR`, `restore`), bit-exact. A damaged stored object fails the
 * export loudly and leaves nothing behind; a target that is not empty is refused.
 */
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import { EXIT } from "../../cli/exit-codes.js";
import {
  assertSameTree,
  type CliResult,
  expectExit,
  jsonOutput,
  runCli,
  tempDir,
} from "../../testing/cli.js";
import type { AuditView } from "../admin.js";
import { backUpThroughServer, type OpsServer, startOpsServer } from "../jobs/ops-test-support.js";

function exportCli(ops: OpsServer, to: string): Promise<CliResult> {
  return runCli(["admin", "export", "acme", "--to", to, "--json", "--data", ops.test.dataDir]);
}

/** Every pack file of the tenant's store. */
function packFiles(ops: OpsServer, tenantId: string): string[] {
  const root = join(ops.test.tenantDir(tenantId), "data");
  return readdirSync(root).flatMap((fanout) =>
    readdirSync(join(root, fanout)).map((name) => join(root, fanout, name)),
  );
}

describe("rempart admin export", () => {
  it("gives an offboarding client a repository it restores bit-exact with its own password", async (t) => {
    const ops = await startOpsServer(t);
    const backup = await backUpThroughServer(t, ops);
    const data = ["--data", ops.test.dataDir];
    expectExit(
      await runCli(["admin", "tenant", "delete", "acme", "--requested-by", "admin", ...data]),
      0,
      "tenant delete",
    );

    const base = tempDir(t, "export");
    const target = join(base, "acme-repo");
    const report = jsonOutput<{ objects: number; bytes: number; by_kind: Record<string, unknown> }>(
      expectExit(await exportCli(ops, target), 0, "export"),
    );
    assert.ok(report.objects >= 5, JSON.stringify(report));
    assert.deepEqual(readdirSync(base), ["acme-repo"], "no temporary directory is left");

    // The client: no server, no agent configuration, only the repository and its password.
    const listed = jsonOutput<{ id: string }[]>(
      expectExit(await runCli(["snapshots", "--repo", target, "--json"]), 0, "snapshots"),
    );
    assert.deepEqual(
      listed.map((s) => s.id),
      [backup.snapshotId],
    );
    const restored = join(base, "restored");
    expectExit(
      await runCli(["restore", "--repo", target, backup.snapshotId, "--target", restored]),
      0,
      "restore",
    );
    await assertSameTree(backup.src, join(restored, backup.src));
    expectExit(
      await runCli(["snapshots", "--repo", target], { password: "not the password" }),
      EXIT.wrongPassword,
      "a wrong password",
    );

    const audit = jsonOutput<AuditView[]>(
      expectExit(await runCli(["admin", "audit", "--json", ...data]), 0, "audit"),
    );
    const entry = audit.find((e) => e.action === "tenant.export");
    assert.equal(entry?.details.target, target);
    assert.equal(entry?.details.objects, report.objects);

    // Write-once: the same target again is refused, and left as it was.
    const again = expectExit(await exportCli(ops, target), EXIT.error, "export again");
    assert.match(again.stderr, /is not empty/);
    expectExit(await runCli(["snapshots", "--repo", target]), 0, "still opens");
  });

  it("fails loudly on a damaged stored object, naming it, and writes nothing", async (t) => {
    const ops = await startOpsServer(t);
    const backup = await backUpThroughServer(t, ops);
    const [victim] = packFiles(ops, backup.tenantId);
    assert.ok(victim);
    const bytes = readFileSync(victim);
    const at = Math.floor(bytes.length / 2);
    bytes.writeUInt8(bytes.readUInt8(at) ^ 0x01, at);
    writeFileSync(victim, bytes);

    const base = tempDir(t, "export-damaged");
    const target = join(base, "acme-repo");
    // An empty directory prepared by the operator is a valid target; it stays empty.
    mkdirSync(target);
    const failed = expectExit(await exportCli(ops, target), EXIT.corrupt, "export");
    const name = victim.slice(victim.lastIndexOf("/") + 1);
    assert.match(failed.stderr, /1 stored object\(s\) are damaged/);
    assert.ok(failed.stderr.includes(`data/${name}`), failed.stderr);
    assert.deepEqual(readdirSync(target), []);
    assert.deepEqual(readdirSync(dirname(target)), ["acme-repo"]);
    const audit = jsonOutput<AuditView[]>(
      expectExit(
        await runCli(["admin", "audit", "--json", "--data", ops.test.dataDir]),
        0,
        "audit",
      ),
    );
    assert.equal(audit.find((e) => e.action === "tenant.export.fail")?.details.damaged, 1);
  });
});
