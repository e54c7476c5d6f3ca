import { readFileSync } from "node:fs";
import { join } from "node:path";
import { RempartError } from "../../../errors.js";
import {
  type AgentView,
  createEnrollmentToken,
  listAgents,
  revokeAgent,
} from "../../../server/admin.js";
import { listStaleAgents } from "../../../server/agents/stale.js";
import { certificateFingerprint } from "../../../server/tls.js";
import type { Command } from "../../command.js";
import { EXIT } from "../../exit-codes.js";
import type { Output } from "../../output.js";
import { parseDuration } from "../../units.js";
import { day, TENANT_ARGUMENT, withDataDir } from "./session.js";

function agentStatus(agent: AgentView, now: Date): string {
  if (agent.revoked_at !== null) return "revoked";
  return new Date(agent.expires_at) <= now ? "expired" : "active";
}

/** The last backup as reported, and whether the catalog confirms it. */
function lastBackup(agent: AgentView): string {
  if (agent.last_backup_status === null) return "none";
  const when = agent.last_backup_at ? ` ${day(agent.last_backup_at)}` : "";
  const unverified =
    agent.last_backup_verified === false
      ? agent.last_backup_snapshot_id === null
        ? " (unverified: no snapshot named)"
        : ` (unverified: no snapshot ${agent.last_backup_snapshot_id.slice(0, 12)} committed by this agent)`
      : "";
  return `${agent.last_backup_status}${unverified}${when}`;
}

/** Where it last called from: the host its requests name, when not the enrolled one, and the address. */
function calledFrom(agent: AgentView): string {
  const host =
    agent.last_host !== null && agent.last_host !== agent.hostname ? ` as ${agent.last_host}` : "";
  return agent.last_address === null ? host : `${host} from ${agent.last_address}`;
}

export function printAgents(output: Output, agents: readonly AgentView[], now: Date): void {
  if (agents.length === 0) output.line("no agents");
  for (const agent of agents)
    output.line(
      `${agent.id}  ${agent.hostname}  ${agentStatus(agent, now)}  scopes ${agent.scopes.join(",")}  last seen ${day(agent.last_seen_at)}${calledFrom(agent)}  version ${agent.version ?? "?"}  last backup ${lastBackup(agent)}`,
    );
}

function fingerprintIn(dataDir: string): string | undefined {
  try {
    return certificateFingerprint(readFileSync(join(dataDir, "tls", "cert.pem")));
  } catch {
    return undefined;
  }
}

export const enrollTokenCommand: Command = {
  name: "enroll-token",
  summary: "issue a one-time token that enrolls one machine of a tenant",
  usage: "rempart admin enroll-token NAME --expires 24h [--restore]",
  arguments: [TENANT_ARGUMENT],
  options: {
    expires: {
      type: "string",
      value: "DURATION",
      required: true,
      help: "how long the token may be used, such as 24h",
    },
    restore: {
      type: "boolean",
      help: "the machine may also restore (default: back up only)",
    },
  },
  run: withDataDir(async (context, admin) => {
    const { output } = context;
    const name = context.argument(0);
    const answer = await createEnrollmentToken(admin.ctx, await admin.actor(), name, {
      expires_in_seconds: parseDuration(context.required("expires"), "--expires") / 1000,
      scopes: context.flag("restore") ? ["backup", "restore"] : ["backup"],
    });
    const fingerprint = fingerprintIn(admin.dataDir);
    if (output.json) output.object({ ...answer, tenant: name, fingerprint: fingerprint ?? null });
    else {
      output.line(`one-time enrollment token for ${name}, valid until ${answer.expires_at}:`);
      output.line(`  ${answer.token}`);
      output.line(
        `on the client: rempart agent enroll --server https://SERVER:8443 --token ${answer.token}${fingerprint ? ` --fingerprint ${fingerprint}` : ""}`,
      );
    }
    return EXIT.ok;
  }),
};

const list: Command = {
  name: "list",
  summary:
    "a tenant's agents (status, last check-in, version, last backup), or every tenant's agents unseen for a while",
  usage: "rempart admin agent list NAME | list --stale 7d [NAME]",
  arguments: [{ syntax: "[NAME]", help: "the tenant's name (with --stale: default every tenant)" }],
  options: {
    stale: {
      type: "string",
      value: "DURATION",
      help: "only unrevoked agents of active tenants not seen for DURATION (any request counts), such as 7d",
    },
  },
  run: withDataDir(async (context, admin) => {
    const name = context.positionals[0];
    const stale = context.string("stale");
    if (stale === undefined) {
      if (name === undefined)
        throw new RempartError("InvalidArgument", "name a tenant, or pass --stale DURATION");
      const agents = await listAgents(admin.ctx, name);
      if (context.output.json) context.output.object(agents);
      else printAgents(context.output, agents, admin.now);
      return EXIT.ok;
    }
    const unseen = (await listStaleAgents(admin.ctx, parseDuration(stale, "--stale"))).filter(
      (agent) => name === undefined || agent.tenant_name === name,
    );
    if (context.output.json) context.output.object(unseen);
    else if (unseen.length === 0) context.output.line(`no agent unseen for ${stale}`);
    else
      for (const agent of unseen)
        context.output.line(
          `${agent.tenant_name}  ${agent.id}  ${agent.hostname}  last seen ${day(agent.last_seen_at)}${calledFrom(agent)}  version ${agent.version ?? "?"}`,
        );
    return EXIT.ok;
  }),
};

const revoke: Command = {
  name: "revoke",
  summary: "revoke an agent's credential: its next request is refused",
  usage: "rempart admin agent revoke AGENT_ID",
  arguments: [{ syntax: "<AGENT_ID>", help: "the agent, as agent list shows it" }],
  options: {},
  run: withDataDir(async (context, admin) => {
    const agent = await revokeAgent(admin.ctx, await admin.actor(), context.argument(0));
    if (context.output.json) context.output.object(agent);
    else
      context.output.line(
        `revoked agent ${agent.id} (${agent.hostname}) at ${agent.revoked_at}: its next request is refused`,
      );
    return EXIT.ok;
  }),
};

export const agentCommand: Command = {
  name: "agent",
  summary: "list a tenant's agents, revoke one",
  usage: "rempart admin agent list NAME | list --stale 7d | revoke AGENT_ID",
  options: {},
  subcommands: [list, revoke],
};
