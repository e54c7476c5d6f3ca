#!/usr/bin/env node
// restic through `rclone serve restic --append-only` over HTTPS on loopback: the network anchor
// for `rempart-server` in `npm run bench` (restic's own rest-server is not packaged in Debian;
// rclone speaks the same REST protocol).
//   node bench/rclone-server.mjs start DIR   self-signed certificate, rclone serving DIR on
//                                            127.0.0.1, then `restic init` of the repository
//   node bench/rclone-server.mjs stop DIR    stop that rclone
// The repository lives directly in DIR (served at the URL's root), so `du DIR` is its size.
// Beside DIR: DIR.url (the restic repository URL), DIR.tls/cert.pem (for --cacert), DIR.pid,
// DIR.log. The restic password comes from $RESTIC_PASSWORD.
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

const [action, dir] = process.argv.slice(2);
if (!dir || !["start", "stop"].includes(action)) {
  console.error("usage: node bench/rclone-server.mjs start|stop DIR");
  process.exit(2);
}
const pidFile = `${dir}.pid`;

function must(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { encoding: "utf8", ...options });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(" ")}: exit ${r.status ?? r.signal}\n${r.stderr ?? ""}`);
  }
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

function accepts(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

async function start() {
  const tls = `${dir}.tls`;
  fs.rmSync(tls, { recursive: true, force: true });
  fs.mkdirSync(tls, { recursive: true });
  // Go verifies the IP address against the subjectAltName, never the CN.
  must("openssl", [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-days",
    "2",
    "-subj",
    "/CN=127.0.0.1",
    "-addext",
    "subjectAltName=IP:127.0.0.1",
    "-keyout",
    path.join(tls, "key.pem"),
    "-out",
    path.join(tls, "cert.pem"),
  ]);
  fs.mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const logFile = `${dir}.log`;
  const out = fs.openSync(logFile, "w");
  const args = ["serve", "restic", "--append-only", "--addr", `127.0.0.1:${port}`];
  args.push("--cert", path.join(tls, "cert.pem"), "--key", path.join(tls, "key.pem"), dir);
  const server = spawn("rclone", args, {
    detached: true,
    stdio: ["ignore", out, out],
    // no rclone.conf is needed for a local directory; this keeps its notice out of the log
    env: { ...process.env, RCLONE_CONFIG: path.join(tls, "rclone.conf") },
  });
  server.unref();
  fs.writeFileSync(pidFile, String(server.pid));
  let up = false;
  for (let i = 0; i < 200 && !up; i++) {
    await sleep(50);
    up = await accepts(port);
  }
  if (!up) throw new Error(`rclone did not start:\n${fs.readFileSync(logFile, "utf8")}`);
  const url = `rest:https://127.0.0.1:${port}/`;
  fs.writeFileSync(`${dir}.url`, `${url}\n`);
  must("restic", ["init", "-r", url, "--cacert", path.join(tls, "cert.pem")]);
}

async function stop() {
  let pid;
  try {
    pid = Number(fs.readFileSync(pidFile, "utf8"));
  } catch {
    return; // never started
  }
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    fs.rmSync(pidFile, { force: true });
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
