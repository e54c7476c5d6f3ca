/**
 * The demo drives the product as a user would: `rempart server` as a child process, and the
 * agent's commands (`agent enroll`, `backup`, `restore`) each as a run of the same `rempart`
 * command. `command` is how this `rempart` was started (node and its script), so the demo runs
 * the code that is installed, whatever its path.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { RempartError } from "../errors.js";

export interface RempartCommand {
  readonly node: string;
  /** node's flags and the script, before the command's own arguments */
  readonly prefix: readonly string[];
}

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The environment of every child: nothing of the user's repository or agent leaks in. */
function childEnv(extra: Readonly<Record<string, string>>): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of ["REMPART_REPO", "REMPART_PASSWORD", "REMPART_AGENT_CONFIG"]) delete env[name];
  return { ...env, ...extra };
}

/** One `rempart` run to its end; `signal` kills it (the demo was interrupted). */
export async function runRempart(
  command: RempartCommand,
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  signal: AbortSignal,
): Promise<RunResult> {
  const child = spawn(command.node, [...command.prefix, ...args], {
    env: childEnv(env),
    stdio: ["ignore", "pipe", "pipe"],
    signal,
    killSignal: "SIGKILL",
  });
  // An abort kills the child and emits "error" (AbortError); "close" still follows.
  child.on("error", () => {});
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (text: string) => {
    stdout += text;
  });
  child.stderr.setEncoding("utf8").on("data", (text: string) => {
    stderr += text;
  });
  const [code] = (await once(child, "close")) as [number | null];
  return { code, stdout, stderr };
}

export interface ServerStarted {
  readonly url: string;
  readonly fingerprint: string;
  readonly adminPassword: string;
}

/** `rempart server` on 127.0.0.1, a port the system picks, until stopped. */
export class ServerChild {
  private constructor(
    private readonly child: ChildProcess,
    readonly info: ServerStarted,
  ) {}

  static async start(command: RempartCommand, dataDir: string): Promise<ServerChild> {
    const args = ["server", "--data", dataDir, "--listen", "127.0.0.1:0", "--json"];
    const child = spawn(command.node, [...command.prefix, ...args], {
      env: childEnv({}),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr?.setEncoding("utf8").on("data", (text: string) => {
      stderr += text;
    });
    try {
      // The server prints one JSON line once it listens: its URL, certificate fingerprint and,
      // on a fresh data directory, the first admin's password.
      const line = await new Promise<string>((resolve, reject) => {
        let stdout = "";
        child.stdout?.setEncoding("utf8").on("data", (text: string) => {
          stdout += text;
          const end = stdout.indexOf("\n");
          if (end >= 0) resolve(stdout.slice(0, end));
        });
        child.once("error", reject);
        child.once("exit", (code) =>
          reject(new RempartError("Io", `the server exited (${code}) before listening: ${stderr}`)),
        );
      });
      const started = JSON.parse(line) as {
        url: string;
        fingerprint: string;
        first_admin: { password: string } | null;
      };
      if (started.first_admin === null)
        throw new RempartError("Io", "the demo's fresh server made no first admin");
      return new ServerChild(child, {
        url: started.url,
        fingerprint: started.fingerprint,
        adminPassword: started.first_admin.password,
      });
    } catch (error) {
      child.kill("SIGKILL");
      throw error;
    }
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGTERM, the server's orderly stop; SIGKILL if it has not stopped within `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.running) return;
    const exited = once(this.child, "exit");
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
    await exited;
    clearTimeout(timer);
  }

  /** For an exit that cannot wait (Ctrl-C): the server's writes are crash-safe by design. */
  killNow(): void {
    if (this.running) this.child.kill("SIGKILL");
  }
}
