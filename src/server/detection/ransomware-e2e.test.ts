/**
 * Issue 10's required scenario, end to end through a real server process on 127.0.0.1 and the
 * real CLI: an enrolled agent backs up a tree of real-format files, a fifth of them are then
 * encrypted in place with AES-256-CTR, and the next backup is flagged; the server raises an alert,
 * turns the tenant red and holds the pre-attack snapshot, which restores the originals bit-exact.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { enrollCli, Operator, ServerProcess } from "../../agent/test-support.js";
import { encrypt } from "../../demo/sample-files.js";
import { officeFiles, writeFiles } from "../../demo/sample-tree.js";
import type { DetectionSummary } from "../../detection/summary.js";
import type { TenantDetails } from "../../protocol/api.js";
import {
  backupSummary,
  type CliOptions,
  expectExit,
  hashFile,
  jsonOutput,
  runCli,
  tempDir,
} from "../../testing/cli.js";
import type { AlertView } from "../alerts.js";

type Detected = Pick<DetectionSummary, "verdict" | "score" | "reasons">;

async function backUp(src: string, as: CliOptions): Promise<{ id: string; detection: Detected }> {
  const summary = backupSummary(
    expectExit(await runCli(["backup", "--json", src], as), 0, "backup"),
  ) as unknown as { snapshot_id: string; detection: Detected };
  return { id: summary.snapshot_id, detection: summary.detection };
}

async function tenantShow(server: ServerProcess, name: string): Promise<TenantDetails> {
  const args = ["admin", "tenant", "show", name, "--json", "--data", server.dataDir];
  return jsonOutput<TenantDetails>(expectExit(await runCli(args), 0, "admin tenant show"));
}

async function alertsOf(server: ServerProcess, tenant: string): Promise<AlertView[]> {
  const args = ["admin", "alerts", "--tenant", tenant, "--json", "--data", server.dataDir];
  return jsonOutput<AlertView[]>(expectExit(await runCli(args), 0, "admin alerts"));
}

describe("ransomware end to end", () => {
  it("flags a fifth of the files encrypted with AES, alerts, holds the last good snapshot and restores it bit-exact", async (t) => {
    const base = tempDir(t, "ransomware-e2e");
    const server = await ServerProcess.start(t, join(base, "server"));
    const operator = await Operator.login(server, server.adminPassword);
    t.after(() => operator.close());
    await operator.createTenant("acme");

    const src = join(base, "src");
    const names = await writeFiles(src, officeFiles());
    const original = new Map<string, string>();
    for (const name of names) original.set(name, await hashFile(join(src, name)));

    const configPath = join(base, "agent", "agent.json");
    const token = await operator.enrollToken("acme");
    expectExit(await enrollCli(server, token, { configPath, extra: ["--path", src] }), 0, "enroll");
    const as: CliOptions = { password: null, env: { REMPART_AGENT_CONFIG: configPath } };

    const before = await backUp(src, as);
    assert.equal(before.detection.verdict, "ok", before.detection.reasons.join("; "));
    // Nothing is held and nothing is red before the attack: what follows is the server's doing.
    const calm = await tenantShow(server, "acme");
    assert.equal(calm.alert_state, "green");
    assert.equal(calm.snapshots.held, 0);
    assert.deepEqual(await alertsOf(server, "acme"), []);

    // The attack: every fifth file encrypted in place, whole content, AES-256-CTR.
    const victims = names.filter((_, i) => i % 5 === 0);
    for (const name of victims)
      writeFileSync(join(src, name), encrypt(readFileSync(join(src, name))));
    const attacked = await backUp(src, as);
    assert.ok(
      attacked.detection.verdict === "suspicious" || attacked.detection.verdict === "ransomware",
      `verdict ${attacked.detection.verdict}, score ${attacked.detection.score}: ${attacked.detection.reasons.join("; ")}`,
    );

    const alerts = await alertsOf(server, "acme");
    assert.equal(alerts.length, 1, JSON.stringify(alerts));
    const [alert] = alerts;
    assert.ok(alert);
    assert.equal(alert.kind, "detection");
    assert.equal(alert.snapshot_id, attacked.id);
    assert.equal(alert.acknowledged_at, null);
    assert.equal(alert.details.held_snapshot_id, before.id);

    const red = await tenantShow(server, "acme");
    assert.equal(red.alert_state, "red");
    assert.equal(red.open_alerts, 1);
    assert.equal(red.snapshots.held, 1);

    // The held snapshot gives back the files as they were before the attack, bit for bit.
    const target = join(base, "restored");
    expectExit(await runCli(["restore", before.id, "--target", target], as), 0, "restore");
    for (const name of names)
      assert.equal(await hashFile(join(target, src, name)), original.get(name), name);
  });
});
