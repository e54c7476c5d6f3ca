#!/usr/bin/env node
// `npm run bench`: Rempart against restic (local, and through rclone over HTTPS) and optionally
// borg on the shared corpus, several runs, medians. See bench/README.md.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { ensureCorpus } from "./corpus.mjs";
import { freshFsUnavailable, mountFreshFs, unmountFreshFs } from "./fresh-fs.mjs";
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
import {
  busiestHost,
  COMPARISON_TEXT_COLUMNS,
  comparisonTable,
  fullTable,
  metricValues,
  renderTable,
} from "./report.mjs";
import { ensureCommand, makeTools, restoredRoot } from "./tools.mjs";

const DEFAULT_TOOLS = ["rempart", "rempart-server", "restic", "restic-rclone"];
// borg is slow (about 6x restic on the initial backup) and anchors nothing: only when asked for.
const ALL_TOOLS = [...DEFAULT_TOOLS, "borg"];
// The share steps in the order they build on each other, then the independent versioned set.
const SHARE_STEPS = ["backup", "office", "ransom", "restore"];
const ALL_STEPS = [...SHARE_STEPS, "versioned"];
// make-corpus.sh's own default, so every checkout on the machine shares one build.
const DEFAULT_CORPUS = "/tmp/corpus";
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
  --tools a,b,c     tools to run, from ${ALL_TOOLS.join(",")}
                    (default: ${DEFAULT_TOOLS.join(",")}; "all" adds borg)
  --runs N          runs of every selected step; tables show medians (default 3)
  --only a,b        steps to time, from ${ALL_STEPS.join(",")}; "share" is the first four
                    (default: all). Earlier share steps a selected one builds on still run;
                    with only "restore", the backups run once and the restore N times.
  --corpus DIR      the corpus made by ../shared/bench/make-corpus.sh (default ${DEFAULT_CORPUS});
                    built there if missing, waited for if a build is running
  --timeout-min N   kill any single command after N minutes (default 60)
  --keep            keep the restored trees (the ext4 images, or the directories when not root)
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
      tools: { type: "string", default: DEFAULT_TOOLS.join(",") },
      runs: { type: "string", default: "3" },
      only: { type: "string", default: ALL_STEPS.join(",") },
      corpus: { type: "string", default: DEFAULT_CORPUS },
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
  const list = (text) =>
    text
      .split(",")
      .map((t) => t.trim())
      .filter(Boolean);
  const tools = list(values.tools).flatMap((t) => (t === "all" ? ALL_TOOLS : [t]));
  const unknown = tools.filter((t) => !ALL_TOOLS.includes(t));
  if (unknown.length || tools.length === 0) fail(`unknown tool(s): ${unknown.join(",")}\n${USAGE}`);
  const steps = new Set(list(values.only).flatMap((s) => (s === "share" ? SHARE_STEPS : [s])));
  const badSteps = [...steps].filter((s) => !ALL_STEPS.includes(s));
  if (badSteps.length || steps.size === 0) fail(`unknown step(s): ${badSteps.join(",")}\n${USAGE}`);
  const runs = Number(values.runs);
  if (!(Number.isInteger(runs) && runs > 0)) fail(`--runs must be a positive integer\n${USAGE}`);
  const timeoutMin = Number(values["timeout-min"]);
  if (!(timeoutMin > 0)) fail(`--timeout-min must be a positive number\n${USAGE}`);
  const waitIdleMin = Number(values["wait-idle"]);
  if (!(waitIdleMin >= 0)) fail(`--wait-idle must be a number of minutes\n${USAGE}`);
  return {
    waitIdleMs: waitIdleMin * 60_000,
    tools: ALL_TOOLS.filter((t) => tools.includes(t)),
    runs,
    steps,
    // index of the last share step to run (-1: none); the ones before it run as its setup
    shareUpTo: Math.max(...SHARE_STEPS.map((s, i) => (steps.has(s) ? i : -1))),
    // only the restore is timed: one repository per tool serves every run's restore
    restoreOnly: steps.has("restore") && !["backup", "office", "ransom"].some((s) => steps.has(s)),
    versioned: steps.has("versioned"),
    corpusDir: path.resolve(values.corpus),
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

/**
 * Everything one tool's run needs: its adapter, a clean repository and a private home/cache.
 * `runNo` (1-based) names the logs; repository and home are reused by name, made fresh each time.
 */
function toolContext(name, tool, suffix, run, runNo) {
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
  const logDir = path.join(run.logDir, `run${runNo}`, `${name}${suffix}`);
  return { name, tool, repo, home, env, run, runNo, logDir };
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

// Servers to stop and filesystems to unmount if the benchmark is interrupted.
const interruptCleanups = new Set();

// What the working share holds: "pristine", "office", "ransom" (mutations applied in turn), or
// undefined while unknown (a copy or a mutation failed half-way).
let shareStage;

function mutate(kind) {
  shareStage = undefined;
  const out = run(process.execPath, [path.join(SHARED, "bench", "mutate.mjs"), kind, WORK_SHARE]);
  shareStage = kind;
  return JSON.parse(out.trim().split("\n").at(-1));
}

/** Resets the working share to the pristine corpus and checks the copy is complete. */
function resetShare(corpus) {
  shareStage = undefined;
  fs.rmSync(WORK_SHARE, { recursive: true, force: true });
  run("cp", ["-a", "--reflink=auto", corpus.share, WORK_SHARE]);
  const got = treeStats(WORK_SHARE);
  if (got.files !== corpus.shareStats.files || got.bytes !== corpus.shareStats.bytes) {
    throw new Error(`copy of the share is incomplete (${got.files} files, ${got.bytes} bytes)`);
  }
  shareStage = "pristine";
}

/**
 * The share steps for one tool in one run, from a fresh repository: init, initial backup, office
 * day, ransomware day and restore, stopping after step `upTo` (an index into SHARE_STEPS).
 */
async function shareScenario(ctx, corpus, res, upTo) {
  res.mutations = {};
  resetShare(corpus);
  sync();
  res.warmS = warm(WORK_SHARE);
  res.init = await step(ctx, "init", ctx.tool.init(ctx.repo));
  res.repo = ctx.tool.describeRepo(ctx.repo, ctx.env);

  log(`${ctx.name} run ${ctx.runNo}: initial backup`);
  res.initial = await backupStep(ctx, "initial", WORK_SHARE);
  res.initial.growthBytes = undefined; // the whole repository, shown as "repo size"
  if (upTo < 1) return;

  res.mutations.office = mutate("office");
  sync();
  log(`${ctx.name} run ${ctx.runNo}: office-day incremental`);
  res.office = await backupStep(ctx, "office", WORK_SHARE);
  if (upTo < 2) return;

  res.mutations.ransom = mutate("ransom");
  sync();
  log(`${ctx.name} run ${ctx.runNo}: ransomware-day incremental`);
  res.ransom = await backupStep(ctx, "ransom", WORK_SHARE);
  if (upTo < 3) return;

  await restoreStep(ctx, corpus, res);
  res.clientCacheBytes = duBytes(ctx.home);
}

/**
 * Full restore of the latest snapshot (the ransomware day's) into a freshly made ext4 filesystem
 * when running as root, else into a new directory; then `diff -r` against the working share.
 */
async function restoreStep(ctx, corpus, res) {
  log(`${ctx.name} run ${ctx.runNo}: full restore of the latest snapshot`);
  const fresh = ctx.run.freshFs;
  const label = `${ctx.name}-run${ctx.runNo}`;
  // With a fresh filesystem per restore one mount point per tool is enough; on the host
  // filesystem each restore gets its own directory, removed only when the benchmark ends.
  const target = path.join(WORK, "restore", fresh ? ctx.name : label);
  const image = path.join(WORK, "restore-img", `${label}.img`);
  const unmount = () => unmountFreshFs(image, target, ctx.run.keep);
  if (fresh) {
    fs.mkdirSync(path.dirname(image), { recursive: true });
    interruptCleanups.add(unmount);
    mountFreshFs(image, target);
  } else {
    freshDir(target);
    if (!ctx.run.keep) ctx.run.cleanup.push(target);
  }
  try {
    sync();
    res.restore = await step(ctx, "restore", ctx.tool.restore(ctx.repo, target, ctx.env));
    res.restore.filesystem = fresh ? "fresh ext4 on a loop device" : "host filesystem";
    // The restored tree is the share as the ransomware day left it.
    if (shareStage !== "ransom") {
      resetShare(corpus);
      mutate("office");
      mutate("ransom");
    }
    const root = restoredRoot(target, WORK_SHARE);
    const cmp = timed(() => compareTrees(root, WORK_SHARE));
    res.restore.verified = cmp.value.identical;
    res.restore.verifyS = cmp.seconds;
    res.restore.restoredRoot = path.relative(target, root) || ".";
    if (!cmp.value.identical) res.restore.mismatch = cmp.value.detail;
  } finally {
    if (fresh) {
      unmount();
      interruptCleanups.delete(unmount);
    }
  }
}

async function versionedScenario(ctx, corpus, res) {
  res.snapshots = [];
  res.warmS = warm(corpus.versions);
  res.init = await step(ctx, "init", ctx.tool.init(ctx.repo));
  res.repo = ctx.tool.describeRepo(ctx.repo, ctx.env);
  log(`${ctx.name} run ${ctx.runNo}: versioned set, ${corpus.versionList.length} releases`);
  for (const v of corpus.versionList) {
    const snap = await backupStep(ctx, `ts-${v}`, path.join(corpus.versions, v));
    res.snapshots.push({ version: v, ...snap });
  }
  res.wallS = res.snapshots.reduce((sum, s) => sum + s.wallS, 0);
  res.repoBytes = duBytes(ctx.repo);
}

/**
 * Runs one scenario of one tool in one run; a failure is recorded, never thrown, and the steps
 * that completed before it stay in the results.
 */
async function attempt(result, runNo, key, fn, teardown) {
  result.runs[runNo - 1] ??= {};
  const res = {};
  result.runs[runNo - 1][key] = res;
  let ok = true;
  if (teardown) interruptCleanups.add(teardown);
  try {
    await fn(res);
  } catch (e) {
    ok = false;
    result.status = "failed";
    result.errors.push({ run: runNo, scenario: key, step: e.step ?? "setup", message: e.message });
    log(`FAILED run ${runNo} ${key}: ${e.message.split("\n")[0]}`);
  } finally {
    try {
      teardown?.();
    } catch (e) {
      log(`teardown after ${key} failed: ${e.message.split("\n")[0]}`);
    }
    interruptCleanups.delete(teardown);
  }
  return ok;
}

function checkSameInput(results, tools) {
  const seen = tools
    .flatMap((t) => results[t]?.runs ?? [])
    .map((r) => r?.share?.mutations)
    .filter((m) => m?.office && m?.ransom)
    .map((m) => JSON.stringify(m));
  return new Set(seen).size <= 1;
}

/** [first, ..., last] rotated by `by`: each run starts with another tool. */
function rotate(list, by) {
  const k = list.length ? by % list.length : 0;
  return [...list.slice(k), ...list.slice(0, k)];
}

function reportText(out, tools) {
  const lines = [];
  const say = (s = "") => lines.push(s);
  say(`# Rempart benchmark — ${out.startedAt}`);
  say("");
  say(
    `${out.host.cpus} cores, ${(out.host.memBytes / 1024 ** 3).toFixed(0)} GiB, ${out.host.kernel}, ` +
      `Node.js ${out.host.node}; ${out.runs} run(s), steps: ${out.steps.join(", ")}; ` +
      `took ${(out.elapsedS / 60).toFixed(1)} min.`,
  );
  say("All numbers are WARM-CACHE: the input is read once before timing; caches not dropped.");
  say(`Restores: ${out.restoreFs}.`);
  say(`corpus: ${out.corpus.fingerprint.slice(0, 2).join(" | ")}`);
  say("");
  for (const t of tools) {
    const r = out.results[t];
    const repo = r.runs?.find((x) => x?.share?.repo)?.share?.repo ?? {};
    const extra = Object.entries(repo)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ");
    say(`- ${t}: ${r.version || "?"}${extra ? ` (${extra})` : ""} — ${r.status}`);
  }
  say("");
  if (!out.sameInput) say("WARNING: the mutations differed between tools or runs (see JSON)");
  const busy = tools.map((t) => `${t} ${fmtShare(busiestHost(out.results[t]))}`);
  say(`Other processes' CPU during timed commands, worst step: ${busy.join(", ")}.`);
  if (tools.some((t) => busiestHost(out.results[t]) > BUSY_SHARE)) {
    say("WARNING: the host was busy during the run; wall times are inflated (CPU rows less so)");
  }
  say("");
  const comparison = comparisonTable(out.results, tools, out.runs);
  if (comparison.length > 1) {
    say(
      `## Against the anchors (median of ${out.runs}; ratio = tool / anchor; per-run ratios: ` +
        "min–max of the ratio within each run)",
    );
    say("");
    say(renderTable(comparison, COMPARISON_TEXT_COLUMNS));
    say("");
  }
  say(`## Every metric (median, then min–max over ${out.runs} run(s))`);
  say("");
  say(renderTable(fullTable(out.results, tools, out.runs)));
  for (const t of tools) {
    for (const e of out.results[t].errors) {
      say("");
      say(`${t} run ${e.run ?? "-"} ${e.scenario}: ${e.message.trimEnd()}`);
    }
  }
  return `${lines.join("\n")}\n`;
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
    for (const cleanup of interruptCleanups) {
      try {
        cleanup();
      } catch {
        // best effort on the way out; the next run starts from fresh directories anyway
      }
    }
    releaseLock(runLock);
    process.exit(130);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);

  const startedAt = new Date().toISOString();
  const t0 = Date.now();
  const stamp = startedAt.replace(/[:.]/g, "-");
  const noFreshFs = freshFsUnavailable();
  const runInfo = {
    waitIdleMs: opts.waitIdleMs,
    timeoutMs: opts.timeoutMs,
    keep: opts.keep,
    freshFs: !noFreshFs,
    logDir: path.join(WORK, "logs", stamp),
    cleanup: [],
  };
  const restoreFs = noFreshFs
    ? `into a directory on the host filesystem, NOT a fresh ext4 (${noFreshFs}): ` +
      "restore times may be inflated by ext4's reuse of freed inodes"
    : "each into a freshly made ext4 (4 GiB loop-mounted image, mkfs.ext4 just before, unmounted after)";
  if (opts.shareUpTo >= 3) log(`restores: ${restoreFs}`);
  const live = []; // contexts whose teardown waits for the end (restore-only runs reuse them)
  try {
    ensureCommand(GNU_TIME, "time", log);
    const corpus = await ensureCorpus({
      script: path.join(SHARED, "bench", "make-corpus.sh"),
      corpusDir: opts.corpusDir,
      cacheDir: path.join(path.dirname(opts.corpusDir), "corpus-cache"),
      logFile: path.join(WORK, `make-corpus-${stamp}.log`),
      log,
    });
    log(`corpus: ${corpus.shareStats.files} files, ${corpus.shareStats.bytes} bytes in the share`);

    const tools = makeTools(REPO_ROOT);
    const results = {};
    for (const name of opts.tools) {
      const result = { status: "ok", errors: [], runs: [] };
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
    const reused = new Map();
    for (let runNo = 1; runNo <= opts.runs; runNo++) {
      const order = rotate(ready, runNo - 1);
      log(`run ${runNo} of ${opts.runs}: ${order.join(", ")}`);
      for (const name of opts.shareUpTo >= 0 ? order : []) {
        if (opts.restoreOnly && runNo > 1) {
          const ctx = reused.get(name);
          if (!ctx) continue; // its backups failed in run 1
          ctx.runNo = runNo;
          ctx.logDir = path.join(runInfo.logDir, `run${runNo}`, name);
          await attempt(results[name], runNo, "share", (res) => restoreStep(ctx, corpus, res));
          continue;
        }
        const ctx = toolContext(name, tools[name], "", runInfo, runNo);
        const teardown = () => ctx.tool.teardown?.(ctx.repo);
        const ok = await attempt(
          results[name],
          runNo,
          "share",
          (res) => shareScenario(ctx, corpus, res, opts.shareUpTo),
          opts.restoreOnly ? undefined : teardown,
        );
        if (opts.restoreOnly) {
          live.push(teardown);
          interruptCleanups.add(teardown);
          if (ok) reused.set(name, ctx);
        }
      }
      for (const name of opts.versioned ? order : []) {
        const ctx = toolContext(name, tools[name], "-versioned", runInfo, runNo);
        await attempt(
          results[name],
          runNo,
          "versioned",
          (res) => versionedScenario(ctx, corpus, res),
          () => ctx.tool.teardown?.(ctx.repo),
        );
      }
    }

    const out = {
      startedAt,
      finishedAt: new Date().toISOString(),
      elapsedS: (Date.now() - t0) / 1000,
      runs: opts.runs,
      steps: ALL_STEPS.filter((s) => opts.steps.has(s)),
      restoreFs,
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
    const text = reportText(out, opts.tools);
    console.log("");
    console.log(text);
    const file = path.join(WORK, `results-${stamp}.json`);
    fs.writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
    const md = path.join(WORK, `results-${stamp}.md`);
    fs.writeFileSync(md, text);
    console.log(`results: ${path.relative(process.cwd(), md)} and .json   logs: ${runInfo.logDir}`);
    process.exitCode = opts.tools.every((t) => results[t].status === "ok") ? 0 : 1;
  } finally {
    for (const teardown of live) {
      try {
        teardown();
      } catch (e) {
        log(`teardown failed: ${e.message.split("\n")[0]}`);
      }
    }
    for (const dir of runInfo.cleanup) fs.rmSync(dir, { recursive: true, force: true });
    releaseLock(runLock);
  }
}

main().catch((e) => {
  killRunning();
  console.error(`bench: ${e.message}`);
  process.exit(1);
});
