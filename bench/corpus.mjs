// The benchmark corpus: built once by the shared make-corpus.sh, then reused. Several people may
// run benchmarks in the same tree, so a build in progress (ours or anyone's) is waited for, never
// duplicated: make-corpus.sh starts with `rm -rf $CORPUS`, so a second build would pull the corpus
// out from under the first.
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { releaseLock, takeLock } from "./lock.mjs";
import { treeStats } from "./measure.mjs";

const COMPLETE_MARKERS = ["FINGERPRINT", "SOURCES", "MANIFEST.share.sha256", "share", "versions"];
const POLL_MS = 10_000;
const MAX_WAIT_MS = 2 * 3600_000;

export function corpusPaths(corpusDir) {
  return {
    share: path.join(corpusDir, "share"),
    versions: path.join(corpusDir, "versions", "typescript"),
    fingerprint: path.join(corpusDir, "FINGERPRINT"),
  };
}

// make-corpus.sh writes FINGERPRINT then SOURCES as its last steps.
function looksComplete(corpusDir) {
  return COMPLETE_MARKERS.every((m) => fs.existsSync(path.join(corpusDir, m)));
}

/** PIDs of make-corpus.sh processes (anyone's) whose CORPUS resolves to corpusDir. */
function buildersOf(corpusDir) {
  const pids = [];
  for (const pid of fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (!cmdline.includes("make-corpus.sh")) continue;
      const environ = fs.readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
      const value = environ.find((v) => v.startsWith("CORPUS="))?.slice(7) || "/tmp/corpus";
      const cwd = fs.readlinkSync(`/proc/${pid}/cwd`);
      if (path.resolve(cwd, value) === corpusDir) pids.push(Number(pid));
    } catch {
      // process exited while we looked, or is not ours to read
    }
  }
  return pids;
}

async function waitForBuilders(corpusDir, log) {
  const start = Date.now();
  let lastSay = 0;
  for (;;) {
    const pids = buildersOf(corpusDir);
    if (pids.length === 0) return;
    if (Date.now() - start > MAX_WAIT_MS) {
      throw new Error(`make-corpus.sh (pid ${pids.join(",")}) still running after 2 h; giving up`);
    }
    if (Date.now() - lastSay > 60_000) {
      log(`corpus is being built by pid ${pids.join(",")}; waiting for it to finish`);
      lastSay = Date.now();
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

async function build({ script, corpusDir, cacheDir, logFile, log }) {
  log(`building the corpus with ${script} (log: ${logFile}); this downloads ~800 MB once`);
  const out = fs.openSync(logFile, "a");
  const child = spawn("bash", [script], {
    env: { ...process.env, CORPUS: corpusDir, CACHE: cacheDir },
    stdio: ["ignore", out, out],
  });
  fs.closeSync(out);
  const code = await new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (c) => resolve(c));
  });
  if (code !== 0) throw new Error(`make-corpus.sh failed (exit ${code}); see ${logFile}`);
}

/**
 * Makes sure a complete corpus is at corpusDir and returns its description. Reuses a complete one,
 * waits for a build in progress, otherwise builds it.
 */
export async function ensureCorpus({ script, corpusDir, cacheDir, logFile, log }) {
  const lockFile = `${corpusDir}.build.lock`;
  for (;;) {
    await waitForBuilders(corpusDir, log);
    if (looksComplete(corpusDir)) break;
    if (!takeLock(lockFile)) {
      log("another benchmark run holds the corpus build lock; waiting");
      await new Promise((r) => setTimeout(r, POLL_MS));
      continue;
    }
    try {
      // re-check under the lock: someone may have finished while we were deciding
      if (buildersOf(corpusDir).length === 0 && !looksComplete(corpusDir)) {
        if (fs.existsSync(corpusDir)) log(`${corpusDir} is incomplete (interrupted build?)`);
        await build({ script, corpusDir, cacheDir, logFile, log });
      }
    } finally {
      releaseLock(lockFile);
    }
  }
  return describeCorpus(corpusDir);
}

/**
 * Reads FINGERPRINT and checks the share against it (file count and bytes), which catches a
 * pristine copy that something mutated in place. Content hashes are not re-checked (seconds of
 * sha256 per run); `sha256sum -c MANIFEST.share.sha256` from inside share/ does that.
 */
export function describeCorpus(corpusDir) {
  const p = corpusPaths(corpusDir);
  const fingerprint = fs.readFileSync(p.fingerprint, "utf8").trim().split("\n");
  const shareLine = fingerprint.find((l) => l.startsWith("share ")) ?? "";
  const expected = {
    files: Number(/files=(\d+)/.exec(shareLine)?.[1]),
    bytes: Number(/bytes=(\d+)/.exec(shareLine)?.[1]),
  };
  const actual = treeStats(p.share);
  if (actual.files !== expected.files || actual.bytes !== expected.bytes) {
    throw new Error(
      `${p.share} does not match FINGERPRINT (expected ${expected.files} files / ` +
        `${expected.bytes} bytes, found ${actual.files} / ${actual.bytes}); ` +
        `delete ${corpusDir} to rebuild it`,
    );
  }
  const versions = fs
    .readdirSync(p.versions)
    .sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
  return {
    share: p.share,
    versions: p.versions,
    fingerprint,
    shareStats: actual,
    versionList: versions,
  };
}
