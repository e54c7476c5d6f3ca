#!/usr/bin/env node
// Rempart through its server on loopback, for `npm run bench`:
//   node bench/rempart-server.mjs start DATA_DIR   server in the background, tenant, enrolled agent
//   node bench/rempart-server.mjs stop DATA_DIR    stop that server
// The agent configuration goes to $REMPART_AGENT_CONFIG and the repository password is
// $REMPART_PASSWORD, so the timed `rempart backup` and `restore` commands need no --repo.
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";

const REMPART = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "bin", "rempart");
const [action, dataDir] = process.argv.slice(2);
if (!dataDir || !["start", "stop"].includes(action)) {
  console.error("usage: node bench/rempart-server.mjs start|stop DATA_DIR");
  process.exit(2);
}
const pidFile = `${dataDir}.pid`;

function rempart(args) {
  const r = spawnSync(REMPART, args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`rempart ${args.join(" ")}: exit ${r.status}\n${r.stderr}`);
  return r.stdout;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
    probe.on("error", reject);
  });
}

async function start() {
  const port = await freePort();
  fs.mkdirSync(dataDir, { recursive: true });
  const logFile = `${dataDir}.log`;
  const out = fs.openSync(logFile, "w");
  const server = spawn(REMPART, ["server", "--data", dataDir, "--listen", `127.0.0.1:${port}`], {
    detached: true,
    stdio: ["ignore", out, out],
  });
  server.unref();
  fs.writeFileSync(pidFile, String(server.pid));
  let fingerprint;
  for (let i = 0; i < 200 && !fingerprint; i++) {
    await sleep(100);
    fingerprint = /([0-9A-F]{2}(?::[0-9A-F]{2}){31})/.exec(fs.readFileSync(logFile, "utf8"))?.[1];
  }
  if (!fingerprint)
    throw new Error(`the server did not start:\n${fs.readFileSync(logFile, "utf8")}`);
  rempart(["admin", "tenant", "create", "bench", "--retention-days", "90", "--data", dataDir]);
  const token = /rmpe_[A-Za-z0-9_-]+/.exec(
    rempart(["admin", "enroll-token", "bench", "--expires", "24h", "--data", dataDir]),
  )?.[0];
  if (!token) throw new Error("no enrollment token printed");
  const url = `https://127.0.0.1:${port}`;
  rempart(["agent", "enroll", "--server", url, "--token", token, "--fingerprint", fingerprint]);
}

async function stop() {
  const pid = Number(fs.readFileSync(pidFile, "utf8"));
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return; // already gone
  }
  for (let i = 0; i < 100; i++) {
    await sleep(100);
    try {
      process.kill(pid, 0);
    } catch {
      fs.rmSync(pidFile, { force: true });
      return;
    }
  }
  process.kill(pid, "SIGKILL");
}

await (action === "start" ? start() : stop());
