/**
 * The systemd units shipped in packaging/systemd: they pass `systemd-analyze verify` (when the
 * machine has it) with no warning, are hardened, and their ExecStart is a real command line: the
 * server's is started as written (paths swapped for temporary ones) and serves metrics with its
 * jobs on, and `--no-jobs` turns them off; the agent's command exists and takes its options.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { once } from "node:events";
import { readFileSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import { AGENT_CONFIG_ENV } from "../../agent/config.js";
import { ServerProcess } from "../../agent/test-support.js";
import { PROJECT_ROOT, runCli, tempDir } from "../../testing/cli.js";

const UNITS = join(PROJECT_ROOT, "packaging", "systemd");
const INSTALLED_BINARY = "/usr/local/bin/rempart";

type Unit = Map<string, string[]>;

/** `Section.Key` → every value it is given, in order. */
function parseUnit(name: string): Unit {
  const unit: Unit = new Map();
  let section = "";
  for (const raw of readFileSync(join(UNITS, name), "utf8").split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) {
      section = header[1] as string;
      continue;
    }
    const at = line.indexOf("=");
    assert.ok(at > 0, `${name}: not a key=value line: ${line}`);
    const key = `${section}.${line.slice(0, at)}`;
    unit.set(key, [...(unit.get(key) ?? []), line.slice(at + 1)]);
  }
  return unit;
}

function one(unit: Unit, key: string): string {
  const values = unit.get(key);
  assert.equal(values?.length, 1, `${key}: ${JSON.stringify(values)}`);
  return values?.[0] as string;
}

/** ExecStart split into words (the units use no quoting), the binary checked and dropped. */
function commandOf(unit: Unit): string[] {
  const [binary, ...args] = one(unit, "Service.ExecStart").split(/\s+/);
  assert.equal(binary, INSTALLED_BINARY);
  return args;
}

function optionValue(args: readonly string[], option: string): string {
  const at = args.indexOf(option);
  assert.ok(at >= 0 && args[at + 1] !== undefined, `${option} missing from ${args.join(" ")}`);
  return args[at + 1] as string;
}

function withOption(args: readonly string[], option: string, value: string): string[] {
  const copy = [...args];
  copy[copy.indexOf(option) + 1] = value;
  return copy;
}

const HARDENING = {
  "Service.NoNewPrivileges": "yes",
  "Service.ProtectSystem": "strict",
  "Service.PrivateTmp": "yes",
  "Service.LimitNOFILE": "65536",
  "Service.RestrictSUIDSGID": "yes",
} as const;

function get(port: number, path: string, token: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      {
        host: "127.0.0.1",
        port,
        path,
        headers: { authorization: `Bearer ${token}` },
        agent: false,
        rejectUnauthorized: false,
      },
      (incoming) => {
        let body = "";
        incoming.on("data", (chunk: Buffer) => {
          body += chunk.toString("utf8");
        });
        incoming.on("end", () => resolve({ status: incoming.statusCode ?? 0, body }));
        incoming.on("error", reject);
      },
    );
    outgoing.on("error", reject);
    outgoing.end();
  });
}

describe("systemd units", () => {
  it("pass systemd-analyze verify without a warning", (t) => {
    const found = spawnSync("systemd-analyze", ["--version"]);
    if (found.error !== undefined) {
      t.skip("systemd-analyze is not installed here; the other tests still check the units");
      return;
    }
    // verify checks that ExecStart's binary exists: point it at this checkout's.
    const dir = tempDir(t, "units");
    const names = ["rempart-server.service", "rempart-agent.service"];
    for (const name of names)
      writeFileSync(
        join(dir, name),
        readFileSync(join(UNITS, name), "utf8").replaceAll(
          INSTALLED_BINARY,
          join(PROJECT_ROOT, "bin", "rempart"),
        ),
      );
    const verified = spawnSync("systemd-analyze", ["verify", ...names.map((n) => join(dir, n))], {
      encoding: "utf8",
    });
    assert.equal(verified.status, 0, verified.stderr);
    assert.equal(verified.stderr.trim(), "", "no warning (an unknown key is only a warning)");
  });

  it("are hardened and write only where the programs keep their data", () => {
    const server = parseUnit("rempart-server.service");
    const agent = parseUnit("rempart-agent.service");
    for (const unit of [server, agent])
      for (const [key, value] of Object.entries(HARDENING))
        assert.equal(one(unit, key), value, key);
    assert.equal(one(server, "Service.User"), "rempart", "the server runs as its own user");
    assert.equal(one(server, "Service.CapabilityBoundingSet"), "");
    assert.equal(
      one(server, "Service.ReadWritePaths"),
      optionValue(commandOf(server), "--data"),
      "the server writes its data directory and nothing else",
    );
    const config = one(agent, "Service.Environment");
    assert.ok(config.startsWith(`${AGENT_CONFIG_ENV}=`), config);
    assert.equal(
      one(agent, "Service.ReadWritePaths"),
      dirname(config.slice(AGENT_CONFIG_ENV.length + 1)),
    );
  });

  it("start the agent with a command and options the CLI has", async () => {
    const args = commandOf(parseUnit("rempart-agent.service"));
    assert.deepEqual(args, ["agent", "run"], "a daemon: no timer needed");
    const help = await runCli([...args, "--help"]);
    assert.equal(help.code, 0, help.stderr);
  });

  it("start a server as written that runs its jobs and serves metrics; --no-jobs runs none", async (t) => {
    const written = commandOf(parseUnit("rempart-server.service"));
    assert.equal(written[0], "server");
    const dir = tempDir(t, "unit-server");
    const token = "unit-test-scrape-token-0123456789abcdef";
    writeFileSync(join(dir, "metrics-token"), `${token}\n`);
    const local = withOption(
      withOption(withOption(written, "--data", join(dir, "data")), "--listen", "127.0.0.1:0"),
      "--metrics-token-file",
      join(dir, "metrics-token"),
    );
    for (const [extra, jobs] of [
      [[], true],
      [["--no-jobs"], false],
    ] as const) {
      // The unit's own options, as written but for the paths and port.
      const { child, port } = await ServerProcess.start(t, join(dir, "data"), 0, [
        ...local.slice(1),
        ...extra,
      ]);
      const scraped = await get(port, "/metrics", token);
      assert.equal(scraped.status, 200, scraped.body);
      assert.equal(
        scraped.body.includes('rempart_job_runs{job="gc",outcome="ok"} 0'),
        jobs,
        `jobs ${jobs ? "on" : "off"}:\n${scraped.body.slice(0, 2000)}`,
      );
      assert.equal((await get(port, "/metrics", "wrong")).status, 401);
      const exited = once(child, "exit");
      child.kill("SIGTERM");
      assert.deepEqual(await exited, [0, null]);
    }
  });
});
