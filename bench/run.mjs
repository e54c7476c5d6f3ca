#!/usr/bin/env node
// `npm run bench`: Rempart against restic and borg on the shared corpus. See bench/README.md.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { ensureCorpus } from "./corpus.mjs";
import { releaseLock, takeLock } from "./lock.mjs";
import {
  compareTrees,
  duBytes,
  GNU_TIME,
  killRunning,
  measure,
  run,
  sync,
  tail,
  timed,
  treeStats,
  waitForIdleHost,
  warm,
} from "./measure.mjs";
import { busiestHost, metricTable, metricValues, renderTable } from "./report.mjs";
import { ensureCommand, makeTools, restoredRoot } from "./tools.mjs";

const ALL_TOOLS = ["rempart", "rempart-server", "restic", "borg"];
const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = path.resolve(BENCH_DIR, "..");
const SHARED = path.resolve(REPO_ROOT, "..", "shared");
const WORK = path.join(BENCH_DIR, ".work");
// One fixed absolute path for the share under test, so every backup of it finds its parent.
const WORK_SHARE = path.join(WORK, "share-work");

// Share of the machine's CPU used by other processes during a timed command above which the
// wall times of that run are not trustworthy.
const BUSY_SHARE = 0.1;
const fmtShare = (v) => (v === undefined ? "—" : `${(v * 100).toFixed(0)} %`);

const USAGE = `usage: node bench/run.mjs [options]
  --tools a,b,c     tools to run, from ${ALL_TOOLS.join(",")} (default: all)
  --only WHAT       share | versioned (default: both)
  --timeout-min N   kill any single command after N minutes (default 60)
  --keep            keep the restored trees under bench/.work/restore/
  --wait-idle N     before each timed command wait (up to N minutes) until other processes
                    use under 10 % of the CPU (for a shared machine; default 0: no waiting)
  -h, --help        this text`;

const log = (msg) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);

class StepFailed extends Error {
  constructor(step, detail) {
    super(`${step} failed: ${detail}`);
    this.step = step;
  }
}

function parseOptions() {
  const { values } = parseArgs({
    options: {
      tools: { type: "string", default: ALL_TOOLS.join(",") },
      only: { type: "string" },
      "timeout-min": { type: "string", default: "60" },
      keep: { type: "boolean", default: false },
      "wait-idle": { type: "string", default: "0" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const tools = values.tools
    .split(",")
    .map((t) => t.trim())
    .filter(Boolean);
  const unknown = tools.filter((t) => !ALL_TOOLS.includes(t));
  if (unknown.length || tools.length === 0) fail(`unknown tool(s): ${unknown.join(",")}\n${USAGE}`);
  if (values.only && !["share", "versioned"].includes(values.only)) fail(USAGE);
  const timeoutMin = Number(values["timeout-min"]);
  if (!(timeoutMin > 0)) fail(`--timeout-min must be a positive number\n${USAGE}`);
  const waitIdleMin = Number(values["wait-idle"]);
  if (!(waitIdleMin >= 0)) fail(`--wait-idle must be a number of minutes\n${USAGE}`);
  return {
    waitIdleMs: waitIdleMin * 60_000,
    tools: ALL_TOOLS.filter((t) => tools.includes(t)),
    share: values.only !== "versioned",
    versioned: values.only !== "share",
    timeoutMs: timeoutMin * 60_000,
    keep: values.keep,
  };
}

function fail(message) {
  console.error(message);
  process.exit(2);
}

function freshDir(dir) {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
}

/** Everything one tool's run needs: its adapter, a clean repository and a private home/cache. */
function toolContext(name, tool, suffix, run) {
  const repo = path.join(WORK, "repos", `${name}${suffix}`);
  const home = path.join(WORK, "home", `${name}${suffix}`);
  fs.rmSync(repo, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(repo), { recursive: true });
  freshDir(home);
  const env = {
    ...process.env,
    XDG_CACHE_HOME: path.join(home, "xdg-cache"),
    XDG_CONFIG_HOME: path.join(home, "xdg-config"),
    ...tool.env(home),
  };
  return { name, tool, repo, home, env, run, logDir: path.join(run.logDir, `${name}${suffix}`) };
}

/** One measured command; throws StepFailed (with the stderr tail) unless it exits 0. */
async function step(ctx, label, spec) {
  if (ctx.run.waitIdleMs > 0) {
    let said = 0;
    await waitForIdleHost({
      maxShare: BUSY_SHARE,
      maxWaitMs: ctx.run.waitIdleMs,
      onWait: (share) => {
        if (Date.now() - said < 30_000) return;
        said = Date.now();
        log(`host busy (${fmtShare(share)} of CPU used by others); waiting before ${label}`);
      },
    });
  }
  const r = await measure({
    cmd: spec.cmd,
    args: spec.args,
    cwd: spec.cwd ?? WORK,
    env: ctx.env,
    logPrefix: path.join(ctx.logDir, label),
    timeoutMs: ctx.run.timeoutMs,
  });
  if (!r.ok) {
    const why = r.timedOut ? "timed out" : `exit ${r.code ?? r.signal}`;
    throw new StepFailed(label, `${why}\n${tail(r.stderrFile) || tail(r.stdoutFile)}`);
  }
  // Writeback the tool left behind, timed apart: tools differ in whether they fsync.
  const syncS = sync();
  return {
    wallS: r.wallS,
    cpuS: r.cpuS,
    userS: r.userS,
    sysS: r.sysS,
    peakRssKiB: r.peakRssKiB,
    othersCpuS: r.othersCpuS,
    memFreeBefore: r.memFreeBefore,
    syncAfterS: syncS,
    stdoutFile: r.stdoutFile,
  };
}

async function backupStep(ctx, label, source) {
  const before = duBytes(ctx.repo);
  const s = await step(ctx, `backup-${label}`, ctx.tool.backup(ctx.repo, source, label));
  const repoBytes = duBytes(ctx.repo);
  const summary = ctx.tool.summary(tail(s.stdoutFile, 64 * 1024));
  return { ...s, repoBytes, growthBytes: repoBytes - before, ...(summary ? { summary } : {}) };
}

function mutate(kind) {
  const out = run(process.execPath, [path.join(SHARED, "bench", "mutate.mjs"), kind, WORK_SHARE]);
  return JSON.parse(out.trim().split("\n").at(-1));
}

/** Resets the working share to the pristine corpus and checks the copy is complete. */
function resetShare(corpus) {
  fs.rmSync(WORK_SHARE, { recursive: true, force: true });
  run("cp", ["-a", "--reflink=auto", corpus.share, WORK_SHARE]);
  const got = treeStats(WORK_SHARE);
  if (got.files !== corpus.shareStats.files || got.bytes !== corpus.shareStats.bytes) {
    throw new Error(`copy of the share is incomplete (${got.files} files, ${got.bytes} bytes)`);
  }
}

async function shareScenario(ctx, corpus, res) {
  res.mutations = {};
  resetShare(corpus);
  sync();
  res.warmS = warm(WORK_SHARE);
  res.init = await step(ctx, "init", ctx.tool.init(ctx.repo));
  res.repo = ctx.tool.describeRepo(ctx.repo, ctx.env);

  log(`${ctx.name}: initial backup`);
  res.initial = await backupStep(ctx, "initial", WORK_SHARE);
  res.initial.growthBytes = undefined; // the whole repository, shown as "repo size"

  res.mutations.office = mutate("office");
  sync();
  log(`${ctx.name}: office-day incremental`);
  res.office = await backupStep(ctx, "office", WORK_SHARE);

  res.mutations.ransom = mutate("ransom");
  sync();
  log(`${ctx.name}: ransomware-day incremental`);
  res.ransom = await backupStep(ctx, "ransom", WORK_SHARE);

  log(`${ctx.name}: full restore of the latest snapshot`);
  const target = path.join(WORK, "restore", ctx.name);
  freshDir(target);
  sync();
  res.restore = await step(ctx, "restore", ctx.tool.restore(ctx.repo, target, ctx.env));
  const root = restoredRoot(target, WORK_SHARE);
  const cmp = timed(() => compareTrees(root, WORK_SHARE));
  res.restore.verified = cmp.value.identical;
  res.restore.verifyS = cmp.seconds;
  res.restore.restoredRoot = path.relative(target, root) || ".";
  if (!cmp.value.identical) res.restore.mismatch = cmp.value.detail;
  // Removed only when the run ends: ext4 avoids reusing inodes freed moments ago, and deleting
  // 52k files just before the next tool's restore made that restore up to 3x slower (measured).
  if (!ctx.run.keep) ctx.run.cleanup.push(target);

  res.clientCacheBytes = duBytes(ctx.home);
}

async function versionedScenario(ctx, corpus, res) {
  res.snapshots = [];
  res.warmS = warm(corpus.versions);
  res.init = await step(ctx, "init", ctx.tool.init(ctx.repo));
  res.repo = ctx.tool.describeRepo(ctx.repo, ctx.env);
  for (const v of corpus.versionList) {
    log(`${ctx.name}: versioned set, typescript ${v}`);
    const snap = await backupStep(ctx, `ts-${v}`, path.join(corpus.versions, v));
    res.snapshots.push({ version: v, ...snap });
  }
  res.wallS = res.snapshots.reduce((sum, s) => sum + s.wallS, 0);
  res.repoBytes = duBytes(ctx.repo);
}

/**
 * Runs one scenario for one tool; a failure is recorded, never thrown, and the steps that
 * completed before it stay in the results.
 */
async function attempt(result, key, fn, teardown) {
  result[key] = {};
  try {
    await fn(result[key]);
  } catch (e) {
    result.status = "failed";
    result.errors.push({ scenario: key, step: e.step ?? "setup", message: e.message });
    log(`FAILED ${key}: ${e.message.split("\n")[0]}`);
  } finally {
    teardown?.();
  }
}

function checkSameInput(results, tools) {
  const seen = tools
    .map((t) => results[t]?.share?.mutations)
    .filter((m) => m?.office && m?.ransom)
    .map((m) => JSON.stringify(m));
  return new Set(seen).size <= 1;
}

function printReport(out, tools) {
  console.log("");
  console.log(`Rempart benchmark — ${out.startedAt}, ${out.host.cpus} cores, ${out.host.kernel}`);
  console.log(
    "All numbers are WARM-CACHE: the input is read once before timing; caches not dropped.",
  );
  console.log(`corpus: ${out.corpus.fingerprint.slice(0, 2).join(" | ")}`);
  for (const t of tools) {
    const r = out.results[t];
    const repo = r.share?.repo ?? r.versioned?.repo ?? {};
    const extra = Object.entries(repo)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ");
    console.log(`  ${t}: ${r.version || "?"}${extra ? ` (${extra})` : ""} — ${r.status}`);
  }
  if (!out.sameInput) console.log("WARNING: the mutations differed between tools (see JSON)");
  const busy = tools.map((t) => `${t} ${fmtShare(busiestHost(out.results[t]))}`);
  console.log(`other processes' CPU during timed commands, worst step: ${busy.join(", ")}`);
  if (tools.some((t) => busiestHost(out.results[t]) > BUSY_SHARE)) {
    console.log(
      "WARNING: the host was busy during the run; wall times are inflated (CPU rows less so)",
    );
  }
  console.log("");
  console.log(renderTable(metricTable(out.results, tools)));
  for (const t of tools) {
    for (const e of out.results[t].errors) {
      console.log(`\n${t} ${e.scenario}: ${e.message.trimEnd()}`);
    }
  }
}

async function main() {
  const opts = parseOptions();
  for (const f of ["bench/make-corpus.sh", "bench/mutate.mjs"]) {
    if (!fs.existsSync(path.join(SHARED, f))) {
      fail(
        `${path.join(SHARED, f)} not found: the shared folder is expected beside the repository`,
      );
    }
  }
  fs.mkdirSync(WORK, { recursive: true });
  const runLock = path.join(WORK, "run.lock");
  if (!takeLock(runLock)) fail(`another benchmark run holds ${runLock}`);
  const stop = () => {
    killRunning();
    releaseLock(runLock);
    process.exit(130);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);

  const startedAt = new Date().toISOString();
  const stamp = startedAt.replace(/[:.]/g, "-");
  const runInfo = {
    waitIdleMs: opts.waitIdleMs,
    timeoutMs: opts.timeoutMs,
    keep: opts.keep,
    logDir: path.join(WORK, "logs", stamp),
    cleanup: [],
  };
  try {
    ensureCommand(GNU_TIME, "time", log);
    const corpus = await ensureCorpus({
      script: path.join(SHARED, "bench", "make-corpus.sh"),
      corpusDir: path.join(WORK, "corpus"),
      cacheDir: path.join(WORK, "corpus-cache"),
      logFile: path.join(WORK, `make-corpus-${stamp}.log`),
      log,
    });
    log(`corpus: ${corpus.shareStats.files} files, ${corpus.shareStats.bytes} bytes in the share`);

    const tools = makeTools(REPO_ROOT);
    const results = {};
    for (const name of opts.tools) {
      const result = { status: "ok", errors: [] };
      results[name] = result;
      try {
        tools[name].ensure(log);
        result.version = tools[name].version({
          ...process.env,
          ...tools[name].env(path.join(WORK, "home", "version")),
        });
      } catch (e) {
        result.status = "not ready";
        result.errors.push({ scenario: "setup", step: "ensure", message: e.message });
        log(`${name} is not ready: ${e.message.split("\n")[0]}`);
      }
    }
    const ready = opts.tools.filter((t) => results[t].status === "ok");
    for (const name of ready) {
      if (opts.share) {
        const ctx = toolContext(name, tools[name], "", runInfo);
        await attempt(
          results[name],
          "share",
          (res) => shareScenario(ctx, corpus, res),
          () => ctx.tool.teardown?.(ctx.repo),
        );
      }
    }
    for (const name of ready) {
      if (opts.versioned) {
        const ctx = toolContext(name, tools[name], "-versioned", runInfo);
        await attempt(
          results[name],
          "versioned",
          (res) => versionedScenario(ctx, corpus, res),
          () => ctx.tool.teardown?.(ctx.repo),
        );
      }
    }

    const out = {
      startedAt,
      finishedAt: new Date().toISOString(),
      cache: "warm (input read once before timing; page cache not dropped)",
      host: {
        cpus: os.cpus().length,
        memBytes: os.totalmem(),
        kernel: `${os.type()} ${os.release()}`,
        node: process.version,
      },
      corpus: { fingerprint: corpus.fingerprint, share: corpus.shareStats },
      sameInput: checkSameInput(results, opts.tools),
      metrics: metricValues(results, opts.tools),
      results,
    };
    printReport(out, opts.tools);
    const file = path.join(WORK, `results-${stamp}.json`);
    fs.writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
    console.log(`\nresults: ${path.relative(process.cwd(), file)}   logs: ${runInfo.logDir}`);
    process.exitCode = opts.tools.every((t) => results[t].status === "ok") ? 0 : 1;
  } finally {
    for (const dir of runInfo.cleanup) fs.rmSync(dir, { recursive: true, force: true });
    releaseLock(runLock);
  }
}

main().catch((e) => {
  killRunning();
  console.error(`bench: ${e.message}`);
  process.exit(1);
});
