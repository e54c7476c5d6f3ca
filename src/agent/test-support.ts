/**
 * Test support for the agent suites: the server as a child process (so it can be killed with
 * SIGKILL and started again on the same port), and an operator session to make tenants and
 * enrollment tokens over the real API. Only 127.0.0.1 is ever used.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { EnrollTokenResponse, LoginResponse } from "../protocol/api.js";
import { PinnedClient } from "../storage/http/pinned-client.js";
import { CLI, type Cleanup, PASSWORD, PROJECT_ROOT, runCli } from "../testing/cli.js";

export interface ServerInfo {
  readonly url: string;
  readonly port: number;
  readonly fingerprint: string;
}

/** `rempart server` in a child process on 127.0.0.1; port 0 picks a free one. */
export class ServerProcess implements ServerInfo {
  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
    readonly port: number,
    readonly fingerprint: string,
    /** set on the start that made the admin operator */
    readonly adminPassword: string | undefined,
    readonly dataDir: string,
  ) {}

  /** `extra`: more options for `rempart server` (a later --data or --listen wins). */
  static async start(
    owner: Cleanup,
    dataDir: string,
    port = 0,
    extra: readonly string[] = [],
  ): Promise<ServerProcess> {
    const args = [
      CLI,
      "server",
      "--data",
      dataDir,
      "--listen",
      `127.0.0.1:${port}`,
      "--json",
      ...extra,
    ];
    const child = spawn(process.execPath, args, {
      cwd: PROJECT_ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    owner.after(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    });
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
    });
    const line = await new Promise<string>((resolve, reject) => {
      let stdout = "";
      const onData = (chunk: Buffer) => {
        stdout += chunk.toString("utf8");
        const end = stdout.indexOf("\n");
        if (end >= 0) {
          child.stdout?.off("data", onData);
          resolve(stdout.slice(0, end));
        }
      };
      child.stdout?.on("data", onData);
      child.once("exit", (code) => reject(new Error(`the server exited (${code}): ${stderr}`)));
    });
    const info = JSON.parse(line) as {
      url: string;
      fingerprint: string;
      first_admin: { password: string } | null;
    };
    const bound = Number(new URL(info.url).port);
    return new ServerProcess(
      child,
      info.url,
      bound,
      info.fingerprint,
      info.first_admin?.password,
      dataDir,
    );
  }

  /** SIGKILL, as a power cut or the OOM killer would. */
  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, "exit");
    this.child.kill("SIGKILL");
    await exited;
  }

  /** Bytes of the packs a tenant's store holds (data/ only; tmp/ excluded). */
  packBytes(tenantId: string): number {
    const root = join(this.dataDir, "tenants", tenantId, "data");
    let total = 0;
    for (const fanout of safeReaddir(root))
      for (const name of safeReaddir(join(root, fanout)))
        total += statSync(join(root, fanout, name)).size;
    return total;
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** An operator session on the server, over the same pinned HTTPS as the agents. */
export class Operator {
  private constructor(private readonly client: PinnedClient) {}

  static async login(server: ServerInfo, password: string | undefined): Promise<Operator> {
    assert.ok(password, "the server did not print a first admin password");
    const anonymous = new PinnedClient({ url: server.url, fingerprint: server.fingerprint });
    const { token } = await anonymous.json<LoginResponse>(
      "POST",
      "/v1/login",
      { username: "admin", password },
      false,
    );
    anonymous.close();
    return new Operator(
      new PinnedClient({ url: server.url, fingerprint: server.fingerprint, credential: token }),
    );
  }

  createTenant(name: string): Promise<{ id: string; name: string }> {
    return this.client.json("POST", "/v1/tenants", { name, retention_days: 30 }, false);
  }

  async enrollToken(tenant: string): Promise<string> {
    const answer = await this.client.json<EnrollTokenResponse>(
      "POST",
      `/v1/tenants/${tenant}/enroll-tokens`,
      { expires_in_seconds: 3600 },
      false,
    );
    return answer.token;
  }

  agents(tenant: string): Promise<Record<string, unknown>[]> {
    return this.client.json("GET", `/v1/tenants/${tenant}/agents`, undefined, true);
  }

  revoke(agentId: string): Promise<unknown> {
    return this.client.json("POST", `/v1/agents/${agentId}/revoke`, {}, false);
  }

  close(): void {
    this.client.close();
  }
}

export interface EnrollOptions {
  readonly configPath: string;
  /** default: the server's own */
  readonly fingerprint?: string;
  readonly password?: string;
  readonly extra?: readonly string[];
}

/** `rempart agent enroll` with its configuration at `configPath`. */
export function enrollCli(server: ServerInfo, token: string, options: EnrollOptions) {
  return runCli(
    [
      "agent",
      "enroll",
      "--server",
      server.url,
      "--token",
      token,
      "--fingerprint",
      options.fingerprint ?? server.fingerprint,
      ...(options.extra ?? []),
    ],
    {
      password: options.password ?? PASSWORD,
      env: { REMPART_AGENT_CONFIG: options.configPath },
    },
  );
}
