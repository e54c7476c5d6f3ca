import {
  type PolicyView,
  prune,
  type RulesView,
  setPolicy,
  showPolicy,
} from "../../../server/admin.js";
import type { PruneReport } from "../../../server/retention/prune.js";
import type { Command, CommandContext, OptionSpec } from "../../command.js";
import { EXIT } from "../../exit-codes.js";
import type { Output } from "../../output.js";
import { parseCount, parseDays } from "../../units.js";
import { day, ONE_TENANT_OPTION, TENANT_ARGUMENT, withDataDir } from "./session.js";

function printRules(output: Output, label: string, rules: RulesView): void {
  const counts = [
    `within ${rules.keep_within_days} d`,
    `daily ${rules.keep_daily}`,
    `weekly ${rules.keep_weekly}`,
    `monthly ${rules.keep_monthly}`,
    `yearly ${rules.keep_yearly}`,
    rules.known_good_after_days > 0
      ? `known-good older than ${rules.known_good_after_days} d`
      : "no known-good rule",
  ];
  output.line(`${label}: keep ${counts.join(", ")}`);
}

function printPolicy(output: Output, view: PolicyView): void {
  const source = view.tenant_policy.source === "default" ? " (default: retention days)" : "";
  printRules(output, `${view.tenant}${source}`, view.tenant_policy);
  for (const override of view.agent_overrides)
    printRules(output, `  agent ${override.agent_id} (${override.hostname ?? "?"})`, override);
}

function printPrune(output: Output, report: PruneReport): void {
  const verb = report.dryRun ? "would remove" : "removed";
  output.line(`tenant ${report.tenant.name}: ${verb} ${report.removed.length} snapshot(s)`);
  for (const series of report.series) {
    output.line(`  agent ${series.agentId} (policy: ${series.policy.source})`);
    for (const d of series.decisions)
      output.line(
        `    ${d.id.slice(0, 12)}  ${day(d.committedAt.toISOString())}  ${d.keep ? "keep  " : "remove"}  ${d.reasons.join("; ")}`.trimEnd(),
      );
  }
  for (const refusal of report.refused)
    output.line(`  refused ${refusal.id.slice(0, 12)}: ${refusal.reason}`);
}

const keepCount = (what: string): OptionSpec => ({
  type: "string",
  value: "N",
  help: `keep the last snapshot of each of the last N ${what}`,
});

/** An option read with `parse`, or undefined when it is not given (the rule is left as it is). */
function optional(
  context: CommandContext,
  name: string,
  parse: (text: string, label: string) => number,
): number | undefined {
  const text = context.string(name);
  return text === undefined ? undefined : parse(text, `--${name}`);
}

const set: Command = {
  name: "set",
  summary: "set a tenant's retention policy, or one agent's override; rules not given are kept",
  usage:
    "rempart admin policy set NAME [--agent ID] [--keep-within 14d] [--keep-daily 7] [--keep-weekly 4] [--keep-monthly 12] [--keep-yearly 3] [--known-good-after 7d]",
  arguments: [TENANT_ARGUMENT],
  options: {
    agent: { type: "string", value: "ID", help: "set this agent's override, not the tenant's" },
    "keep-within": {
      type: "string",
      value: "DAYS",
      help: "keep every snapshot younger than DAYS, such as 14d",
    },
    "keep-daily": keepCount("days"),
    "keep-weekly": keepCount("weeks"),
    "keep-monthly": keepCount("months"),
    "keep-yearly": keepCount("years"),
    "known-good-after": {
      type: "string",
      value: "DAYS",
      help: "keep the latest known-good snapshot older than DAYS, such as 7d",
    },
  },
  run: withDataDir(async (context, admin) => {
    const view = await setPolicy(
      admin.ctx,
      await admin.actor(),
      context.argument(0),
      context.string("agent") ?? null,
      {
        keepWithinDays: optional(context, "keep-within", parseDays),
        keepDaily: optional(context, "keep-daily", parseCount),
        keepWeekly: optional(context, "keep-weekly", parseCount),
        keepMonthly: optional(context, "keep-monthly", parseCount),
        keepYearly: optional(context, "keep-yearly", parseCount),
        knownGoodAfterDays: optional(context, "known-good-after", parseDays),
      },
    );
    if (context.output.json) context.output.object(view);
    else printPolicy(context.output, view);
    return EXIT.ok;
  }),
};

const show: Command = {
  name: "show",
  summary: "a tenant's retention policy and its agents' overrides",
  usage: "rempart admin policy show NAME",
  arguments: [TENANT_ARGUMENT],
  options: {},
  run: withDataDir(async (context, admin) => {
    const view = await showPolicy(admin.ctx, context.argument(0));
    if (context.output.json) context.output.object(view);
    else printPolicy(context.output, view);
    return EXIT.ok;
  }),
};

export const policyCommand: Command = {
  name: "policy",
  summary: "set and show retention policies",
  usage: "rempart admin policy set NAME [--agent ID] [--keep-… N] | policy show NAME",
  options: {},
  subcommands: [set, show],
};

export const pruneCommand: Command = {
  name: "prune",
  summary: "delete the snapshots the retention policies no longer keep; lists why each stays",
  usage: "rempart admin prune [--tenant NAME] [--dry-run]",
  options: {
    tenant: ONE_TENANT_OPTION,
    "dry-run": { type: "boolean", help: "say what would be removed; remove nothing" },
  },
  run: withDataDir(async (context, admin) => {
    const { output } = context;
    const reports = await prune(admin.ctx, await admin.actor(), {
      tenantName: context.string("tenant"),
      dryRun: context.flag("dry-run"),
    });
    if (output.json)
      output.object(
        reports.map((r) => ({
          tenant: r.tenant.name,
          dry_run: r.dryRun,
          removed: r.removed,
          refused: r.refused,
          files_deleted: r.filesDeleted,
          series: r.series.map((s) => ({
            agent_id: s.agentId,
            policy_source: s.policy.source,
            decisions: s.decisions.map((d) => ({
              id: d.id,
              committed_at: d.committedAt.toISOString(),
              keep: d.keep,
              reasons: d.reasons,
            })),
          })),
        })),
      );
    else for (const report of reports) printPrune(output, report);
    return EXIT.ok;
  }),
};
