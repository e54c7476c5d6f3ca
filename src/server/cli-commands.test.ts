/**
 * `rempart server` and `rempart admin`, run as real child processes (bin/rempart.js) on real data
 * directories.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import type { EnrollResponse } from "../protocol/api.js";
import type { RunningServer } from "./server.js";
import {
  asPack,
  assertError,
  type Cleanup,
  fingerprintFiles,
  json,
  keySlotOf,
  sha256,
  startTestServer,
  TestClock,
  TestServer,
  tempDir,
} from "./test-support.js";

const BIN = fileURLToPath(new URL("../../bin/rempart.js", import.meta.url));

function start(command: "server" | "admin", args: readonly string[]): ChildProcess {
  return spawn(process.execPath, [BIN, command, ...args], { stdio: ["ignore", "pipe", "pipe"] });
}

interface Finished {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function finished(child: ChildProcess): Promise<Finished> {
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  // A hang guard, not a timing assertion.
  const guard = setTimeout(() => child.kill("SIGKILL"), 60_000);
  return new Promise((resolve) =>
    child.on("close", (code) => {
      clearTimeout(guard);
      resolve({ code, stdout, stderr });
    }),
  );
}

async function admin(dataDir: string, ...args: string[]): Promise<Finished> {
  return finished(start("admin", [...args, "--data", dataDir]));
}

async function adminJson<T>(dataDir: string, ...args: string[]): Promise<T> {
  const result = await admin(dataDir, ...args, "--json");
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as T;
}

interface Started {
  readonly child: ChildProcess;
  readonly done: Promise<Finished>;
  readonly info: { url: string; fingerprint: string; first_admin: { password: string } | null };
  /** A TestServer view of the child, for requests. */
  readonly client: TestServer;
}

async function serverChild(owner: Cleanup, dataDir: string): Promise<Started> {
  const child = start("server", ["--data", dataDir, "--listen", "127.0.0.1:0", "--json"]);
  const done = finished(child);
  owner.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  let line = "";
  while (!line.includes("\n")) {
    const [chunk] = (await Promise.race([
      once(child.stdout as NodeJS.ReadableStream, "data"),
      done.then(() => [""]),
    ])) as [Buffer | string];
    if (chunk === "") assert.fail(`the server exited: ${(await done).stderr}`);
    line += chunk.toString();
  }
  const info = JSON.parse(line.slice(0, line.indexOf("\n"))) as Started["info"];
  const port = Number(new URL(info.url).port);
  const view: RunningServer = {
    url: info.url,
    port,
    fingerprint: info.fingerprint,
    ...(info.first_admin ? { firstAdminPassword: info.first_admin.password } : {}),
    tlsGenerated: false,
    close: async () => {},
  };
  return { child, done, info, client: new TestServer(view, dataDir, new TestClock()) };
}

describe("rempart server", () => {
  it("prints its URL, fingerprint and first admin login, and closes cleanly on SIGTERM", async (t) => {
    const dataDir = tempDir(t, "cli-server");
    const first = await serverChild(t, dataDir);
    assert.match(first.info.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.match(first.info.fingerprint, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    assert.ok(first.info.first_admin);
    const health = await first.client.send({ path: "/v1/health" });
    assert.equal(health.status, 200);
    await first.client.login();
    first.child.kill("SIGTERM");
    const ended = await first.done;
    assert.equal(ended.code, 0, ended.stderr);
    assert.match(ended.stderr, /SIGTERM: closing/);

    // Started again: the same certificate, no new admin login.
    const second = await serverChild(t, dataDir);
    assert.equal(second.info.fingerprint, first.info.fingerprint);
    assert.equal(second.info.first_admin, null);
    second.child.kill("SIGINT");
    assert.equal((await second.done).code, 0);
  });

  it("refuses a malformed --listen", async () => {
    const result = await finished(
      start("server", ["--listen", "localhost", "--data", "/nonexistent"]),
    );
    assert.equal(result.code, 1);
    assert.match(result.stderr, /--listen wants HOST:PORT/);
  });

  it("leaves no partial object when killed mid-upload, and takes the upload again after a restart", async (t) => {
    const dataDir = tempDir(t, "cli-kill");
    const first = await serverChild(t, dataDir);
    const session = await first.client.login();
    const tenant = await first.client.createTenant(session, "acme");
    const agent = await first.client.agentOf(session, "acme");
    const body = asPack(Buffer.alloc(4 * 1024 * 1024, 7));
    const name = sha256(body);
    const socket = await first.client.connectRaw();
    socket.on("error", () => {});
    let received = "";
    const handling = new Promise<void>((resolve) =>
      socket.on("data", (chunk: Buffer) => {
        received += chunk.toString("latin1");
        if (received.startsWith("HTTP/1.1 100")) resolve();
      }),
    );
    socket.write(
      `PUT /v1/repo/objects/data/${name} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${agent.credential}\r\nContent-Type: application/octet-stream\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`,
    );
    await handling;
    await new Promise<void>((resolve) =>
      socket.write(body.subarray(0, body.length / 2), () => resolve()),
    );
    first.child.kill("SIGKILL");
    await first.done;
    socket.destroy();

    const second = await serverChild(t, dataDir);
    const token = agent.credential;
    const head = await second.client.send({
      method: "HEAD",
      path: `/v1/repo/objects/data/${name}`,
      token,
    });
    assert.equal(head.status, 404);
    const listing = await second.client.send({ path: "/v1/repo/objects/data", token });
    assert.deepEqual(json(listing), { objects: [] });
    assert.deepEqual([...fingerprintFiles(join(dataDir, "tenants", tenant.id)).keys()], []);
    const again = await second.client.put(token, "data", name, body);
    assert.equal(again.status, 201, again.body.toString());
    second.child.kill("SIGTERM");
    assert.equal((await second.done).code, 0);
  });
});

describe("rempart admin", () => {
  it("manages tenants, enrollment tokens, agents and the audit log beside a running server", async (t) => {
    const server = await startTestServer(t);
    const data = server.dataDir;
    const created = await adminJson<{ name: string; quota_bytes: number; immutable_days: number }>(
      data,
      "tenant",
      "create",
      "acme",
      "--retention-days",
      "90",
      "--immutable-days",
      "7",
      "--quota",
      "2G",
    );
    assert.deepEqual(
      { name: created.name, quota: created.quota_bytes, immutable: created.immutable_days },
      { name: "acme", quota: 2 * 2 ** 30, immutable: 7 },
    );
    const tenants = await adminJson<{ name: string }[]>(data, "tenant", "list");
    assert.deepEqual(
      tenants.map((x) => x.name),
      ["acme"],
    );
    const listed = await admin(data, "tenant", "list");
    assert.match(
      listed.stdout,
      /^acme {2}active {2}retention 90 d, immutable 7 d, quota 2\.00 GiB/,
    );

    const issued = await adminJson<{ token: string; fingerprint: string }>(
      data,
      "enroll-token",
      "acme",
      "--expires",
      "24h",
      "--restore",
    );
    assert.equal(issued.fingerprint, server.server.fingerprint);
    const enrolled = await server.enroll(issued.token, "nas");
    assert.equal(enrolled.status, 201, enrolled.body.toString());
    const agent = json<EnrollResponse>(enrolled);
    assert.deepEqual(agent.scopes, ["backup", "restore"]);

    const agents = await adminJson<{ id: string; hostname: string }[]>(
      data,
      "agent",
      "list",
      "acme",
    );
    assert.deepEqual(
      agents.map((a) => [a.id, a.hostname]),
      [[agent.agent_id, "nas"]],
    );
    const shown = await adminJson<{ agents: unknown[]; usage: { stored_bytes: number } }>(
      data,
      "tenant",
      "show",
      "acme",
    );
    assert.equal(shown.agents.length, 1);
    assert.equal(shown.usage.stored_bytes, 0);
    const human = await admin(data, "tenant", "show", "acme");
    assert.match(human.stdout, /snapshots: 0 active/);

    const revoked = await adminJson<{ revoked_at: string | null }>(
      data,
      "agent",
      "revoke",
      agent.agent_id,
    );
    assert.ok(revoked.revoked_at);
    assertError(
      await server.send({ path: "/v1/repo/objects/data", token: agent.credential }),
      "CredentialRevoked",
    );

    const audit = await adminJson<{ action: string; actor: { kind: string; id: string } }[]>(
      data,
      "audit",
      "--tenant",
      "acme",
    );
    assert.deepEqual(
      audit.map((e) => e.action),
      // The revoked agent calling in again is a leftover agent: audited, and alerted.
      [
        "alert.raise",
        "agent.leftover-call",
        "agent.revoke",
        "agent.enroll",
        "enroll-token.create",
        "tenant.create",
      ],
    );
    assert.equal(audit.at(-1)?.actor.kind, "system");
    assert.match(String(audit.at(-1)?.actor.id), /^admin-cli:\S+\(\d+\)/, "who ran the CLI");
  });

  it("sets quotas, adds key slots, shows unverified backups and quarantines agents", async (t) => {
    const server = await startTestServer(t);
    const data = server.dataDir;
    const created = await adminJson<{ quota_bytes: number | null }>(
      data,
      "tenant",
      "create",
      "acme",
      "--retention-days",
      "30",
    );
    assert.equal(created.quota_bytes, 2 ** 40, "the default quota");
    const small = await adminJson<{ quota_bytes: number | null }>(
      data,
      "tenant",
      "create",
      "small",
      "--retention-days",
      "30",
      "--default-quota",
      "10G",
    );
    assert.equal(small.quota_bytes, 10 * 2 ** 30);
    const unlimited = await adminJson<{ quota_bytes: number | null }>(
      data,
      "tenant",
      "create",
      "big",
      "--retention-days",
      "30",
      "--quota",
      "none",
    );
    assert.equal(unlimited.quota_bytes, null);
    const set = await adminJson<{ quota_bytes: number | null }>(
      data,
      "tenant",
      "set-quota",
      "acme",
      "500G",
    );
    assert.equal(set.quota_bytes, 500 * 2 ** 30);

    const slot = await keySlotOf("added by the MSP");
    const file = join(tempDir(t, "slot"), "slot.json");
    writeFileSync(file, slot.bytes);
    const added = await adminJson<{ name: string; outcome: string }>(
      data,
      "key",
      "add",
      "acme",
      "--file",
      file,
    );
    assert.deepEqual(added, { name: slot.name, outcome: "created" });

    const session = await server.login();
    const agent = await server.agentOf(session, "acme", "nas");
    const checkin = await server.send({
      method: "POST",
      path: "/v1/agent/checkin",
      token: agent.credential,
      json: {
        version: "0.1.0",
        last_backup: { at: "2030-01-01T00:00:00Z", outcome: "success", snapshot_id: sha256("x") },
      },
    });
    assert.equal(checkin.status, 204);
    const agents = await admin(data, "agent", "list", "acme");
    assert.match(
      agents.stdout,
      /last backup success \(unverified: no snapshot [0-9a-f]{12} committed by this agent\)/,
    );

    const quarantined = await adminJson<{ agent_id: string; since: string }>(
      data,
      "quarantine",
      "acme",
      "--agent",
      agent.agent_id,
      "--since",
      "2026-01-01T00:00:00Z",
    );
    assert.equal(quarantined.agent_id, agent.agent_id);
    assert.equal(quarantined.since, "2026-01-01T00:00:00.000Z");
    const human = await admin(data, "quarantine", "list", "acme");
    assert.match(
      human.stdout,
      /quarantine #\d+: agent [0-9a-f]+ \(nas\), uploads since 2026-01-01 00:00:00, active/,
    );
    await admin(data, "quarantine", "release", "acme", "--agent", agent.agent_id);
    const audit = await adminJson<{ action: string }[]>(data, "audit", "--tenant", "acme");
    assert.deepEqual(
      audit.slice(0, 5).map((e) => e.action),
      [
        "agent.quarantine.release",
        "agent.quarantine",
        "agent.enroll",
        "enroll-token.create",
        "key.add",
      ],
    );
    assert.ok(audit.some((e) => e.action === "tenant.quota.set"));
  });

  it("explains what is wrong and exits 1 on bad input", async (t) => {
    const server = await startTestServer(t);
    const data = server.dataDir;
    await adminJson(data, "tenant", "create", "acme", "--retention-days", "30");
    const cases: [string[], RegExp][] = [
      [["tenant", "show", "nope"], /no tenant named "nope"/],
      [["tenant", "create", "acme", "--retention-days", "30"], /already exists/],
      [["tenant", "create", "Bad Name", "--retention-days", "30"], /"name" is malformed/],
      [
        ["tenant", "create", "x", "--retention-days", "30", "--quota", "5X"],
        /--quota wants a size such as 500G/,
      ],
      [["tenant", "create", "x"], /--retention-days is required/],
      [["enroll-token", "acme"], /--expires is required/],
      [["enroll-token", "acme", "--expires", "90d"], /expires_in_seconds/],
      [["agent", "revoke", "nobody"], /no agent "nobody"/],
      [["bogus"], /unknown admin command/],
      [["quarantine", "acme"], /--agent is required/],
      [["quarantine", "acme", "--agent", "x", "--since", "soon"], /--since wants a time/],
      [["key", "add", "acme", "--file", "/nonexistent/slot.json"], /slot\.json/],
      [["tenant", "set-quota", "acme", "lots"], /the quota wants a size/],
    ];
    for (const [args, message] of cases) {
      const result = await admin(data, ...args);
      assert.equal(result.code, 1, `${args.join(" ")}: ${result.stderr}`);
      assert.match(result.stderr, message, args.join(" "));
    }
    const nowhere = await finished(
      start("admin", ["tenant", "list", "--data", join(tempDir(t, "empty"), "none")]),
    );
    assert.equal(nowhere.code, 1);
    assert.match(nowhere.stderr, /no Rempart server data/);
  });
});
