/**
 * Issue 11's leftover agents end to end, with the real CLI on both sides of a real server on
 * 127.0.0.1: a backup is a check-in, `rempart agent status` tells the machine's state, and an
 * offboarding in the middle of a backup refuses the rest of it, commits nothing, and raises one
 * leftover-agent alert however often the machine calls again that day.
 */
import assert from "node:assert/strict";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { enrollCli, Operator, ServerProcess } from "../../agent/test-support.js";
import {
  type Cleanup,
  type CliOptions,
  describeResult,
  expectExit,
  jsonOutput,
  PROJECT_ROOT,
  runCli,
  startCli,
  tempDir,
  writePseudoRandomFile,
} from "../../testing/cli.js";
import { makeCertificate } from "../../testing/tls.js";
import { openDataDir } from "../data-dir.js";
import { startSmtpReceiver, startWebhookReceiver } from "../delivery/receivers-test-support.js";
import { requestTenantDeletion } from "../offboarding/offboarding.js";

const MiB = 1024 * 1024;
const VERSION = (
  JSON.parse(readFileSync(join(PROJECT_ROOT, "package.json"), "utf8")) as {
    version: string;
  }
).version;

const WEBHOOK_SECRET = "leftover agents webhook secret";
const cleanups: (() => unknown)[] = [];
const suite: Cleanup = { after: (fn) => cleanups.push(fn) };
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

interface AgentJson {
  id: string;
  hostname: string;
  last_seen_at: string | null;
  last_host: string | null;
  last_address: string | null;
  version: string | null;
}

interface StatusJson {
  agent_id: string;
  tenant: { name: string };
  server_answers: boolean;
  credential: string;
  scopes: string[] | null;
  expires_at: string | null;
  problem: string | null;
  last_backup: { outcome: string; snapshot_id: string | null } | null;
}

function admin(dataDir: string, ...args: string[]) {
  return runCli(["admin", ...args, "--data", dataDir]);
}

async function adminJson<T>(dataDir: string, ...args: string[]): Promise<T> {
  return jsonOutput<T>(expectExit(await admin(dataDir, ...args, "--json"), 0));
}

async function offboard(dataDir: string, name: string): Promise<void> {
  const data = await openDataDir(dataDir);
  try {
    const requester = await data.catalog.getOperatorByUsername("admin");
    assert.ok(requester);
    await requestTenantDeletion(
      { catalog: data.catalog, stores: data.stores, now: () => new Date() },
      { audit: { kind: "operator", id: requester.id }, operatorId: requester.id },
      name,
      { requestedBy: "admin" },
    );
  } finally {
    await data.catalog.close();
  }
}

function snapshotFiles(dataDir: string, tenantId: string): string[] {
  const root = join(dataDir, "tenants", tenantId, "snapshots");
  try {
    return readdirSync(root, { recursive: true }).map(String);
  } catch {
    return [];
  }
}

describe("leftover agents through the CLI", () => {
  it("sees a backup as a check-in, reports status, and raises one alert for an offboarded machine mid-backup", async () => {
    const dataDir = tempDir(suite, "server");
    // The MSP is told outside a terminal: a webhook that checks the signature, and a mail relay
    // that takes mail only over STARTTLS after a login, both real, on 127.0.0.1.
    const secrets = tempDir(suite, "secrets");
    writeFileSync(join(secrets, "webhook"), `${WEBHOOK_SECRET}\n`, { mode: 0o600 });
    writeFileSync(join(secrets, "smtp"), "relay password\n", { mode: 0o600 });
    const hook = await startWebhookReceiver(WEBHOOK_SECRET, () => 204);
    const certificate = await makeCertificate();
    writeFileSync(join(secrets, "smtp-ca.pem"), certificate.cert);
    const smtp = await startSmtpReceiver(certificate, "rempart", "relay password");
    cleanups.push(() => Promise.all([hook.close(), smtp.close()]));
    const server = await ServerProcess.start(suite, dataDir, 0, [
      "--alert-webhook",
      hook.url,
      "--alert-webhook-secret-file",
      join(secrets, "webhook"),
      "--alert-email",
      "oncall@msp.example",
      "--smtp-host",
      "127.0.0.1",
      "--smtp-port",
      String(smtp.port),
      "--smtp-user",
      "rempart",
      "--smtp-password-file",
      join(secrets, "smtp"),
      "--smtp-ca",
      join(secrets, "smtp-ca.pem"),
    ]);
    const operator = await Operator.login(server, server.adminPassword);
    cleanups.push(() => operator.close());
    const tenant = await operator.createTenant("acme");
    const src = tempDir(suite, "src");
    const configPath = join(tempDir(suite, "agent"), "agent.json");
    expectExit(
      await enrollCli(server, await operator.enrollToken("acme"), {
        configPath,
        extra: ["--path", src],
      }),
      0,
    );
    const as: CliOptions = { password: null, env: { REMPART_AGENT_CONFIG: configPath } };

    // Enrolled, never seen at work yet: status says so, from the server.
    const fresh = await runCli(["agent", "status", "--json"], as);
    const status = jsonOutput<StatusJson>(expectExit(fresh, 0));
    assert.equal(status.server_answers, true);
    assert.equal(status.credential, "valid");
    assert.deepEqual(status.scopes, ["backup"]);
    assert.ok(status.expires_at);
    assert.equal(status.last_backup, null);

    // rempart backup through the server is a check-in, not only agent run.
    writePseudoRandomFile(join(src, "small"), 100_000, "small");
    expectExit(await runCli(["backup", src], as), 0);
    const shown = expectExit(await admin(dataDir, "tenant", "show", "acme"), 0);
    assert.doesNotMatch(shown.stdout, /last seen never/);
    const details = await adminJson<{ agents: AgentJson[] }>(dataDir, "tenant", "show", "acme");
    const seen = details.agents[0];
    assert.ok(seen?.last_seen_at);
    assert.equal(seen.last_host, hostname());
    assert.equal(seen.version, VERSION);
    assert.equal(seen.last_address, "127.0.0.1");

    // agent run remembers its last backup for agent status.
    expectExit(await runCli(["agent", "run", "--once"], as), 0);
    const afterRun = jsonOutput<StatusJson>(
      expectExit(await runCli(["agent", "status", "--json"], as), 0),
    );
    assert.equal(afterRun.last_backup?.outcome, "success");
    assert.ok(afterRun.last_backup?.snapshot_id);
    assert.match(
      expectExit(await runCli(["agent", "status"], as), 0).stdout,
      /credential {2}valid until .*\nlast backup success at /,
    );

    // Stale agents: none unseen for a week; with 0s, every agent, with where it called from.
    assert.match(
      expectExit(await admin(dataDir, "agent", "list", "--stale", "7d"), 0).stdout,
      /no agent unseen for 7d/,
    );
    const all = await adminJson<(AgentJson & { tenant_name: string })[]>(
      dataDir,
      "agent",
      "list",
      "--stale",
      "0s",
    );
    assert.deepEqual(
      all.map((a) => [a.tenant_name, a.id, a.last_address]),
      [["acme", status.agent_id, "127.0.0.1"]],
    );

    // A large backup; the tenant is offboarded once its first packs are stored.
    const before = snapshotFiles(dataDir, tenant.id);
    const big = join(src, "big");
    mkdirSync(big);
    for (let i = 0; i < 8; i += 1) writePseudoRandomFile(join(big, `f${i}`), 16 * MiB, `big ${i}`);
    const stored = server.packBytes(tenant.id);
    const backup = startCli(["backup", src], as);
    while (server.packBytes(tenant.id) === stored) await sleep(20);
    // Through the library rather than `admin tenant delete` (the same call), so that the backup
    // cannot finish during a CLI's start-up.
    await offboard(dataDir, "acme");
    const cut = await backup.result;
    assert.equal(cut.code, 12, describeResult(cut));
    assert.match(cut.stderr, /no longer active|revoked/);
    assert.deepEqual(snapshotFiles(dataDir, tenant.id), before, "no partial snapshot");

    // The machine calls again the same day: still one alert.
    const refused = await runCli(["agent", "status", "--json"], as);
    assert.equal(refused.code, 12, describeResult(refused));
    const afterOffboarding = jsonOutput<StatusJson>(refused);
    assert.ok(["revoked", "tenant-inactive"].includes(afterOffboarding.credential));
    assert.match(afterOffboarding.problem ?? "", /enroll|offboarded/);
    const alerts = await adminJson<{ kind: string; severity: string; message: string }[]>(
      dataDir,
      "alerts",
      "list",
    );
    const leftover = alerts.filter((alert) => alert.kind === "leftover-agent");
    assert.equal(leftover.length, 1, JSON.stringify(alerts));
    assert.equal(leftover[0]?.severity, "high");
    assert.match(
      leftover[0]?.message ?? "",
      new RegExp(
        `agent ${status.agent_id} on host .+ of former client acme is still installed and calling in from 127\\.0\\.0\\.1`,
      ),
    );
    const audit = await adminJson<{ action: string }[]>(dataDir, "audit");
    assert.ok(audit.some((entry) => entry.action === "agent.leftover-call"));

    // That one alert reaches both destinations: the webhook with a valid signature, the mail
    // through the relay; nothing else was raised for them to carry.
    await Promise.all([hook.waitFor(1), smtp.waitFor(1)]);
    assert.equal(hook.received.length, 1);
    assert.equal(hook.received[0]?.signatureValid, true);
    assert.equal(hook.received[0]?.body.alert.tenant, "acme");
    assert.match(hook.received[0]?.body.alert.message ?? "", /former client acme/);
    assert.equal(smtp.received.length, 1);
    assert.deepEqual(smtp.received[0]?.to, ["oncall@msp.example"]);
    assert.equal(smtp.received[0]?.secure, true);
    assert.match(
      smtp.received[0]?.data ?? "",
      /Subject: \[Rempart high\] leftover-agent alert #\d+ for acme/,
    );
  });
});
