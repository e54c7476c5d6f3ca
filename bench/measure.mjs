// Running commands and measuring them: wall time, peak RSS, bytes on disk, tree equality.
// Everything here shells out to coreutils/diffutils/GNU time so the numbers mean the same thing
// for every tool under test.
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

export const GNU_TIME = "/usr/bin/time";

// Process groups still running, so an interrupted benchmark does not leave a backup running.
const running = new Set();

export function killRunning() {
  for (const pgid of running) {
    try {
      process.kill(-pgid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

/**
 * Runs `cmd args` under GNU time. stdout/stderr go straight to files (`<logPrefix>.stdout`,
 * `.stderr`) so a chatty tool cannot slow down or bloat this process.
 * Resolves to { ok, code, signal, timedOut, wallS, cpuS, userS, sysS, othersCpuS, peakRssKiB,
 * memFreeBefore, stdoutFile, stderrFile }. Wall time includes only the command (plus GNU time's fork/exec, well under a
 * millisecond). The machine may be shared, so the tool's CPU seconds (user+sys, children
 * included) and the CPU seconds everything else used meanwhile are kept: they tell a slow tool
 * from a busy host.
 */
export async function measure({ cmd, args, env, cwd, logPrefix, timeoutMs }) {
  fs.mkdirSync(path.dirname(logPrefix), { recursive: true });
  const rssFile = `${logPrefix}.rss`;
  const stdoutFile = `${logPrefix}.stdout`;
  const stderrFile = `${logPrefix}.stderr`;
  fs.rmSync(rssFile, { force: true });
  const out = fs.openSync(stdoutFile, "w");
  const err = fs.openSync(stderrFile, "w");
  // Free memory matters for writes: with the page cache full, the kernel reclaims pages inside
  // the writer's own system time (seen: a 1.4 GB restore going from 4 s to 20 s of sys time).
  const memFreeBefore = memFreeBytes();
  const busy0 = hostBusyCpuS();
  const t0 = process.hrtime.bigint();
  // detached: own process group, so a timeout can kill the tool and all its children at once.
  const child = spawn(GNU_TIME, ["-f", "%M %U %S", "-o", rssFile, cmd, ...args], {
    cwd,
    env,
    stdio: ["ignore", out, err],
    detached: true,
  });
  fs.closeSync(out);
  fs.closeSync(err);
  running.add(child.pid);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      // exited between the timer firing and the kill
    }
  }, timeoutMs);
  const { code, signal } = await new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (exitCode, exitSignal) => resolve({ code: exitCode, signal: exitSignal }));
  });
  const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
  const busyS = hostBusyCpuS() - busy0;
  clearTimeout(timer);
  running.delete(child.pid);
  const times = readTimeFile(rssFile);
  return {
    ok: code === 0 && !timedOut,
    code,
    signal,
    timedOut,
    wallS,
    ...times,
    memFreeBefore,
    othersCpuS: times.cpuS === null ? null : round2(Math.max(0, busyS - times.cpuS)),
    stdoutFile,
    stderrFile,
  };
}

// CPU seconds all processes have spent busy since boot (first line of /proc/stat, USER_HZ ticks).
function hostBusyCpuS() {
  const [, ...ticks] = fs.readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/);
  const [user, nice, system, , , irq, softirq, steal] = ticks.map(Number);
  return (user + nice + system + irq + softirq + steal) / 100;
}

/**
 * Waits until the host is quiet: the busy share of all CPUs stays below `maxShare` over a
 * `windowMs` window. Gives up after `maxWaitMs` and resolves to the last share seen.
 */
export async function waitForIdleHost({ maxShare, windowMs = 5000, maxWaitMs, onWait }) {
  const cores = fs.readFileSync("/proc/stat", "utf8").match(/^cpu\d+ /gm)?.length ?? 1;
  const start = Date.now();
  for (;;) {
    const b0 = hostBusyCpuS();
    await new Promise((r) => setTimeout(r, windowMs));
    const share = (hostBusyCpuS() - b0) / ((windowMs / 1000) * cores);
    if (share < maxShare || Date.now() - start > maxWaitMs) return share;
    onWait?.(share);
  }
}

const round2 = (x) => Math.round(x * 100) / 100;

function memFreeBytes() {
  const kib = /^MemFree:\s+(\d+) kB/m.exec(fs.readFileSync("/proc/meminfo", "utf8"))?.[1];
  return kib ? Number(kib) * 1024 : null;
}

// GNU time writes "Command exited with non-zero status N" before the figures on failure.
function readTimeFile(file) {
  const last = fs.existsSync(file) ? fs.readFileSync(file, "utf8").trim().split("\n").at(-1) : "";
  const m = /^(\d+) ([\d.]+) ([\d.]+)$/.exec(last ?? "");
  if (!m) return { peakRssKiB: null, cpuS: null, userS: null, sysS: null };
  const [userS, sysS] = [Number(m[2]), Number(m[3])];
  return { peakRssKiB: Number(m[1]), cpuS: round2(userS + sysS), userS, sysS };
}

/** Last `bytes` of a file as text (for error reports). */
export function tail(file, bytes = 2000) {
  if (!fs.existsSync(file)) return "";
  const size = fs.statSync(file).size;
  const fd = fs.openSync(file, "r");
  try {
    const len = Math.min(size, bytes);
    const buf = Buffer.alloc(len);
    fs.readSync(fd, buf, 0, len, size - len);
    return buf.toString("utf8");
  } finally {
    fs.closeSync(fd);
  }
}

/** Runs a helper command synchronously; throws with its stderr when it fails. */
export function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 64 << 20, ...options });
  if (r.error) throw new Error(`${cmd} ${args.join(" ")}: ${r.error.message}`);
  if (r.status !== 0) {
    const why = (r.stderr || r.stdout || "").trim().split("\n").slice(-10).join("\n");
    throw new Error(`${cmd} ${args.join(" ")} exited with ${r.status ?? r.signal}\n${why}`);
  }
  return r.stdout ?? "";
}

export function timed(fn) {
  const t0 = process.hrtime.bigint();
  const value = fn();
  return { value, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
}

/** Flushes dirty pages; returns the seconds it took (reported, never added to a tool's time). */
export function sync() {
  return timed(() => run("sync", [])).seconds;
}

/** Apparent size in bytes (`du -sb`), the figure that matters for a storage bill. */
export function duBytes(dir) {
  if (!fs.existsSync(dir)) return 0;
  return Number(run("du", ["-sb", dir]).split("\t")[0]);
}

/**
 * Reads every file once so the timed runs start from a warm page cache. `tar cf /dev/null` would
 * not do: GNU tar notices /dev/null and skips reading file contents.
 */
export function warm(dir) {
  return timed(() => run("sh", ["-c", 'find "$1" -type f -exec cat {} + > /dev/null', "sh", dir]))
    .seconds;
}

/** Byte-for-byte comparison of two trees (contents, names, file vs directory); not metadata. */
export function compareTrees(a, b) {
  const r = spawnSync("diff", ["-r", "-q", "--no-dereference", a, b], {
    encoding: "utf8",
    maxBuffer: 16 << 20,
  });
  if (r.status === 0) return { identical: true, detail: "" };
  const detail = (r.stdout || r.stderr || r.error?.message || "").split("\n").slice(0, 10);
  return { identical: false, detail: detail.join("\n") };
}

/** Number of regular files and their total size (cheap: lstat only). */
export function treeStats(dir) {
  let files = 0;
  let bytes = 0;
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        files++;
        bytes += fs.lstatSync(p).size;
      }
    }
  };
  walk(dir);
  return { files, bytes };
}

export function onPath(name) {
  return (process.env.PATH ?? "").split(":").some((dir) => {
    try {
      fs.accessSync(path.join(dir || ".", name), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}
