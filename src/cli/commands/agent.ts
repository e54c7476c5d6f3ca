import { hostname } from "node:os";
import { agentConfigPath, DEFAULT_SCHEDULE, readAgentConfig } from "../../agent/config.js";
import { drillAndReport, drillSettings } from "../../agent/drill.js";
import { DEFAULT_DRILL } from "../../agent/drill-config.js";
import { enroll } from "../../agent/enroll.js";
import { runAgent } from "../../agent/run.js";
import { agentStatePath } from "../../agent/state.js";
import { type AgentStatus, agentStatus } from "../../agent/status.js";
import { normalizeBackupPaths } from "../../backup/archiver.js";
import { type Command, type CommandContext, REPOSITORY_OPTIONS } from "../command.js";
import { EXIT } from "../exit-codes.js";
import { formatBytes, type Output } from "../output.js";

const CONFIGURATION =
  "the configuration: REMPART_AGENT_CONFIG, else /etc/rempart/agent.json as root, else ~/.config/rempart/agent.json";

async function enrollMachine(context: CommandContext): Promise<number> {
  const { output } = context;
  const server = context.required("server");
  const token = context.required("token");
  const fingerprint = context.required("fingerprint");
  const configPath = agentConfigPath();
  const result = await enroll({
    server,
    token,
    fingerprint,
    password: await context.password(),
    hostname: hostname(),
    schedule: context.string("schedule") ?? DEFAULT_SCHEDULE,
    paths: normalizeBackupPaths(context.strings("path"), process.cwd()),
    exclude: context.strings("exclude"),
    configPath,
  });
  const { config } = result;
  if (output.json) {
    output.object({
      agent_id: config.agentId,
      tenant: config.tenant,
      server: config.server,
      repository: result.repository,
      repository_id: result.repositoryId,
      config: configPath,
    });
  } else {
    output.line(
      `enrolled as agent ${config.agentId} of tenant ${config.tenant.name} at ${config.server}`,
    );
    output.line(
      result.repository === "created"
        ? `created the tenant's repository ${result.repositoryId}`
        : `opened the tenant's repository ${result.repositoryId}: the password is right`,
    );
    output.line(`configuration written to ${configPath} (mode 0600)`);
    if (config.paths.length === 0)
      output.line(`add the paths to back up to "paths" there before running rempart agent run`);
  }
  return EXIT.ok;
}

async function runService(context: CommandContext): Promise<number> {
  const { output } = context;
  const configPath = agentConfigPath();
  const config = await readAgentConfig(configPath);
  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (stop.signal.aborted) process.exit(EXIT.error);
    output.warn(`${signal}: stopping after the current step (again to stop now)`);
    stop.abort();
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  try {
    const last = await runAgent({
      config,
      once: context.flag("once"),
      stop: stop.signal,
      log: (line) => output.warn(line),
      statePath: agentStatePath(configPath),
    });
    if (output.json && last)
      output.object({
        at: last.at.toISOString(),
        outcome: last.outcome,
        snapshot_id: last.snapshotId ?? null,
        error: last.error ?? null,
      });
    if (!context.flag("once") || last === undefined) return EXIT.ok;
    return last.outcome === "success"
      ? EXIT.ok
      : last.outcome === "partial"
        ? EXIT.partial
        : EXIT.error;
  } finally {
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
  }
}

async function showStatus(context: CommandContext): Promise<number> {
  const { output } = context;
  const configPath = agentConfigPath();
  const status = await agentStatus(await readAgentConfig(configPath), agentStatePath(configPath));
  if (output.json) output.object(statusObject(status, configPath));
  else printStatus(output, status, configPath);
  // Scripts and monitoring read the exit code: the credential refused is re-enrollment (12),
  // a server that does not answer an error (1).
  if (!status.serverAnswers) return EXIT.error;
  return status.credential === "valid" ? EXIT.ok : EXIT.credentialRejected;
}

function statusObject(status: AgentStatus, configPath: string): Record<string, unknown> {
  const { lastBackup, lastCheckIn } = status.state;
  return {
    config: configPath,
    server: status.server,
    fingerprint: status.fingerprint,
    agent_id: status.agentId,
    tenant: status.tenant,
    server_answers: status.serverAnswers,
    server_version: status.serverVersion,
    credential: status.credential,
    scopes: status.scopes,
    expires_at: status.expiresAt,
    problem: status.problem,
    last_backup:
      lastBackup === undefined
        ? null
        : {
            at: lastBackup.at,
            outcome: lastBackup.outcome,
            snapshot_id: lastBackup.snapshotId ?? null,
            error: lastBackup.error ?? null,
          },
    last_check_in: lastCheckIn ?? null,
  };
}

function printStatus(output: Output, status: AgentStatus, configPath: string): void {
  const { lastBackup, lastCheckIn } = status.state;
  output.line(
    `agent ${status.agentId} of tenant ${status.tenant.name} (configuration ${configPath})`,
  );
  output.line(`server      ${status.server} (certificate ${status.fingerprint})`);
  output.line(
    status.serverAnswers
      ? `            answers, version ${status.serverVersion}`
      : `            does not answer: ${status.problem}`,
  );
  output.line(
    status.credential === "valid"
      ? `credential  valid until ${status.expiresAt}, scopes ${status.scopes?.join(",")}`
      : status.credential === "unchecked"
        ? "credential  not checked (the server does not answer)"
        : `credential  ${status.credential.toUpperCase()}: ${status.problem}`,
  );
  output.line(
    lastBackup === undefined
      ? "last backup none yet by rempart agent run"
      : `last backup ${lastBackup.outcome} at ${lastBackup.at}${lastBackup.snapshotId ? `, snapshot ${lastBackup.snapshotId.slice(0, 12)}` : ""}${lastBackup.error ? `: ${lastBackup.error}` : ""}`,
  );
  if (lastCheckIn !== undefined)
    output.line(`last report ${lastCheckIn.ok ? "sent" : "FAILED"} at ${lastCheckIn.at}`);
}

async function drillNow(context: CommandContext): Promise<number> {
  const { output } = context;
  const config = await readAgentConfig();
  // Asked for by hand, a drill runs even when scheduled drills are off.
  const settings = drillSettings(config) || DEFAULT_DRILL;
  const done = await drillAndReport(config, settings, (line) => output.warn(line));
  if (done === undefined) {
    output.line("no snapshot of this machine yet: nothing to restore");
    return EXIT.ok;
  }
  const { result, reported } = done;
  if (output.json)
    output.object({
      snapshot_id: result.snapshotId,
      ok: result.ok,
      files: result.files,
      bytes: result.bytes,
      duration_ms: result.durationMs,
      error: result.error,
      reported,
    });
  else
    output.line(
      result.ok
        ? `restore drill passed: ${result.files} file(s), ${formatBytes(result.bytes)} restored and verified in ${result.durationMs} ms${reported ? "" : " (not reported: the server was unreachable)"}`
        : `restore drill FAILED: ${result.error}`,
    );
  return result.ok ? EXIT.ok : EXIT.error;
}

const drillCommand: Command = {
  name: "drill",
  summary:
    "restore a random sample of the latest snapshot into a scratch folder, verify it bit for bit, remove it and report to the server",
  usage: "rempart agent drill",
  options: {},
  run: drillNow,
};

const enrollCommand: Command = {
  name: "enroll",
  summary: `enroll this machine with a one-time token, and create or open the tenant's repository (${CONFIGURATION})`,
  usage:
    'rempart agent enroll --server URL --token TOKEN --fingerprint SHA256 [--schedule "0 2 * * *"] [--path DIR]… [--exclude PATTERN]…',
  options: {
    server: { type: "string", value: "URL", required: true, help: "the server, https://HOST:PORT" },
    token: {
      type: "string",
      value: "TOKEN",
      required: true,
      help: "the one-time enrollment token from `rempart admin enroll-token`",
    },
    fingerprint: {
      type: "string",
      value: "SHA256",
      required: true,
      help: "the server certificate's SHA-256 fingerprint, pinned from then on",
    },
    schedule: {
      type: "string",
      value: "CRON",
      help: `when to back up, a cron expression (default: "${DEFAULT_SCHEDULE}")`,
    },
    path: { type: "string", multiple: true, value: "DIR", help: "a path to back up; repeatable" },
    exclude: {
      type: "string",
      multiple: true,
      value: "PATTERN",
      help: "skip paths matching PATTERN; repeatable",
    },
    "password-file": REPOSITORY_OPTIONS["password-file"],
  },
  run: enrollMachine,
};

const runCommand: Command = {
  name: "run",
  summary: `run the scheduled backups and check-ins until SIGINT or SIGTERM (${CONFIGURATION})`,
  usage: "rempart agent run [--once]",
  options: {
    once: {
      type: "boolean",
      help: "back up once now and exit: 0 done, 3 some files unreadable, 1 failed",
    },
  },
  run: runService,
};

const statusCommand: Command = {
  name: "status",
  summary: `this machine's enrollment, whether the server answers and takes its credential, and the last backup (${CONFIGURATION}); exit 0 all well, 12 credential refused, 1 server unreachable`,
  usage: "rempart agent status [--json]",
  options: {},
  run: showStatus,
};

export const agentCommand: Command = {
  name: "agent",
  summary:
    "enroll this machine with a Rempart server, run its scheduled backups and restore drills, show its status",
  usage: "rempart agent enroll | run | drill | status",
  options: {},
  subcommands: [enrollCommand, runCommand, drillCommand, statusCommand],
};
