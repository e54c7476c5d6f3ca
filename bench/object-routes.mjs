// The object routes' cost on the server, compared between checkouts on one shared machine: for
// each checkout a real `rempart server` on 127.0.0.1 (HTTPS, one tenant, an enrolled agent), then
// rounds in which every checkout in turn takes the same requests: PUT and GET of 16 MiB packs,
// HEAD, and a listing page. The server's CPU (user + system, from /proc/PID/stat) per request is
// what is compared, as wall time says little where seven other jobs share two cores; wall time
// is reported beside it. Each round interleaves the checkouts; the best round counts.
//
// Usage: node bench/object-routes.mjs [--cpu-prof DIR] CHECKOUT [CHECKOUT ...]
// (each one built: npm run build). Options through the environment: ROUNDS (default 5), PACKS
// (16 MiB packs a round, default 8), HEADS and LISTS (requests a round, default 400 and 200).
//
// --cpu-prof DIR: each server is profiled (V8's sampler, 1 ms, through node:inspector) and writes
// DIR/<n>/server.cpuprofile (n: the checkout's position) when the bench stops it; the bench then
// prints each server's self time by function, the 25 costliest. Servers are stopped gracefully
// (SIGTERM, then exit) by a preloaded module, so checkouts without a stop handler of their own
// work too. (`node --cpu-prof` is not allowed in NODE_OPTIONS, and bin/rempart runs node itself.)
import { spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import https from "node:https";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

const { values: flags, positionals } = parseArgs({
  options: { "cpu-prof": { type: "string" } },
  allowPositionals: true,
});
const checkouts = positionals.map((dir) => resolve(dir));
if (checkouts.length === 0) {
  console.error("usage: node bench/object-routes.mjs [--cpu-prof DIR] CHECKOUT [CHECKOUT ...]");
  process.exit(2);
}
const profileRoot = flags["cpu-prof"] === undefined ? undefined : resolve(flags["cpu-prof"]);
// Preloaded into each server (NODE_OPTIONS=--import): the profiler when asked for, and a stop on
// SIGTERM that writes the profile first.
const SERVER_PRELOAD = `
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector";
const dir = process.env.OBJECT_ROUTES_PROFILE_DIR;
const session = dir ? new Session() : undefined;
if (session) {
  session.connect();
  session.post("Profiler.enable");
  session.post("Profiler.setSamplingInterval", { interval: 1000 });
  session.post("Profiler.start");
}
process.once("SIGTERM", () => {
  if (!session) process.exit(0);
  session.post("Profiler.stop", (error, result) => {
    if (error) console.error(error);
    else writeFileSync(dir + "/server.cpuprofile", JSON.stringify(result.profile));
    process.exit(0);
  });
});
`;
const PRELOAD_URL = `data:text/javascript;base64,${Buffer.from(SERVER_PRELOAD).toString("base64")}`;
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const PACKS = Number(process.env.PACKS ?? 8);
const HEADS = Number(process.env.HEADS ?? 400);
const LISTS = Number(process.env.LISTS ?? 200);
const PACK_BYTES = 16 * 1024 * 1024;
const TICK_MS = 1000 / 100; // USER_HZ on Linux

const { PackBuilder } = await import(
  pathToFileURL(join(checkouts[0], "dist", "repository", "pack.js")).href
);

/** A 16 MiB pack as the repository writes it (random blobs: incompressible, like most packs). */
function pack() {
  const builder = new PackBuilder(randomBytes(32), PACK_BYTES + 65536);
  const blob = 1024 * 1024 - 64;
  while (builder.size + blob + 1024 < PACK_BYTES)
    builder.add("data", randomBytes(32), randomBytes(blob), blob, false);
  const bytes = Buffer.from(builder.finish().bytes);
  return { bytes, name: createHash("sha256").update(bytes).digest("hex") };
}

/** The process's peak resident memory so far (VmHWM), in MB. */
function peakRssMb(pid) {
  const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  return Number(kb) / 1024;
}

function cpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

async function startServer(checkout, index) {
  const dataDir = mkdtempSync(join(tmpdir(), "rempart-object-routes-"));
  const bin = join(checkout, "bin", "rempart");
  const profileDir = profileRoot === undefined ? undefined : join(profileRoot, String(index));
  if (profileDir !== undefined) mkdirSync(profileDir, { recursive: true });
  const server = spawn(bin, ["server", "--data", dataDir, "--listen", "127.0.0.1:0"], {
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      NODE_OPTIONS: [process.env.NODE_OPTIONS, `--import=${PRELOAD_URL}`].filter(Boolean).join(" "),
      ...(profileDir === undefined ? {} : { OBJECT_ROUTES_PROFILE_DIR: profileDir }),
    },
  });
  let out = "";
  server.stdout.on("data", (chunk) => {
    out += chunk;
  });
  server.stderr.on("data", (chunk) => {
    out += chunk;
  });
  // Stopped with the bench, even when its setup fails.
  process.once("exit", () => server.kill("SIGKILL"));
  let port;
  for (let i = 0; i < 300 && port === undefined; i++) {
    await sleep(100);
    port = /127\.0\.0\.1:(\d+)/.exec(out)?.[1];
  }
  if (port === undefined) {
    rmSync(dataDir, { recursive: true, force: true });
    throw new Error(`${checkout}: the server did not start:\n${out}`);
  }
  const admin = (args) => {
    const r = spawnSync(bin, ["admin", ...args, "--data", dataDir], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`admin ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  admin(["tenant", "create", "bench", "--retention-days", "90"]);
  const token = /rmpe_[A-Za-z0-9_-]+/.exec(admin(["enroll-token", "bench", "--expires", "24h"]))[0];
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false });
  const call = (method, path, body, headers = {}) =>
    new Promise((done, fail) => {
      const request = https.request(
        { host: "127.0.0.1", port, method, path, agent, headers },
        (response) => {
          let length = 0;
          const chunks = [];
          response.on("data", (chunk) => {
            length += chunk.length;
            if (method !== "GET" || !path.includes("/data/")) chunks.push(chunk);
          });
          response.on("end", () => done({ status: response.statusCode, length, chunks }));
          response.on("error", fail);
        },
      );
      request.on("error", fail);
      request.end(body);
    });
  const enrolled = await call(
    "POST",
    "/v1/enroll",
    JSON.stringify({ token, hostname: "bench", version: "bench" }),
    { "content-type": "application/json" },
  );
  const { credential } = JSON.parse(Buffer.concat(enrolled.chunks).toString());
  const authorized = (method, path, body, headers = {}) =>
    call(method, path, body, { ...headers, authorization: `Bearer ${credential}` });
  return { checkout, server, dataDir, profileDir, agent, call: authorized };
}

/** Runs `requests` one after another; the server's CPU and the wall time per request, in ms. */
async function timed(target, requests, expect) {
  const cpu0 = cpuMs(target.server.pid);
  const wall0 = performance.now();
  for (const request of requests) {
    const answer = await request();
    if (!expect.includes(answer.status)) throw new Error(`${target.checkout}: ${answer.status}`);
  }
  const n = requests.length;
  return { cpu: (cpuMs(target.server.pid) - cpu0) / n, wall: (performance.now() - wall0) / n };
}

const OBJECTS = "/v1/repo/objects/data";
const targets = [];
const best = new Map();
const keep = (checkout, route, figures) => {
  const key = `${checkout}\t${route}`;
  const old = best.get(key);
  if (old === undefined || figures.cpu < old.cpu) best.set(key, figures);
};
try {
  for (const [index, checkout] of checkouts.entries())
    targets.push(await startServer(checkout, index));
  for (let round = 0; round < ROUNDS; round++) {
    const packs = Array.from({ length: PACKS }, pack);
    // Alternate which checkout goes first, so neither always meets a warmer machine.
    const order = round % 2 === 0 ? targets : [...targets].reverse();
    for (const target of order) {
      const put = await timed(
        target,
        packs.map(
          (p) => () =>
            target.call("PUT", `${OBJECTS}/${p.name}`, p.bytes, {
              "content-type": "application/octet-stream",
              "content-length": String(p.bytes.length),
            }),
        ),
        [201],
      );
      const get = await timed(
        target,
        packs.map((p) => () => target.call("GET", `${OBJECTS}/${p.name}`)),
        [200],
      );
      const head = await timed(
        target,
        Array.from(
          { length: HEADS },
          (_, i) => () => target.call("HEAD", `${OBJECTS}/${packs[i % PACKS].name}`),
        ),
        [200],
      );
      const list = await timed(
        target,
        Array.from({ length: LISTS }, () => () => target.call("GET", `${OBJECTS}?limit=1000`)),
        [200],
      );
      keep(target.checkout, "PUT 16 MiB", put);
      keep(target.checkout, "GET 16 MiB", get);
      keep(target.checkout, "HEAD", head);
      keep(target.checkout, "list", list);
      console.error(
        `round ${round + 1} ${target.checkout}: PUT ${put.cpu.toFixed(1)} GET ${get.cpu.toFixed(1)} HEAD ${head.cpu.toFixed(2)} list ${list.cpu.toFixed(2)} ms CPU/request`,
      );
    }
  }
} finally {
  for (const target of targets) {
    target.peakRss = peakRssMb(target.server.pid);
    target.agent.destroy();
    const exited = new Promise((done) => target.server.once("exit", done));
    target.server.kill("SIGTERM");
    await exited;
    rmSync(target.dataDir, { recursive: true, force: true });
  }
}
console.log("checkout\troute\tserver CPU ms/request (best round)\twall ms/request (that round)");
for (const [key, { cpu, wall }] of best)
  console.log(`${key}\t${cpu.toFixed(2)}\t${wall.toFixed(2)}`);
for (const target of targets)
  console.log(`${target.checkout}\tserver peak RSS\t${target.peakRss.toFixed(0)} MB`);

/** Self time by function over a server's profiles (file:line, so bundled code is told apart). */
function selfTimes(profileDir) {
  const totals = new Map();
  let all = 0;
  for (const file of readdirSync(profileDir).filter((f) => f.endsWith(".cpuprofile"))) {
    const profile = JSON.parse(readFileSync(join(profileDir, file), "utf8"));
    const byId = new Map(profile.nodes.map((node) => [node.id, node]));
    for (let i = 0; i < profile.samples.length; i++) {
      const { callFrame } = byId.get(profile.samples[i]);
      const where = callFrame.url.replace(/^.*\/(dist|node_modules)\//, "$1/");
      const key = `${callFrame.functionName || "(anonymous)"} ${where}:${callFrame.lineNumber + 1}`;
      // A sample lasts until the next one.
      const us = profile.timeDeltas[i + 1] ?? 0;
      totals.set(key, (totals.get(key) ?? 0) + us);
      all += us;
    }
  }
  return { all, totals };
}

for (const target of targets.filter((t) => t.profileDir !== undefined)) {
  const { all, totals } = selfTimes(target.profileDir);
  console.log(`\n${target.checkout}: self time by function, ${(all / 1000).toFixed(0)} ms sampled`);
  for (const [key, us] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, 25))
    console.log(
      `${(us / 1000).toFixed(1).padStart(9)} ms ${((100 * us) / all).toFixed(1).padStart(5)} %  ${key}`,
    );
}
