import {
  createTenant,
  listTenants,
  setTenantQuota,
  showTenant,
  type TenantView,
} from "../../../server/admin.js";
import { DEFAULT_TENANT_QUOTA } from "../../../server/quota.js";
import { setTenantRpo } from "../../../server/reports/rpo.js";
import { formatAge } from "../../../server/reports/status.js";
import type { Command } from "../../command.js";
import { EXIT } from "../../exit-codes.js";
import { formatBytes, type Output } from "../../output.js";
import { parseDays, parseDuration, parseSizeOrNone } from "../../units.js";
import { printAgents } from "./agent.js";
import { cancelDeleteCommand, deleteCommand, printDeletion } from "./offboarding.js";
import { day, TENANT_ARGUMENT, withDataDir } from "./session.js";

export function printTenant(output: Output, tenant: TenantView): void {
  const quota =
    tenant.quota_bytes === null ? "no quota" : `quota ${formatBytes(tenant.quota_bytes)}`;
  output.line(
    `${tenant.name}  ${tenant.status}${tenant.alert_state === "red" ? `  RED: ${tenant.open_alerts} open alert(s)` : ""}  retention ${tenant.retention_days} d, immutable ${tenant.immutable_days} d, ${quota}, RPO ${formatAge(tenant.rpo_seconds)}  (id ${tenant.id}, created ${day(tenant.created_at)})`,
  );
}

const RPO_OPTION = {
  type: "string",
  value: "DURATION",
  help: "recovery point objective: machines without a backup for longer are stale (default: 24h)",
} as const;

function rpoSeconds(text: string, label: string): number {
  return Math.floor(parseDuration(text, label) / 1000);
}

const create: Command = {
  name: "create",
  summary: "create a tenant (a client company): its store, its retention and its quota",
  usage:
    "rempart admin tenant create NAME --retention-days N [--immutable-days N] [--quota SIZE|none] [--default-quota SIZE|none] [--rpo 24h]",
  arguments: [
    { syntax: "<NAME>", help: "the tenant's name: lower-case letters, digits and dashes" },
  ],
  options: {
    "retention-days": {
      type: "string",
      value: "N",
      required: true,
      help: "keep snapshots N days (the default retention policy)",
    },
    "immutable-days": {
      type: "string",
      value: "N",
      help: "no one, not even an admin, can delete a snapshot for N days after its commit",
    },
    quota: { type: "string", value: "SIZE|none", help: "the tenant's storage quota" },
    "default-quota": {
      type: "string",
      value: "SIZE|none",
      help: `the quota when --quota is not given (default: ${formatBytes(DEFAULT_TENANT_QUOTA)}, as for \`rempart server\`)`,
    },
    rpo: RPO_OPTION,
  },
  run: withDataDir(async (context, admin) => {
    const { output } = context;
    const immutable = context.string("immutable-days");
    const quota = context.string("quota");
    const defaultQuota = context.string("default-quota");
    const rpo = context.string("rpo");
    const ctx =
      defaultQuota === undefined
        ? admin.ctx
        : { ...admin.ctx, defaultQuotaBytes: parseSizeOrNone(defaultQuota, "--default-quota") };
    const tenant = await createTenant(ctx, await admin.actor(), {
      name: context.argument(0),
      retention_days: parseDays(context.required("retention-days"), "--retention-days"),
      ...(immutable === undefined
        ? {}
        : { immutable_days: parseDays(immutable, "--immutable-days") }),
      ...(quota === undefined ? {} : { quota_bytes: parseSizeOrNone(quota, "--quota") }),
      ...(rpo === undefined ? {} : { rpo_seconds: rpoSeconds(rpo, "--rpo") }),
    });
    if (output.json) output.object(tenant);
    else {
      output.line("created tenant:");
      printTenant(output, tenant);
      output.line(`next: rempart admin enroll-token ${tenant.name} --expires 24h`);
    }
    return EXIT.ok;
  }),
};

const list: Command = {
  name: "list",
  summary: "list the tenants",
  usage: "rempart admin tenant list",
  options: {},
  run: withDataDir(async ({ output }, admin) => {
    const tenants = await listTenants(admin.ctx);
    if (output.json) output.object(tenants);
    else if (tenants.length === 0) output.line("no tenants");
    else for (const tenant of tenants) printTenant(output, tenant);
    return EXIT.ok;
  }),
};

const show: Command = {
  name: "show",
  summary: "a tenant's usage, snapshots, reclaimable space, agents and scheduled deletion",
  usage: "rempart admin tenant show NAME",
  arguments: [TENANT_ARGUMENT],
  options: {},
  run: withDataDir(async (context, admin) => {
    const { output } = context;
    const details = await showTenant(admin.ctx, context.argument(0));
    if (output.json) {
      output.object(details);
      return EXIT.ok;
    }
    printTenant(output, details);
    const kinds = Object.entries(details.usage.by_kind)
      .map(([kind, usage]) => `${kind} ${usage.count} (${formatBytes(usage.bytes)})`)
      .join(", ");
    output.line(
      `stored: ${formatBytes(details.usage.stored_bytes)} in ${details.usage.object_count} objects: ${kinds}`,
    );
    const s = details.snapshots;
    output.line(
      `snapshots: ${s.active} active, ${s.held} held, ${s.deleted} deleted, ${s.known_good} known-good; last committed ${day(s.last_committed_at)}`,
    );
    output.line(
      `reclaimable: ${details.reclaimable.packs} unreferenced pack(s), ${formatBytes(details.reclaimable.bytes)} (freed by gc after the grace period)`,
    );
    const ratio = details.logical.dedup_ratio;
    output.line(
      `logical: ${formatBytes(details.logical.bytes)} in kept snapshots (agent-reported)${ratio === null ? "" : `, ${ratio.toFixed(2)}x deduplication and compression`}`,
    );
    output.line(`agents (${details.agents.length}):`);
    printAgents(output, details.agents, admin.now);
    if (details.deletion !== null) printDeletion(output, details.deletion);
    return EXIT.ok;
  }),
};

const setQuota: Command = {
  name: "set-quota",
  summary: "change a tenant's quota (audited)",
  usage: "rempart admin tenant set-quota NAME SIZE|none",
  arguments: [
    TENANT_ARGUMENT,
    { syntax: "<SIZE|none>", help: "the new quota, such as 2T, or none for no limit" },
  ],
  options: {},
  run: withDataDir(async (context, admin) => {
    const { output } = context;
    const tenant = await setTenantQuota(admin.ctx, await admin.actor(), context.argument(0), {
      quota_bytes: parseSizeOrNone(context.argument(1), "the quota"),
    });
    if (output.json) output.object(tenant);
    else printTenant(output, tenant);
    return EXIT.ok;
  }),
};

const setRpo: Command = {
  name: "set-rpo",
  summary:
    "change a tenant's recovery point objective: machines without a backup for longer are stale in coverage (audited)",
  usage: "rempart admin tenant set-rpo NAME DURATION",
  arguments: [TENANT_ARGUMENT, { syntax: "<DURATION>", help: "such as 24h, 4h or 7d" }],
  options: {},
  run: withDataDir(async (context, admin) => {
    const { output } = context;
    const tenant = await setTenantRpo(admin.ctx, await admin.actor(), context.argument(0), {
      rpo_seconds: rpoSeconds(context.argument(1), "the RPO"),
    });
    if (output.json) output.object(tenant);
    else printTenant(output, tenant);
    return EXIT.ok;
  }),
};

export const tenantCommand: Command = {
  name: "tenant",
  summary: "create, list, show tenants; set a quota; schedule or cancel a tenant's deletion",
  usage: "rempart admin tenant create | list | show | set-quota | set-rpo | delete | cancel-delete",
  options: {},
  subcommands: [create, list, show, setQuota, setRpo, deleteCommand, cancelDeleteCommand],
};
