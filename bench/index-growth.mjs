#!/usr/bin/env node
// Index-growth memory experiment: peak RSS of an office-day incremental backup of the shared
// corpus when the repository's index already holds N blobs (default 0, 1 M and 4 M).
//
//   node bench/index-growth.mjs [--blobs 0,1000000,4000000] [--runs 3] [--corpus /tmp/corpus]
//
// How the large index is made, and why it is faithful:
// - One working copy of the share, one `rempart init` + initial backup into a base repository,
//   then the office-day mutation, once. Every measured backup is the office day against that
//   initial snapshot: same parent, same changed files, same inodes, same page cache.
// - For each N, a template repository is a hard-link copy of the base (`cp -al`: objects are
//   write-once, the store only ever adds files) plus N synthetic blobs. Each run backs up into a
//   fresh hard-link copy of the template, so every run starts from the same repository.
// - Synthetic blobs are written the way a backup writes them: sealed index objects through the
//   Repository API of dist/ (`saveIndex`, 64 packs per index object like the archiver), so the
//   backup decrypts and decodes them exactly as it does real ones. Each synthetic pack copies the
//   entry layout (types, offsets, lengths, compressed flags) of one of the base repository's real
//   packs, with fresh random blob ids and a random pack name, so blobs per pack and the tree/data
//   mix are those of real data from this corpus.
// - `loadIndex` keeps only the packs the store still holds (a pack the server collected must not
//   be deduplicated against), so every synthetic pack also exists as a file under data/: a sparse
//   file as large as the real pack it copies. It is listed and stat-ed like a real pack (the cost
//   of listing 6,000 packs is part of what is measured) but never read: random ids never match
//   the office day's new chunks, and the snapshot references only real packs.
// Peak RSS is GNU time's %M of the `rempart backup` process (worker threads share it).
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { describeCorpus } from "./corpus.mjs";
import { releaseLock, takeLock } from "./lock.mjs";
import { duBytes, GNU_TIME, measure, run, sync, tail, warm } from "./measure.mjs";
import { median } from "./report.mjs";
import { makeTools } from "./tools.mjs";

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = path.resolve(BENCH_DIR, "..");
const SHARED = path.resolve(REPO_ROOT, "..", "shared");
const WORK = path.join(BENCH_DIR, ".work", "index-growth");
const SHARE = path.join(WORK, "share-work");
// The archiver seals its index every 64 packs (PACKS_PER_INDEX in src/backup/archiver.ts).
const PACKS_PER_INDEX = 64;

const log = (msg) => console.log(`[index-growth ${new Date().toISOString().slice(11, 19)}] ${msg}`);

const { values } = parseArgs({
  options: {
    blobs: { type: "string", default: "0,1000000,4000000" },
    runs: { type: "string", default: "3" },
    corpus: { type: "string", default: "/tmp/corpus" },
    "timeout-min": { type: "string", default: "30" },
    help: { type: "boolean", short: "h", default: false },
  },
});
if (values.help) {
  console.log(
    "usage: node bench/index-growth.mjs [--blobs 0,1000000,4000000] [--runs 3] [--corpus DIR]",
  );
  process.exit(0);
}
const levels = values.blobs.split(",").map(Number);
const runs = Number(values.runs);
if (levels.some((n) => !(Number.isInteger(n) && n >= 0)) || !(Number.isInteger(runs) && runs > 0)) {
  console.error("--blobs takes whole numbers, --runs a positive integer");
  process.exit(2);
}
const timeoutMs = Number(values["timeout-min"]) * 60_000;

const tool = makeTools(REPO_ROOT).rempart;
tool.ensure();
const home = path.join(WORK, "home");
const env = {
  ...process.env,
  XDG_CACHE_HOME: path.join(home, "xdg-cache"),
  XDG_CONFIG_HOME: path.join(home, "xdg-config"),
  ...tool.env(home),
};
const { Repository } = await import(
  pathToFileURL(path.join(REPO_ROOT, "dist", "repository", "repository.js")).href
);
const { FsObjectStore } = await import(
  pathToFileURL(path.join(REPO_ROOT, "dist", "storage", "fs", "fs-store.js")).href
);

async function timedRempart(label, spec) {
  const r = await measure({
    cmd: spec.cmd,
    args: spec.args,
    env,
    cwd: WORK,
    logPrefix: path.join(WORK, "logs", label),
    timeoutMs,
  });
  if (!r.ok) {
    const why = r.timedOut ? "timed out" : `exit ${r.code ?? r.signal}`;
    return { ok: false, why: `${why}: ${tail(r.stderrFile, 600).trim()}`, ...r };
  }
  const summary = tool.summary(tail(r.stdoutFile, 64 * 1024));
  return { ...r, summary, syncAfterS: sync() };
}

/** Hard-link copy of a repository: objects are never modified in place, only added. */
function cloneRepo(from, to) {
  fs.rmSync(to, { recursive: true, force: true });
  run("cp", ["-al", from, to]);
}

/** Adds `count` synthetic blobs (and their sparse packs) to the repository at `dir`. */
async function addSyntheticBlobs(dir, count) {
  const store = await FsObjectStore.open(dir);
  const repo = await Repository.open(store, { password: env.REMPART_PASSWORD });
  await repo.loadIndex();
  const models = [...repo.index.packs].filter(([, blobs]) => blobs.length > 0);
  if (models.length === 0) throw new Error(`no packs to model in ${dir}`);
  const sizes = new Map(
    models.map(([name]) => [
      name,
      fs.statSync(path.join(dir, "data", name.slice(0, 2), name)).size,
    ]),
  );
  let left = count;
  let packs = 0;
  let indexes = 0;
  let batch = [];
  for (let i = 0; left > 0; i++) {
    const [model, blobs] = models[i % models.length];
    const take = Math.min(left, blobs.length);
    const name = randomBytes(32).toString("hex");
    const ids = randomBytes(32 * take).toString("hex");
    const entries = blobs
      .slice(0, take)
      .map((b, k) => ({ ...b, id: ids.slice(64 * k, 64 * k + 64) }));
    const packDir = path.join(dir, "data", name.slice(0, 2));
    fs.mkdirSync(packDir, { recursive: true, mode: 0o700 });
    const file = path.join(packDir, name);
    fs.writeFileSync(file, "", { mode: 0o400 });
    fs.truncateSync(file, sizes.get(model));
    batch.push({ pack: name, blobs: entries });
    left -= take;
    packs++;
    if (batch.length === PACKS_PER_INDEX || left === 0) {
      await repo.saveIndex(batch);
      indexes++;
      batch = [];
    }
  }
  return { packs, indexes, modelPacks: models.length };
}

async function main() {
  const corpus = describeCorpus(path.resolve(values.corpus));
  const started = Date.now();
  fs.rmSync(WORK, { recursive: true, force: true });
  fs.mkdirSync(home, { recursive: true });
  log(`copying the share (${corpus.shareStats.files} files)`);
  run("cp", ["-a", "--reflink=auto", corpus.share, SHARE]);
  sync();
  warm(SHARE);

  const base = path.join(WORK, "repo-base");
  const init = await timedRempart("init", tool.init(base));
  if (!init.ok) throw new Error(`init failed: ${init.why}`);
  log("initial backup into the base repository");
  const initial = await timedRempart("initial", tool.backup(base, SHARE));
  if (!initial.ok) throw new Error(`initial backup failed: ${initial.why}`);
  const baseStore = await FsObjectStore.open(base);
  const baseRepo = await Repository.open(baseStore, { password: env.REMPART_PASSWORD });
  await baseRepo.loadIndex();
  const baseBlobs = baseRepo.index.size;
  const basePacks = baseRepo.index.packs.size;
  log(`base: ${baseBlobs} blobs in ${basePacks} packs, ${duBytes(base)} bytes`);
  const office = JSON.parse(
    run(process.execPath, [path.join(SHARED, "bench", "mutate.mjs"), "office", SHARE])
      .trim()
      .split("\n")
      .at(-1),
  );
  sync();

  const rows = [];
  for (const n of levels) {
    const template = path.join(WORK, `repo-${n}`);
    cloneRepo(base, template);
    let synthetic = { packs: 0, indexes: 0 };
    if (n > 0) {
      log(`adding ${n} synthetic blobs`);
      const t0 = Date.now();
      synthetic = await addSyntheticBlobs(template, n);
      log(
        `  ${synthetic.packs} packs, ${synthetic.indexes} index objects in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
      );
    }
    const indexBytes = duBytes(path.join(template, "index"));
    const samples = [];
    for (let r = 1; r <= runs; r++) {
      const repo = path.join(WORK, "repo-run");
      cloneRepo(template, repo);
      sync();
      log(`office-day backup, ${n} extra blobs, run ${r}`);
      const res = await timedRempart(`office-${n}-run${r}`, tool.backup(repo, SHARE));
      samples.push(
        res.ok
          ? {
              ok: true,
              peakRssKiB: res.peakRssKiB,
              wallS: res.wallS,
              cpuS: res.cpuS,
              summary: res.summary,
            }
          : { ok: false, why: res.why, peakRssKiB: res.peakRssKiB, wallS: res.wallS },
      );
      if (!res.ok) log(`  FAILED: ${res.why.split("\n").slice(-3).join(" / ")}`);
      fs.rmSync(repo, { recursive: true, force: true });
    }
    fs.rmSync(template, { recursive: true, force: true });
    const ok = samples.filter((s) => s.ok);
    rows.push({
      extraBlobs: n,
      indexBlobs: baseBlobs + n,
      syntheticPacks: synthetic.packs,
      indexBytes,
      samples,
      rssKiB: median(ok.map((s) => s.peakRssKiB)),
      wallS: median(ok.map((s) => s.wallS)),
      cpuS: median(ok.map((s) => s.cpuS)),
      failed: samples.length - ok.length,
    });
  }

  const zero = rows.find((r) => r.extraBlobs === 0);
  const mb = (kib) => (typeof kib === "number" ? `${((kib * 1024) / 1e6).toFixed(1)} MB` : "—");
  const lines = [
    `# Index growth: peak RSS of an office-day incremental — ${new Date(started).toISOString()}`,
    "",
    `${os.cpus().length} cores, Node.js ${process.version}; share ${corpus.shareStats.files} files, ` +
      `${corpus.shareStats.bytes} bytes; base repository ${baseBlobs} blobs in ${basePacks} packs ` +
      `(${(baseBlobs / basePacks).toFixed(0)} blobs per pack, copied by the synthetic packs); ` +
      `office day: ${office.changed} files changed, ${office.newFiles} new; ` +
      `median of ${runs} run(s); took ${((Date.now() - started) / 60000).toFixed(1)} min.`,
    `Initial backup of the base: ${initial.wallS.toFixed(1)} s, peak RSS ${mb(initial.peakRssKiB)}.`,
    ...(besideBench
      ? ["WARNING: `npm run bench` ran at the same time; wall times are inflated."]
      : []),
    "",
    "| blobs in the index | synthetic packs | index objects on disk | peak RSS (median, min–max) | vs 0 extra | per extra blob | wall | CPU |",
    "|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const r of rows) {
    const rss = r.samples.filter((s) => s.ok).map((s) => s.peakRssKiB);
    const delta =
      zero && r.rssKiB !== undefined && zero.rssKiB !== undefined
        ? r.rssKiB - zero.rssKiB
        : undefined;
    const perBlob =
      delta !== undefined && r.extraBlobs > 0
        ? `${((delta * 1024) / r.extraBlobs).toFixed(0)} B`
        : "—";
    const spread = rss.length > 1 ? ` (${mb(Math.min(...rss))}–${mb(Math.max(...rss))})` : "";
    const failed = r.failed
      ? ` — ${r.failed} FAILED: ${r.samples
          .find((s) => !s.ok)
          .why.split("\n")
          .at(-1)}`
      : "";
    lines.push(
      `| ${r.indexBlobs.toLocaleString("en")} (+${r.extraBlobs.toLocaleString("en")}) | ${r.syntheticPacks} | ` +
        `${(r.indexBytes / 1e6).toFixed(1)} MB | ${mb(r.rssKiB)}${spread}${failed} | ` +
        `${delta === undefined ? "—" : `+${mb(delta)}`} | ${perBlob} | ` +
        `${r.wallS === undefined ? "—" : `${r.wallS.toFixed(1)} s`} | ${r.cpuS === undefined ? "—" : `${r.cpuS.toFixed(1)} s`} |`,
    );
  }
  const text = `${lines.join("\n")}\n`;
  console.log(`\n${text}`);
  const stamp = new Date(started).toISOString().replace(/[:.]/g, "-");
  const out = path.join(BENCH_DIR, ".work", `index-growth-${stamp}`);
  fs.writeFileSync(`${out}.md`, text);
  fs.writeFileSync(
    `${out}.json`,
    `${JSON.stringify({ baseBlobs, basePacks, office, initial: { wallS: initial.wallS, peakRssKiB: initial.peakRssKiB }, rows }, null, 2)}\n`,
  );
  console.log(`results: ${path.relative(process.cwd(), out)}.md and .json`);
  fs.rmSync(SHARE, { recursive: true, force: true });
  fs.rmSync(base, { recursive: true, force: true });
}

if (!fs.existsSync(GNU_TIME)) {
  console.error(`${GNU_TIME} is missing (apt-get install time)`);
  process.exit(2);
}
// One experiment at a time. It may run beside `npm run bench` (say so: both then report inflated
// wall times; peak RSS, what this experiment is about, depends little on CPU contention).
const lock = path.join(BENCH_DIR, ".work", "index-growth.lock");
fs.mkdirSync(path.dirname(lock), { recursive: true });
if (!takeLock(lock)) {
  console.error(`another index-growth run holds ${lock}`);
  process.exit(2);
}
const benchLock = path.join(BENCH_DIR, ".work", "run.lock");
const besideBench = !takeLock(benchLock);
if (besideBench) {
  log("WARNING: npm run bench is running beside this experiment; compare wall times with care");
} else releaseLock(benchLock);
try {
  await main();
} finally {
  releaseLock(lock);
}
