/**
 * Restore drills end to end, through the real CLI, a real server process and a real agent: a
 * drill restores and verifies a sample of the latest snapshot, reports it, and coverage shows it;
 * a drill over a damaged pack fails, says so without naming any file, raises an alert, and leaves
 * no scratch folder behind.
 */
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import {
  type Cleanup,
  expectExit,
  flipByte,
  jsonOutput,
  runCli,
  writePseudoRandomFile,
} from "../testing/cli.js";
import { drillingAgent } from "./drill-test-support.js";

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
    let total = 0;
    const agent = await drillingAgent(suite, "drill", (src) => {
      mkdirSync(join(src, "docs"));
      for (let i = 0; i < 12; i++) {
        const size = 1000 + i * 40_000;
        writePseudoRandomFile(join(src, "docs", `report-${i}.bin`), size, `drill-${i}`);
        total += size;
      }
    });
    const { as, scratchParent, server } = agent;
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

    const coverage = async () => (await agent.coverage()).clients[0];
    const before = await coverage();
    assert.equal(before?.status, "protected");
    const drilled = before?.machines[0]?.last_drill;
    assert.equal(drilled?.ok, true);
    assert.equal(drilled?.snapshot_id, passed.snapshot_id);
    assert.deepEqual([drilled?.files, drilled?.bytes], [12, total]);
    assert.ok(drilled?.rate_mb_s === null || (drilled?.rate_mb_s ?? 0) > 0);

    // One pack damaged on the server's disk, as a failing disk or an intruder would.
    const [pack] = packFiles(server.dataDir, agent.tenantId);
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
