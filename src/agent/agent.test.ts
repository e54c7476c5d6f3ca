/**
 * The agent end to end, through the real CLI and a real server process on 127.0.0.1: enrolling
 * (with the certificate pinned), backing up and restoring through the server, many agents at
 * once, and a server killed with SIGKILL in the middle of an upload.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { EXIT } from "../cli/exit-codes.js";
import { HttpObjectStore } from "../storage/http/http-store.js";
import {
  assertCleanFailure,
  assertSameTree,
  backupSummary,
  type Cleanup,
  type CliOptions,
  describeResult,
  expectExit,
  jsonOutput,
  runCli,
  startCli,
  tempDir,
  writePseudoRandomFile,
} from "../testing/cli.js";
import { findAgentConfig } from "./config.js";
import { enrollCli, Operator, ServerProcess } from "./test-support.js";

const KiB = 1024;
const MiB = 1024 * KiB;

/** Hooks registered while the suites run, undone once at the end (the servers, the temp dirs). */
const cleanups: (() => unknown)[] = [];
const suite: Cleanup = { after: (fn) => cleanups.push(fn) };
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

interface Agent {
  /** the CLI options that make a command act as this agent (its configuration, no password) */
  readonly as: CliOptions;
  readonly configPath: string;
}

let counter = 0;

async function enrollAgent(
  server: ServerProcess,
  operator: Operator,
  tenant: string,
  paths: readonly string[],
  options: { readonly base: string; readonly extra?: readonly string[] },
): Promise<Agent> {
  counter += 1;
  const configPath = join(options.base, `agent-${counter}`, "agent.json");
  const extra = [...paths.flatMap((path) => ["--path", path]), ...(options.extra ?? [])];
  const token = await operator.enrollToken(tenant);
  expectExit(await enrollCli(server, token, { configPath, extra }), 0, "enroll");
  // From here on the agent needs no password: it is in its configuration.
  return { as: { password: null, env: { REMPART_AGENT_CONFIG: configPath } }, configPath };
}

/** A small tree with a bit of everything a share holds. */
function makeTree(root: string, seed: string, size = 1536 * KiB): void {
  mkdirSync(join(root, "docs", "deep"), { recursive: true });
  writePseudoRandomFile(join(root, "big.bin"), size, `${seed}-big`);
  writePseudoRandomFile(join(root, "docs", "note.txt"), 3000, `${seed}-note`);
  writeFileSync(join(root, "docs", "deep", "empty"), "");
  symlinkSync("../big.bin", join(root, "docs", "link"));
}

describe("an agent enrolled with a server", () => {
  let server: ServerProcess;
  let operator: Operator;
  let base: string;

  before(async () => {
    base = tempDir(suite, "agent");
    server = await ServerProcess.start(suite, join(base, "server"));
    operator = await Operator.login(server, server.adminPassword);
    suite.after(() => operator.close());
    await operator.createTenant("acme");
  });

  it("backs up through the server and restores bit-exact", async () => {
    const src = join(base, "acme-src");
    makeTree(src, "acme");
    const agent = await enrollAgent(server, operator, "acme", [src], { base });
    assert.equal(statSync(agent.configPath).mode & 0o777, 0o600);
    const config = await findAgentConfig(agent.configPath);
    assert.deepEqual(config?.paths, [src]);

    const ran = expectExit(
      await runCli(["agent", "run", "--once", "--json"], agent.as),
      0,
      "agent run --once",
    );
    const first = jsonOutput<{ outcome: string; snapshot_id: string }>(ran);
    assert.equal(first.outcome, "success");

    // `backup` without --repo goes to the server too, with the previous snapshot as parent.
    writePseudoRandomFile(join(src, "docs", "added.bin"), 200 * KiB, "acme-added");
    const second = backupSummary(
      expectExit(await runCli(["backup", "--json", src], agent.as), 0, "backup"),
    );
    assert.equal(second.parent, first.snapshot_id);
    assert.equal(second.files_unchanged, 3);

    const target = join(base, "acme-restored");
    expectExit(await runCli(["restore", "latest", "--target", target], agent.as), 0, "restore");
    await assertSameTree(src, join(target, src));
    expectExit(await runCli(["check"], agent.as), 0, "check");

    const [seen] = await operator.agents("acme");
    assert.equal(seen?.last_backup_status, "success");
    assert.match(String(seen?.version), /^\d+\.\d+\.\d+/);
  });

  it("refuses a wrong fingerprint before the token leaves the machine", async () => {
    const token = await operator.enrollToken("acme");
    const configPath = join(base, "pinned", "agent.json");
    const wrong = server.fingerprint.replace(
      /^../,
      server.fingerprint.startsWith("00") ? "11" : "00",
    );
    const refused = await enrollCli(server, token, { configPath, fingerprint: wrong });
    assertCleanFailure(refused);
    assert.match(
      refused.stderr,
      new RegExp(
        `certificate fingerprint is ${server.fingerprint}, expected ${wrong}: refusing to connect`,
      ),
    );
    assert.equal(existsSync(configPath), false);
    // The token was never sent: it still enrolls, once.
    expectExit(await enrollCli(server, token, { configPath }), 0, "enroll, rightly pinned");
  });

  it("refuses a wrong repository password with exit 10 and writes no configuration", async () => {
    const configPath = join(base, "wrong-password", "agent.json");
    const token = await operator.enrollToken("acme");
    const result = await enrollCli(server, token, { configPath, password: "not the password" });
    expectExit(result, 10, "enroll with a wrong password");
    assertCleanFailure(result);
    assert.match(result.stderr, /wrong password/);
    assert.equal(existsSync(configPath), false);
  });

  it("is refused with the server's reason once its credential is revoked", async () => {
    const src = join(base, "revoked-src");
    makeTree(src, "revoked", 10 * KiB);
    const agent = await enrollAgent(server, operator, "acme", [src], { base });
    const config = await findAgentConfig(agent.configPath);
    await operator.revoke(config?.agentId ?? "");
    const refused = await runCli(["backup", src], agent.as);
    assertCleanFailure(refused);
    assert.match(
      refused.stderr,
      /was revoked at .*; enroll the machine again \(CredentialRevoked\)/,
    );
  });

  it("ends `rempart backup` with exit 12 and says to re-enroll once an admin revokes it", async () => {
    const src = join(base, "admin-revoked-src");
    makeTree(src, "admin-revoked", 10 * KiB);
    const agent = await enrollAgent(server, operator, "acme", [src], { base });
    const agentId = (await findAgentConfig(agent.configPath))?.agentId ?? "";
    expectExit(
      await runCli(["admin", "agent", "revoke", agentId, "--data", server.dataDir], {
        password: null,
      }),
      0,
      "admin agent revoke",
    );
    const refused = await runCli(["backup", src], agent.as);
    assertCleanFailure(refused);
    assert.equal(refused.code, EXIT.credentialRejected, describeResult(refused));
    assert.match(refused.stderr, /was revoked at /);
    assert.match(
      refused.stderr,
      /This machine's agent credential was revoked: enroll this machine again with a new enrollment token from your MSP \(rempart agent enroll\)/,
    );
  });

  it("ends `rempart backup` with exit 12 when the server does not know its credential", async () => {
    const src = join(base, "unknown-src");
    makeTree(src, "unknown", 10 * KiB);
    const agent = await enrollAgent(server, operator, "acme", [src], { base });
    const config = JSON.parse(readFileSync(agent.configPath, "utf8")) as { credential: string };
    // A secret that is not this agent's: answered like an unknown agent, telling nothing more.
    config.credential = `${config.credential.slice(0, -4)}${config.credential.endsWith("AAAA") ? "BBBB" : "AAAA"}`;
    writeFileSync(agent.configPath, JSON.stringify(config), { mode: 0o600 });
    const refused = await runCli(["backup", src], agent.as);
    assertCleanFailure(refused);
    assert.equal(refused.code, EXIT.credentialRejected, describeResult(refused));
    assert.match(refused.stderr, /does not accept this machine's agent credential/);
    assert.doesNotMatch(refused.stderr, /revoked|expired/);
  });

  it("stops cleanly on SIGTERM while it waits for its schedule, having checked in", async () => {
    const src = join(base, "idle-src");
    mkdirSync(src);
    const agent = await enrollAgent(server, operator, "acme", [src], {
      base,
      extra: ["--schedule", "0 0 1 1 *"],
    });
    const { child, result } = startCli(["agent", "run"], agent.as);
    await new Promise<void>((resolve) => {
      let stderr = "";
      child.stderr?.on("data", (chunk: Buffer) => {
        stderr += chunk.toString("utf8");
        if (stderr.includes("next backup at")) resolve();
      });
    });
    child.kill("SIGTERM");
    const stopped = await result;
    expectExit(stopped, 0, "agent run after SIGTERM");
    const config = await findAgentConfig(agent.configPath);
    const seen = (await operator.agents("acme")).find((a) => a.id === config?.agentId);
    assert.notEqual(seen?.last_seen_at, null, "the agent checked in when it started");
  });
});

describe("eight agents of four tenants", () => {
  it("back up at once, restore bit-exact, and share data only within a tenant", async (t) => {
    const base = tempDir(t, "fleet");
    const server = await ServerProcess.start(t, join(base, "server"));
    const operator = await Operator.login(server, server.adminPassword);
    t.after(() => operator.close());
    const tenants = ["t1", "t2", "t3", "t4"];
    const ids = new Map<string, string>();
    for (const name of tenants) ids.set(name, (await operator.createTenant(name)).id);

    // Every machine holds the same shared file and one of its own.
    const SHARED = 2 * MiB;
    const OWN = MiB;
    const machines = tenants.flatMap((tenant) =>
      [1, 2].map((n) => ({
        tenant,
        name: `${tenant}-pc${n}`,
        src: join(base, `${tenant}-pc${n}`),
      })),
    );
    for (const machine of machines) {
      mkdirSync(machine.src);
      writePseudoRandomFile(join(machine.src, "shared.bin"), SHARED, "shared");
      writePseudoRandomFile(join(machine.src, "own.bin"), OWN, machine.name);
    }
    // Enrolled at once too: the two first agents of a tenant race to create its repository.
    const agents = await Promise.all(
      machines.map((m) => enrollAgent(server, operator, m.tenant, [m.src], { base })),
    );
    const runs = await Promise.all(
      agents.map((agent) => runCli(["agent", "run", "--once", "--json"], agent.as)),
    );
    const snapshots = runs.map((run, i) => {
      const outcome = jsonOutput<{ outcome: string; snapshot_id: string }>(
        expectExit(run, 0, `agent ${i}`),
      );
      assert.equal(outcome.outcome, "success");
      return outcome.snapshot_id;
    });

    // No tenant shares a byte with another: each stores the shared file itself.
    for (const tenant of tenants) {
      const stored = server.packBytes(ids.get(tenant) as string);
      assert.ok(stored >= SHARED + 2 * OWN, `${tenant} stores ${stored} bytes of packs`);
    }

    await Promise.all(
      machines.map(async (machine, i) => {
        const target = join(base, `restored-${machine.name}`);
        const agent = agents[i] as Agent;
        const restored = await runCli(
          ["restore", snapshots[i] as string, "--target", target],
          agent.as,
        );
        expectExit(restored, 0, `restore ${machine.name}`);
        await assertSameTree(machine.src, join(target, machine.src));
      }),
    );

    // The second machine of each tenant now backs up a copy of the first one's files: the
    // tenant already holds every chunk of them, whichever machine uploaded it.
    const copies = await Promise.all(
      tenants.map(async (tenant, k) => {
        const first = machines[2 * k] as (typeof machines)[number];
        const copy = join(base, `${tenant}-copy`);
        mkdirSync(copy);
        writePseudoRandomFile(join(copy, "shared.bin"), SHARED, "shared");
        writePseudoRandomFile(join(copy, "own.bin"), OWN, first.name);
        const before = server.packBytes(ids.get(tenant) as string);
        const second = agents[2 * k + 1] as Agent;
        const result = await runCli(["backup", "--json", copy], second.as);
        return { tenant, before, summary: backupSummary(expectExit(result, 0, "backup copy")) };
      }),
    );
    for (const { tenant, before, summary } of copies) {
      assert.equal(summary.bytes_added, 0, `${tenant}: ${JSON.stringify(summary)}`);
      const growth = server.packBytes(ids.get(tenant) as string) - before;
      // Only the trees of the new directory: kilobytes, not the megabytes of the files.
      assert.ok(growth < 64 * KiB, `${tenant} grew by ${growth} bytes`);
    }
  });
});

describe("a server killed in the middle of an upload", () => {
  it("shows no partial object, and the agent finishes its backup after the restart", async (t) => {
    const base = tempDir(t, "killed");
    const dataDir = join(base, "server");
    let server = await ServerProcess.start(t, dataDir);
    const operator = await Operator.login(server, server.adminPassword);
    const tenant = await operator.createTenant("acme");
    const src = join(base, "src");
    mkdirSync(src);
    // Several 16 MiB packs, so that the kill lands between the first pack and the last.
    for (let i = 0; i < 4; i++)
      writePseudoRandomFile(join(src, `file-${i}.bin`), 12 * MiB, `killed-${i}`);
    const agent = await enrollAgent(server, operator, "acme", [src], { base });
    operator.close();

    const running = startCli(["agent", "run", "--once", "--json"], agent.as);
    // Progress, not time: kill once the server has stored the first pack of this backup.
    while (server.packBytes(tenant.id) === 0) {
      assert.equal(running.child.exitCode, null, "the backup ended before any pack was stored");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await server.kill();
    server = await ServerProcess.start(t, dataDir, server.port);

    // The agent's requests are retried until the server is back: this same backup finishes.
    const first = await running.result;
    let outcome = jsonOutput<{ outcome: string; snapshot_id: string | null }>(first);
    if (outcome.outcome !== "success") {
      // Had its retries run out first, the next run resumes from the packs already stored.
      const again = await runCli(["agent", "run", "--once", "--json"], agent.as);
      outcome = jsonOutput(expectExit(again, 0, `second run after ${describeResult(first)}`));
    }
    assert.equal(outcome.outcome, "success");

    // Every object the server shows is whole: its bytes hash to its name.
    const config = await findAgentConfig(agent.configPath);
    assert.ok(config);
    const store = new HttpObjectStore({
      url: server.url,
      fingerprint: server.fingerprint,
      credential: config.credential,
    });
    t.after(() => store.close());
    const { createHash } = await import("node:crypto");
    for (const kind of ["keys", "data", "index", "snapshots"] as const)
      for await (const info of store.list(kind)) {
        const bytes = await store.get(info);
        assert.equal(bytes.length, info.size, `${kind}/${info.name} is short`);
        assert.equal(createHash("sha256").update(bytes).digest("hex"), info.name);
      }
    expectExit(await runCli(["check", "--json"], agent.as), 0, "check");
    const target = join(base, "restored");
    expectExit(await runCli(["restore", "latest", "--target", target], agent.as), 0, "restore");
    await assertSameTree(src, join(target, src));
  });
});
