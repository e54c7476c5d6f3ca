import { RempartError } from "../../../errors.js";
import {
  listQuarantines,
  type QuarantineView,
  quarantineAgent,
  releaseQuarantine,
} from "../../../server/quarantine/quarantine.js";
import type { Command, OptionSpec } from "../../command.js";
import { EXIT } from "../../exit-codes.js";
import { formatBytes, type Output } from "../../output.js";
import { day, TENANT_ARGUMENT, withDataDir } from "./session.js";

const AGENT_OPTION: OptionSpec = {
  type: "string",
  value: "ID",
  required: true,
  help: "the agent, as admin agent list shows it",
};

/** `--since`: an ISO 8601 time (`2026-11-30T22:00:00Z`, or a date), as UTC with a Z. */
function parseSince(text: string): string {
  const time = new Date(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text.trim()) || Number.isNaN(time.getTime()))
    throw new RempartError(
      "InvalidArgument",
      `--since wants a time such as 2026-11-30T22:00:00Z, not ${JSON.stringify(text)}`,
    );
  return time.toISOString();
}

function printQuarantine(output: Output, q: QuarantineView): void {
  const state = q.released_at === null ? "active" : `released ${day(q.released_at)}`;
  output.line(
    `quarantine #${q.id}: agent ${q.agent_id} (${q.hostname ?? "?"}), uploads since ${day(q.since)}, ${state}: ${q.hidden_objects} object(s) hidden, ${formatBytes(q.hidden_bytes)}`,
  );
  if (q.affected_snapshots > 0)
    output.warn(
      `warning: ${q.affected_snapshots} snapshot(s) of other agents list packs this quarantine hides (they deduplicated against its uploads); a later --since spares them`,
    );
}

/** The group's default: `admin quarantine acme --agent ID` is `admin quarantine add acme …`. */
const add: Command = {
  name: "add",
  isDefault: true,
  summary:
    "hide what an agent uploaded (since a time) from every reader; nothing is deleted (the default)",
  usage: "rempart admin quarantine [add] NAME --agent ID [--since TIME]",
  arguments: [TENANT_ARGUMENT],
  options: {
    agent: AGENT_OPTION,
    since: {
      type: "string",
      value: "TIME",
      help: "hide its uploads from TIME on, such as 2026-11-30T22:00:00Z (default: all it uploaded)",
    },
  },
  run: withDataDir(async (context, admin) => {
    const { output } = context;
    const since = context.string("since");
    const quarantine = await quarantineAgent(admin.ctx, await admin.actor(), context.argument(0), {
      agent_id: context.required("agent"),
      ...(since === undefined ? {} : { since: parseSince(since) }),
    });
    if (output.json) output.object(quarantine);
    else {
      printQuarantine(output, quarantine);
      output.line(
        "nothing was deleted; to stop the machine too: rempart admin agent revoke AGENT_ID",
      );
    }
    return EXIT.ok;
  }),
};

const release: Command = {
  name: "release",
  summary: "show an agent's quarantined uploads again",
  usage: "rempart admin quarantine release NAME --agent ID",
  arguments: [TENANT_ARGUMENT],
  options: { agent: AGENT_OPTION },
  run: withDataDir(async (context, admin) => {
    const released = await releaseQuarantine(
      admin.ctx,
      await admin.actor(),
      context.argument(0),
      context.required("agent"),
    );
    if (context.output.json) context.output.object(released);
    else
      context.output.line(
        `released quarantine #${released.id} of agent ${released.agent_id}: its uploads since ${day(released.since)} are shown again`,
      );
    return EXIT.ok;
  }),
};

const list: Command = {
  name: "list",
  summary: "a tenant's quarantines, active and released",
  usage: "rempart admin quarantine list NAME",
  arguments: [TENANT_ARGUMENT],
  options: {},
  run: withDataDir(async (context, admin) => {
    const { output } = context;
    const quarantines = await listQuarantines(admin.ctx, context.argument(0));
    if (output.json) output.object(quarantines);
    else if (quarantines.length === 0) output.line("no quarantines");
    else for (const q of quarantines) printQuarantine(output, q);
    return EXIT.ok;
  }),
};

export const quarantineCommand: Command = {
  name: "quarantine",
  summary: "hide a compromised machine's uploads from every reader, list, release",
  usage:
    "rempart admin quarantine NAME --agent ID [--since TIME] | quarantine release NAME --agent ID | quarantine list NAME",
  options: {},
  subcommands: [add, release, list],
};
