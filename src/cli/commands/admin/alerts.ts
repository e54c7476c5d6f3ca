import type { AdminContext } from "../../../server/admin.js";
import {
  type AlertFilter,
  type AlertView,
  acknowledgeAlert,
  listAlertPage,
  MAX_ALERT_PAGE,
  parseAlertId,
} from "../../../server/alerts.js";
import { operatorByUsername } from "../../../server/offboarding/offboarding.js";
import type { Command } from "../../command.js";
import { EXIT } from "../../exit-codes.js";
import type { Output } from "../../output.js";
import { parseCount } from "../../units.js";
import { day, withDataDir } from "./session.js";

function printAlert(output: Output, alert: AlertView): void {
  const state =
    alert.acknowledged_at === null
      ? "OPEN"
      : `acknowledged by ${alert.acknowledged_by} at ${day(alert.acknowledged_at)}: ${alert.acknowledge_reason}`;
  output.line(
    `#${alert.id}  ${day(alert.created_at)}  ${alert.severity}  ${alert.kind}  ${alert.tenant}  ${alert.hostname ?? "-"}  ${state}`,
  );
  for (const line of alert.message.split("\n")) output.line(`    ${line}`);
}

/** Newest first, page after page, until `limit` alerts (default: every one). */
async function allAlerts(
  ctx: AdminContext,
  filter: AlertFilter,
  limit = Number.POSITIVE_INFINITY,
): Promise<AlertView[]> {
  const alerts: AlertView[] = [];
  for (let cursor: string | undefined; alerts.length < limit; ) {
    const page = await listAlertPage(ctx, filter, {
      limit: Math.min(MAX_ALERT_PAGE, limit - alerts.length),
      cursor,
    });
    alerts.push(...page.alerts);
    if (page.next === undefined) break;
    cursor = page.next;
  }
  return alerts;
}

/** The group's default: `admin alerts --tenant acme` lists. */
const list: Command = {
  name: "list",
  isDefault: true,
  summary: "alerts, newest first, open and acknowledged (the default)",
  usage: "rempart admin alerts [list] [--tenant NAME] [--open] [--limit N]",
  options: {
    tenant: { type: "string", value: "NAME", help: "only this tenant's alerts" },
    open: { type: "boolean", help: "only alerts not yet acknowledged" },
    limit: { type: "string", value: "N", help: "the N newest only (default: every one)" },
  },
  run: withDataDir(async (context, admin) => {
    const { output } = context;
    const limit = context.string("limit");
    const alerts = await allAlerts(
      admin.ctx,
      { tenantName: context.string("tenant"), open: context.flag("open") },
      limit === undefined ? undefined : parseCount(limit, "--limit", 1),
    );
    if (output.json) output.object(alerts);
    else if (alerts.length === 0) output.line("no alerts");
    else for (const alert of alerts) printAlert(output, alert);
    return EXIT.ok;
  }),
};

const ack: Command = {
  name: "ack",
  summary: "acknowledge an alert, saying why (audited); a hold it placed stays until released",
  usage: "rempart admin alerts ack ID --by OPERATOR --reason TEXT",
  arguments: [{ syntax: "<ID>", help: "the alert's number, as admin alerts shows it" }],
  options: {
    by: {
      type: "string",
      value: "OPERATOR",
      required: true,
      help: "the operator acknowledging it (a username, see admin operator list)",
    },
    reason: { type: "string", value: "TEXT", required: true, help: "why it is handled" },
  },
  run: withDataDir(async (context, admin) => {
    const id = parseAlertId(context.argument(0));
    // First: on a data directory no server has opened yet, it creates the admin login.
    const actor = await admin.actor();
    const operator = await operatorByUsername(admin.ctx.catalog, context.required("by"));
    const alert = await acknowledgeAlert(admin.ctx, actor, id, operator.id, {
      reason: context.required("reason"),
    });
    if (context.output.json) context.output.object(alert);
    else {
      context.output.line(`acknowledged alert #${alert.id} of ${alert.tenant}`);
      const held = alert.details.held_snapshot_id;
      if (typeof held === "string")
        context.output.line(
          `snapshot ${held} stays held; release it when it is no longer needed: rempart admin snapshot release ${alert.tenant} ${held.slice(0, 12)}`,
        );
    }
    return EXIT.ok;
  }),
};

export const alertsCommand: Command = {
  name: "alerts",
  summary: "alerts (ransomware detection…): list, acknowledge; a tenant is red while one is open",
  usage:
    "rempart admin alerts [--tenant NAME] [--open] [--limit N] | alerts ack ID --by OPERATOR --reason TEXT",
  options: {},
  subcommands: [list, ack],
};
