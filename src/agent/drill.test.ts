/**
 * Restore drills end to end, through the real CLI, a real server process and a real agent: a
 * drill restores and verifies a sample of the latest snapshot, reports it, and coverage shows it;
 * a drill over a damaged pack fails, says so without naming any file, raises an alert, and leaves
 * no scratch folder behind.
 */
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { CoverageReport } from "../protocol/api.js";
import {
  type Cleanup,
  expectExit,
  flipByte,
  jsonOutput,
  runCli,
  tempDir,
  writePseudoRandomFile,
} from "../testing/cli.js";
import { enrollCli, Operator, ServerProcess } from "./test-support.js";

const cleanups: (() => unknown)[] = [];
const suite: Cleanup = { after: (fn) => cleanups.push(fn) };
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

interface DrillOutput {
  snapshot_id: string | null;
  ok: boolean;
  files: number;
  bytes: number;
  duration_ms: number;
  error: string | null;
  reported: boolean;
}

/** Every pack file of the tenant's store on the server's disk, largest first. */
function packFiles(dataDir: string, tenantId: string): string[] {
  const root = join(dataDir, "tenants", tenantId, "data");
  return readdirSync(root)
    .flatMap((fanout) => readdirSync(join(root, fanout)).map((name) => join(root, fanout, name)))
    .sort((a, b) => statSync(b).size - statSync(a).size);
}

describe("a restore drill", () => {
  it("restores and verifies a sample, reports it to coverage, and fails with an alert over a damaged pack, leaving no scratch folder", async () => {
    const base = tempDir(suite, "drill");
    const server = await ServerProcess.start(suite, join(base, "server"));
    const operator = await Operator.login(server, server.adminPassword);
    suite.after(() => operator.close());
    const tenant = await operator.createTenant("acme");

    const src = join(base, "src");
    mkdirSync(join(src, "docs"), { recursive: true });
    let total = 0;
    for (let i = 0; i < 12; i++) {
      const size = 1000 + i * 40_000;
      writePseudoRandomFile(join(src, "docs", `report-${i}.bin`), size, `drill-${i}`);
      total += size;
    }
    const configPath = join(base, "agent", "agent.json");
    const token = await operator.enrollToken("acme");
    expectExit(await enrollCli(server, token, { configPath, extra: ["--path", src] }), 0, "enroll");
    // Every file, so that the damaged pack is certainly among those restored.
    const scratchParent = join(base, "scratch");
    mkdirSync(scratchParent);
    const config = JSON.parse(readFileSync(configPath, "utf8")) as Record<string, unknown>;
    config.drill = { percent: 100, scratchParent };
    writeFileSync(configPath, JSON.stringify(config), { mode: 0o600 });
    const as = { password: null, env: { REMPART_AGENT_CONFIG: configPath } };
    const data = ["--data", server.dataDir];

    expectExit(await runCli(["agent", "run", "--once"], as), 0, "backup");
    const passed = jsonOutput<DrillOutput>(
      expectExit(await runCli(["agent", "drill", "--json"], as), 0, "drill"),
    );
    assert.equal(passed.ok, true);
    assert.equal(passed.files, 12);
    assert.equal(passed.bytes, total);
    assert.equal(passed.reported, true);
    assert.match(passed.snapshot_id ?? "", /^[0-9a-f]{64}$/);
    assert.deepEqual(readdirSync(scratchParent), []);

    const coverage = async () =>
      jsonOutput<CoverageReport>(
        expectExit(await runCli(["admin", "report", "coverage", "--json", ...data]), 0),
      ).clients[0];
    const before = await coverage();
    assert.equal(before?.status, "protected");
    const drilled = before?.machines[0]?.last_drill;
    assert.equal(drilled?.ok, true);
    assert.equal(drilled?.snapshot_id, passed.snapshot_id);
    assert.deepEqual([drilled?.files, drilled?.bytes], [12, total]);
    assert.ok(drilled?.rate_mb_s === null || (drilled?.rate_mb_s ?? 0) > 0);

    // One pack damaged on the server's disk, as a failing disk or an intruder would.
    const [pack] = packFiles(server.dataDir, tenant.id);
    assert.ok(pack);
    flipByte(pack, Math.floor(statSync(pack).size / 2));
    const failed = jsonOutput<DrillOutput>(
      expectExit(await runCli(["agent", "drill", "--json"], as), 1, "drill over a damaged pack"),
    );
    assert.equal(failed.ok, false);
    assert.equal(failed.reported, true);
    assert.match(failed.error ?? "", /fail/);
    // The server learns that files failed, never what they are called.
    assert.doesNotMatch(failed.error ?? "", /report-|docs|src/);
    assert.deepEqual(readdirSync(scratchParent), []);

    const alerts = jsonOutput<{ kind: string; severity: string; message: string }[]>(
      expectExit(await runCli(["admin", "alerts", "--open", "--json", ...data]), 0),
    );
    assert.deepEqual(
      alerts.map((a) => [a.kind, a.severity]),
      [["restore-drill", "high"]],
    );
    assert.match(alerts[0]?.message ?? "", /Restore drill failed on /);
    const after = await coverage();
    assert.equal(after?.status, "at-risk");
    assert.equal(after?.machines[0]?.last_drill?.ok, false);
    const audit = jsonOutput<{ action: string; details: { ok: boolean } }[]>(
      expectExit(await runCli(["admin", "audit", "--tenant", "acme", "--json", ...data]), 0),
    );
    assert.deepEqual(
      audit.filter((e) => e.action === "drill.report").map((e) => e.details.ok),
      [false, true],
    );
  });
});
