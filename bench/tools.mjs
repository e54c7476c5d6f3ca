// The tools under test, each described by the commands that init, back up and restore, so the
// benchmark drives all of them through the same measured steps.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { onPath, run } from "./measure.mjs";

// Not a secret: the repositories are throwaway benchmark data.
const PASSWORD = "rempart-bench-throwaway";

let aptUpdated = false;

function aptInstall(pkg, log) {
  if (process.getuid?.() !== 0) {
    throw new Error(
      `package ${pkg} is missing and installing it needs root: apt-get install ${pkg}`,
    );
  }
  if (!aptUpdated) {
    log("apt-get update");
    run("apt-get", ["update", "-qq"]);
    aptUpdated = true;
  }
  log(`apt-get install ${pkg}`);
  run("apt-get", ["install", "-y", "-qq", pkg], {
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
}

/** Installs a Debian package when its command is missing. */
export function ensureCommand(command, pkg, log) {
  if (command.startsWith("/") ? fs.existsSync(command) : onPath(command)) return;
  aptInstall(pkg, log);
}

/** First line a version command prints, or "" when it fails. */
function firstLine(cmd, args, env) {
  const r = spawnSync(cmd, args, { encoding: "utf8", env, timeout: 30_000 });
  if (r.status !== 0) return "";
  return `${r.stdout ?? ""}${r.stderr ?? ""}`.trim().split("\n")[0] ?? "";
}

/** A work-in-progress checkout has no release number worth quoting: name commit and build. */
function checkoutVersion(repoRoot, mainJs) {
  const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, "package.json"), "utf8"));
  const head = spawnSync("git", ["-C", repoRoot, "rev-parse", "--short", "HEAD"], {
    encoding: "utf8",
  });
  const commit = head.status === 0 ? head.stdout.trim() : "no git";
  const built = fs.statSync(mainJs).mtime.toISOString().slice(0, 16);
  return `rempart ${pkg.version} (commit ${commit}, working tree built ${built}Z)`;
}

/**
 * Where a tool put the restored share below `target`: restic and borg recreate the absolute
 * source path (target/work/.../share), others may restore the directory by its base name or its
 * contents directly.
 */
export function restoredRoot(target, source) {
  const candidates = [path.join(target, source), path.join(target, path.basename(source))];
  return candidates.find((c) => fs.existsSync(c) && fs.statSync(c).isDirectory()) ?? target;
}

/** Factory for the adapters. `repoRoot` is the Rempart checkout under test. */
export function makeTools(repoRoot) {
  // The launcher users get from `npx rempart` (it tunes glibc's allocator before starting node).
  const rempartBin = path.join(repoRoot, "bin", "rempart");
  const rempartMain = path.join(repoRoot, "dist", "main.js");
  const serverScript = path.join(repoRoot, "bench", "rempart-server.mjs");
  const rcloneScript = path.join(repoRoot, "bench", "rclone-server.mjs");
  // written by `rclone-server.mjs start` beside the repository directory
  const remote = (repo) => [
    "-r",
    fs.readFileSync(`${repo}.url`, "utf8").trim(),
    "--cacert",
    path.join(`${repo}.tls`, "cert.pem"),
  ];

  const self = {
    rempart: {
      ensure() {
        if (!fs.existsSync(rempartMain)) {
          throw new Error(`${rempartMain} is missing (the CLI is not built: npm run build)`);
        }
        const r = spawnSync(rempartBin, ["--help"], { encoding: "utf8", timeout: 30_000 });
        if (r.status !== 0) {
          const why = `${r.stderr ?? ""}${r.stdout ?? ""}`.trim().split("\n").slice(-5).join("\n");
          throw new Error(`rempart --help exited with ${r.status ?? r.signal}: ${why}`);
        }
      },
      env: () => ({ REMPART_PASSWORD: PASSWORD }),
      version: (env) =>
        firstLine(rempartBin, ["--version"], env) || checkoutVersion(repoRoot, rempartMain),
      init: (repo) => ({ cmd: rempartBin, args: ["init", "--repo", repo] }),
      backup: (repo, source) => ({
        cmd: rempartBin,
        args: ["backup", "--repo", repo, "--json", source],
      }),
      restore: (repo, target) => ({
        cmd: rempartBin,
        args: ["restore", "--repo", repo, "latest", "--target", target],
      }),
      // `backup --json`: progress lines, then one JSON summary object as the last line
      summary(stdoutText) {
        const last = stdoutText.trim().split("\n").at(-1) ?? "";
        try {
          return JSON.parse(last);
        } catch {
          return null;
        }
      },
      describeRepo: () => ({}),
    },

    // The same client through `rempart server` on loopback: `init` starts a server on the
    // repository directory (its data dir), makes a tenant and enrolls the agent; the timed commands
    // then find the server through the agent configuration. Peak RSS is the client's alone.
    "rempart-server": {
      ensure() {
        self.rempart.ensure();
      },
      env: (home) => ({
        REMPART_PASSWORD: PASSWORD,
        REMPART_AGENT_CONFIG: path.join(home, "agent.json"),
      }),
      version: (env) => self.rempart.version(env),
      init: (repo) => ({ cmd: process.execPath, args: [serverScript, "start", repo] }),
      backup: (_repo, source) => ({ cmd: rempartBin, args: ["backup", "--json", source] }),
      restore: (_repo, target) => ({
        cmd: rempartBin,
        args: ["restore", "latest", "--target", target],
      }),
      summary: (stdoutText) => self.rempart.summary(stdoutText),
      describeRepo: () => ({ via: "rempart server on 127.0.0.1" }),
      teardown: (repo) => run(process.execPath, [serverScript, "stop", repo]),
    },

    restic: {
      ensure: (log) => ensureCommand("restic", "restic", log),
      // A private cache per run: a cache left from an earlier run would make "initial" untrue.
      env: (home) => ({ RESTIC_PASSWORD: PASSWORD, RESTIC_CACHE_DIR: path.join(home, "cache") }),
      version: (env) => firstLine("restic", ["version"], env),
      init: (repo) => ({ cmd: "restic", args: ["init", "-r", repo] }),
      backup: (repo, source) => ({ cmd: "restic", args: ["backup", "-r", repo, source] }),
      restore: (repo, target) => ({
        cmd: "restic",
        args: ["restore", "latest", "-r", repo, "--target", target],
      }),
      summary: () => null,
      // Repository v2 means compressed (0.14 default: --compression auto); v1 has no compression.
      describeRepo(repo, env) {
        const config = JSON.parse(run("restic", ["cat", "config", "-r", repo], { env }));
        const compression = config.version >= 2 ? "auto (default)" : "none (repository v1)";
        return { repositoryVersion: config.version, compression };
      },
    },

    // restic through `rclone serve restic --append-only` over HTTPS on loopback: the counterpart
    // of `rempart-server`. `init` starts rclone on the repository directory (served at the URL's
    // root, so `du` of the directory is the repository) and runs `restic init` through it.
    // Peak RSS is restic's alone; rclone runs beside it on the same cores.
    "restic-rclone": {
      ensure(log) {
        self.restic.ensure(log);
        ensureCommand("rclone", "rclone", log);
        ensureCommand("openssl", "openssl", log);
      },
      env: (home) => self.restic.env(home),
      version: (env) => {
        const rclone = firstLine("rclone", ["version"], env);
        return `${self.restic.version(env)}; ${rclone} serve restic --append-only, HTTPS`;
      },
      init: (repo) => ({ cmd: process.execPath, args: [rcloneScript, "start", repo] }),
      backup: (repo, source) => ({ cmd: "restic", args: ["backup", ...remote(repo), source] }),
      restore: (repo, target) => ({
        cmd: "restic",
        args: ["restore", "latest", ...remote(repo), "--target", target],
      }),
      summary: () => null,
      describeRepo(repo, env) {
        const config = JSON.parse(run("restic", ["cat", "config", ...remote(repo)], { env }));
        return { repositoryVersion: config.version, via: "rclone serve restic on 127.0.0.1" };
      },
      teardown: (repo) => run(process.execPath, [rcloneScript, "stop", repo]),
    },

    borg: {
      ensure: (log) => ensureCommand("borg", "borgbackup", log),
      // BORG_BASE_DIR keeps cache, keys and security dirs out of ~ and fresh per run.
      env: (home) => ({
        BORG_PASSPHRASE: PASSWORD,
        BORG_BASE_DIR: home,
        BORG_DISPLAY_PASSPHRASE: "no",
      }),
      version: (env) => firstLine("borg", ["--version"], env),
      init: (repo) => ({ cmd: "borg", args: ["init", "-e", "repokey-blake2", repo] }),
      backup: (repo, source, label) => ({
        cmd: "borg",
        args: ["create", "--compression", "zstd,3", `${repo}::${label}-{now}`, source],
      }),
      // borg extracts into the current directory and needs an archive name, looked up untimed.
      restore(repo, target, env) {
        const name = run("borg", ["list", "--short", "--last", "1", repo], { env }).trim();
        return { cmd: "borg", args: ["extract", `${repo}::${name}`], cwd: target };
      },
      summary: () => null,
      describeRepo: () => ({ encryption: "repokey-blake2", compression: "zstd,3" }),
    },
  };
  return self;
}
