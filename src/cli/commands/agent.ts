import { hostname } from "node:os";
import { agentConfigPath, DEFAULT_SCHEDULE, readAgentConfig } from "../../agent/config.js";
import { enroll } from "../../agent/enroll.js";
import { runAgent } from "../../agent/run.js";
import { normalizeBackupPaths } from "../../backup/archiver.js";
import { RempartError } from "../../errors.js";
import type { Command, CommandContext, OptionTable } from "../command.js";
import { EXIT } from "../exit-codes.js";

const options = {
  server: { type: "string" },
  token: { type: "string" },
  fingerprint: { type: "string" },
  schedule: { type: "string" },
  path: { type: "string", multiple: true },
  exclude: { type: "string", multiple: true },
  once: { type: "boolean" },
} satisfies OptionTable;

const USAGE = [
  "rempart agent enroll --server URL --token TOKEN --fingerprint SHA256",
  '                             [--schedule "0 2 * * *"] [--path DIR]… [--exclude PATTERN]…',
  "       rempart agent run [--once]",
  "       (the configuration: REMPART_AGENT_CONFIG, else /etc/rempart/agent.json as root,",
  "        else ~/.config/rempart/agent.json)",
].join("\n");

function required(context: CommandContext, name: string): string {
  const value = context.string(name);
  if (value === undefined)
    throw new RempartError("InvalidArgument", `--${name} is missing\nusage: ${USAGE}`);
  return value;
}

async function enrollMachine(context: CommandContext): Promise<number> {
  const { output } = context;
  const server = required(context, "server");
  const token = required(context, "token");
  const fingerprint = required(context, "fingerprint");
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
  const config = await readAgentConfig();
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

export const agentCommand: Command = {
  name: "agent",
  summary: "enroll this machine with a Rempart server, and run its scheduled backups",
  usage: USAGE,
  options,
  async run(context) {
    const [action, ...rest] = context.positionals;
    if (rest.length > 0 || (action !== "enroll" && action !== "run"))
      throw new RempartError("InvalidArgument", `usage: ${USAGE}`);
    return action === "enroll" ? enrollMachine(context) : runService(context);
  },
};
