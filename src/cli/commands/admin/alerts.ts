import type { DeliveryState } from "../../../catalog/delivery.js";
import { RempartError } from "../../../errors.js";
import type { AdminContext } from "../../../server/admin.js";
import {
  type AlertFilter,
  type AlertView,
  acknowledgeAlert,
  listAlertPage,
  MAX_ALERT_PAGE,
  parseAlertId,
} from "../../../server/alerts.js";
import {
  addDestination,
  type DestinationView,
  listDeliveries,
  listDestinations,
  removeDestination,
} from "../../../server/delivery/admin.js";
import { operatorByUsername } from "../../../server/offboarding/offboarding.js";
import type { Command } from "../../command.js";
import { EXIT } from "../../exit-codes.js";
import type { Output } from "../../output.js";
import { readFileSecret } from "../../secrets.js";
import { parseCount } from "../../units.js";
import { day, withDataDir } from "./session.js";

function printAlert(output: Output, alert: AlertView): void {
  const state =
    alert.acknowledged_at !== null
      ? `acknowledged by ${alert.acknowledged_by} at ${day(alert.acknowledged_at)}: ${alert.acknowledge_reason}`
      : alert.resolved_at !== null
        ? `resolved by the system at ${day(alert.resolved_at)}: ${alert.resolve_reason}`
        : "OPEN";
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
  summary: "alerts, newest first, open and closed (the default)",
  usage: "rempart admin alerts [list] [--tenant NAME] [--open] [--limit N]",
  options: {
    tenant: { type: "string", value: "NAME", help: "only this tenant's alerts" },
    open: { type: "boolean", help: "only open alerts (neither acknowledged nor resolved)" },
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

const TENANT_OPTION = { type: "string", value: "NAME", help: "this tenant's only" } as const;

const destinationAdd: Command = {
  name: "add",
  summary: "send alerts to a webhook (signed) or an email address (audited)",
  usage:
    "rempart admin alerts destination add [--tenant NAME] (--webhook URL --secret-file FILE | --email ADDRESS)",
  options: {
    tenant: { ...TENANT_OPTION, help: "this tenant's alerts (default: every tenant's)" },
    webhook: {
      type: "string",
      value: "URL",
      help: "an http(s) URL the alert is POSTed to as JSON",
    },
    "secret-file": {
      type: "string",
      value: "FILE",
      help: "the webhook's HMAC-SHA256 key (never shown back)",
    },
    email: {
      type: "string",
      value: "ADDRESS",
      help: "an address mailed through the server's SMTP relay",
    },
  },
  run: withDataDir(async (context, admin) => {
    const actor = await admin.actor();
    const secretFile = context.string("secret-file");
    const added = await addDestination(admin.ctx, actor, {
      tenantName: context.string("tenant"),
      webhook: context.string("webhook"),
      email: context.string("email"),
      secret: secretFile === undefined ? undefined : readFileSecret(secretFile, "webhook secret"),
    });
    if (context.output.json) context.output.object(added);
    else context.output.line(`added ${describeDestination(added)}`);
    return EXIT.ok;
  }),
};

function describeDestination(d: DestinationView): string {
  const scope = d.tenant === null ? "every tenant" : d.tenant;
  const origin = d.origin === "config" ? " (from the server's flags)" : "";
  return `${d.id}  ${d.kind} ${d.target}  for ${scope}${origin}`;
}

const destinationList: Command = {
  name: "list",
  isDefault: true,
  summary: "where alerts go (secrets are never shown)",
  usage: "rempart admin alerts destination [list] [--tenant NAME]",
  options: { tenant: { ...TENANT_OPTION, help: "where this tenant's alerts go" } },
  run: withDataDir(async (context, admin) => {
    const list = await listDestinations(admin.ctx, context.string("tenant"));
    if (context.output.json) context.output.object(list);
    else if (list.length === 0) context.output.line("no alert destinations");
    else for (const d of list) context.output.line(describeDestination(d));
    return EXIT.ok;
  }),
};

const destinationRemove: Command = {
  name: "remove",
  summary: "stop sending alerts there (audited); its pending deliveries end failed",
  usage: "rempart admin alerts destination remove ID",
  arguments: [{ syntax: "<ID>", help: "the destination's id, as destination list shows it" }],
  options: {},
  run: withDataDir(async (context, admin) => {
    const actor = await admin.actor();
    const removed = await removeDestination(admin.ctx, actor, context.argument(0));
    if (context.output.json) context.output.object(removed);
    else context.output.line(`removed ${describeDestination(removed)}`);
    return EXIT.ok;
  }),
};

const destination: Command = {
  name: "destination",
  summary: "where alerts are delivered: webhooks and email, per tenant or for every tenant",
  usage: "rempart admin alerts destination [list|add|remove] …",
  options: {},
  subcommands: [destinationList, destinationAdd, destinationRemove],
};

const deliveries: Command = {
  name: "deliveries",
  summary: "each alert's delivery to each destination: pending, delivered or failed, newest first",
  usage: "rempart admin alerts deliveries [--tenant NAME] [--state pending|delivered|failed]",
  options: {
    tenant: TENANT_OPTION,
    state: { type: "string", value: "STATE", help: "pending, delivered or failed only" },
  },
  run: withDataDir(async (context, admin) => {
    const state = context.string("state");
    if (state !== undefined && !DELIVERY_STATES.includes(state as DeliveryState))
      throw new RempartError("InvalidArgument", "--state wants pending, delivered or failed");
    const list = await listDeliveries(admin.ctx, {
      tenantName: context.string("tenant"),
      state: state as DeliveryState | undefined,
    });
    const { output } = context;
    if (output.json) output.object(list);
    else if (list.length === 0) output.line("no alert deliveries");
    else
      for (const d of list) {
        const when =
          d.state === "delivered"
            ? day(d.delivered_at)
            : d.state === "failed"
              ? day(d.failed_at)
              : `next try ${day(d.next_attempt_at)}`;
        output.line(
          `${d.id}  alert #${d.alert_id}${d.event === "resolve" ? " resolved" : ""}  ${d.tenant}  ${d.kind} ${d.target}  ${d.state.toUpperCase()} after ${d.attempts} attempt(s), ${when}${d.last_error === null ? "" : `: ${d.last_error}`}`,
        );
      }
    return EXIT.ok;
  }),
};

const DELIVERY_STATES: readonly DeliveryState[] = ["pending", "delivered", "failed"];

export const alertsCommand: Command = {
  name: "alerts",
  summary:
    "alerts (ransomware detection…): list, acknowledge, where they are delivered; a tenant is red while one is open",
  usage:
    "rempart admin alerts [--tenant NAME] [--open] [--limit N] | alerts ack ID --by OPERATOR --reason TEXT\n" +
    "       | alerts destination [list|add|remove] | alerts deliveries",
  options: {},
  subcommands: [list, ack, destination, deliveries],
};
