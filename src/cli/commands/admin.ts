import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Catalog } from "../../catalog/catalog.js";
import { RempartError } from "../../errors.js";
import {
  type AdminActor,
  type AdminContext,
  type AgentView,
  type AuditView,
  addOperator,
  changeSnapshot,
  collectGarbage,
  createEnrollmentToken,
  createTenant,
  listAgents,
  listOperators,
  listTenants,
  type PolicyView,
  prune,
  type RulesView,
  readAudit,
  revokeAgent,
  type SnapshotAction,
  setPolicy,
  setTenantQuota,
  showPolicy,
  showTenant,
  type TenantView,
} from "../../server/admin.js";
import { ADMIN_USERNAME, ensureAdminOperator, openDataDir } from "../../server/data-dir.js";
import { DEFAULT_GRACE_MS, type GcReport, withGcLock } from "../../server/gc/gc.js";
import {
  cancelTenantDeletion,
  type DeletionReport,
  requestTenantDeletion,
  runDeletions,
} from "../../server/offboarding/offboarding.js";
import { describeDelay } from "../../server/offboarding/plan.js";
import type { DeletionView } from "../../server/offboarding/view.js";
import { addKeySlot } from "../../server/operator-keys.js";
import {
  listQuarantines,
  type QuarantineView,
  quarantineAgent,
  releaseQuarantine,
} from "../../server/quarantine/quarantine.js";
import type { PruneReport } from "../../server/retention/prune.js";
import { certificateFingerprint } from "../../server/tls.js";
import type { Command, CommandContext, OptionTable } from "../command.js";
import { EXIT } from "../exit-codes.js";
import { formatBytes, type Output } from "../output.js";

const options = {
  data: { type: "string" },
  "retention-days": { type: "string" },
  "immutable-days": { type: "string" },
  quota: { type: "string" },
  expires: { type: "string" },
  restore: { type: "boolean" },
  tenant: { type: "string" },
  limit: { type: "string" },
  agent: { type: "string" },
  "keep-within": { type: "string" },
  "keep-daily": { type: "string" },
  "keep-weekly": { type: "string" },
  "keep-monthly": { type: "string" },
  "keep-yearly": { type: "string" },
  "known-good-after": { type: "string" },
  "dry-run": { type: "boolean" },
  grace: { type: "string" },
  "requested-by": { type: "string" },
  by: { type: "string" },
  delay: { type: "string" },
  role: { type: "string" },
  file: { type: "string" },
  since: { type: "string" },
  "default-quota": { type: "string" },
} satisfies OptionTable;

const USAGE = [
  "rempart admin tenant create NAME --retention-days N [--immutable-days N] [--quota SIZE|none]",
  "           (no --quota: the default quota, 1T unless --default-quota SIZE|none)",
  "       rempart admin tenant list | tenant show NAME | tenant set-quota NAME SIZE|none",
  "       rempart admin tenant delete NAME --requested-by ADMIN [--delay 72h]   (at least 24h)",
  "       rempart admin tenant cancel-delete NAME --by OTHER_ADMIN",
  "       rempart admin run-deletions [--dry-run]",
  "       rempart admin operator add USERNAME --role admin|technician | operator list",
  "       rempart admin enroll-token NAME --expires 24h [--restore]",
  "       rempart admin agent list NAME | agent revoke AGENT_ID",
  "       rempart admin key add NAME --file SLOT.json",
  "       rempart admin quarantine NAME --agent ID [--since TIME]   (default: all it uploaded)",
  "       rempart admin quarantine release NAME --agent ID | quarantine list NAME",
  "       rempart admin audit [--tenant NAME] [--limit N]",
  "       rempart admin policy set NAME [--agent ID] [--keep-within 14d] [--keep-daily 7]",
  "           [--keep-weekly 4] [--keep-monthly 12] [--keep-yearly 3] [--known-good-after 7d]",
  "       rempart admin policy show NAME",
  "       rempart admin prune [--tenant NAME] [--dry-run]",
  "       rempart admin gc [--tenant NAME] [--grace 24h] [--dry-run]",
  "       rempart admin snapshot hold|release|mark-good NAME SNAPSHOT_ID_PREFIX",
  "       (all: [--data DIR] [--json]; DIR defaults to ./data)",
].join("\n");

const UNITS: Record<string, number> = {
  "": 1,
  k: 2 ** 10,
  m: 2 ** 20,
  g: 2 ** 30,
  t: 2 ** 40,
  p: 2 ** 50,
};

/** `500G`, `1.5T`, `200MiB`, `1024`: binary units, as `formatBytes` prints them. */
export function parseSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?$/i.exec(text.trim());
  const bytes = match
    ? Math.floor(Number(match[1]) * (UNITS[(match[2] ?? "").toLowerCase()] ?? 1))
    : 0;
  if (!Number.isSafeInteger(bytes) || bytes < 1)
    throw new RempartError(
      "InvalidArgument",
      `a size is wanted, such as 500G or 2T, not ${JSON.stringify(text)}`,
    );
  return bytes;
}

/** A size, or `none` for no limit (a quota). */
function sizeOrNone(text: string): number | null {
  return text.trim().toLowerCase() === "none" ? null : parseSize(text);
}

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

const SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** `90s`, `30m`, `24h`, `7d`, in seconds. */
export function parseDuration(text: string, option = "expires"): number {
  const match = /^(\d{1,9})([smhd])$/.exec(text.trim());
  if (!match)
    throw new RempartError(
      "InvalidArgument",
      `--${option} wants a duration such as 30m, 24h or 7d, not ${JSON.stringify(text)}`,
    );
  return Number(match[1]) * (SECONDS[match[2] ?? "s"] ?? 1);
}

/** `14d` or `14`: whole days, as retention counts them. */
function days(context: CommandContext, option: string): number | undefined {
  const text = context.string(option);
  if (text === undefined) return undefined;
  const match = /^(\d{1,5})d?$/.exec(text.trim());
  if (!match)
    throw new RempartError(
      "InvalidArgument",
      `--${option} wants whole days such as 14d, not ${JSON.stringify(text)}`,
    );
  return Number(match[1]);
}

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

function printGc(output: Output, report: GcReport): void {
  const verb = report.dryRun ? "would free" : "freed";
  output.line(
    `tenant ${report.tenant.name}: ${verb} ${report.packs} unreferenced pack(s), ${formatBytes(report.bytes)}; ${report.strayFiles} stray file(s), ${formatBytes(report.strayBytes)}${report.restored > 0 ? `; put back ${report.restored} re-uploaded pack(s)` : ""}`,
  );
}

function printDeletion(output: Output, deletion: DeletionView): void {
  const why =
    deletion.reason === "immutability" ? "end of the immutability window" : "end of the delay";
  output.line(
    `deletion #${deletion.id}: requested by ${deletion.requested_by} at ${day(deletion.requested_at)}, due at ${day(deletion.due_at)} UTC (${why})`,
  );
  if (deletion.completed_at !== null) output.line(`  completed at ${day(deletion.completed_at)}`);
  else if (deletion.cancelled_at !== null)
    output.line(`  cancelled by ${deletion.cancelled_by} at ${day(deletion.cancelled_at)}`);
  else if (deletion.started_at !== null)
    output.line(`  started at ${day(deletion.started_at)}: no longer cancellable`);
  else
    output.line(
      `  cancellable until ${day(deletion.cancellable_until)} UTC by an admin other than ${deletion.requested_by}`,
    );
}

function printDeletionRun(output: Output, report: DeletionReport): void {
  output.line(
    `tenant ${report.tenant} (deletion #${report.deletionId}): ${report.outcome}: ${report.reason}`,
  );
}

/** An operator's username given with `--option`, required. */
function requiredString(context: CommandContext, option: string, example: string): string {
  const value = context.string(option);
  if (value === undefined)
    throw new RempartError(
      "InvalidArgument",
      `--${option} is required (e.g. --${option} ${example})`,
    );
  return value;
}

function wholeNumber(context: CommandContext, name: string): number | undefined {
  const text = context.string(name);
  if (text === undefined) return undefined;
  if (!/^\d{1,9}$/.test(text))
    throw new RempartError(
      "InvalidArgument",
      `--${name} wants a whole number, not ${JSON.stringify(text)}`,
    );
  return Number(text);
}

function argument(context: CommandContext, index: number, what: string): string {
  const value = context.positionals[index];
  if (value === undefined)
    throw new RempartError("InvalidArgument", `${what} is missing\nusage: ${USAGE}`);
  return value;
}

const day = (iso: string | null) => (iso === null ? "never" : iso.replace("T", " ").slice(0, 19));

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

function printTenant(output: Output, tenant: TenantView): void {
  const quota =
    tenant.quota_bytes === null ? "no quota" : `quota ${formatBytes(tenant.quota_bytes)}`;
  output.line(
    `${tenant.name}  ${tenant.status}  retention ${tenant.retention_days} d, immutable ${tenant.immutable_days} d, ${quota}  (id ${tenant.id}, created ${day(tenant.created_at)})`,
  );
}

function printAgents(output: Output, agents: readonly AgentView[], now: Date): void {
  if (agents.length === 0) output.line("no agents");
  for (const agent of agents)
    output.line(
      `${agent.id}  ${agent.hostname}  ${agentStatus(agent, now)}  scopes ${agent.scopes.join(",")}  last seen ${day(agent.last_seen_at)}  version ${agent.version ?? "?"}  last backup ${lastBackup(agent)}`,
    );
}

function printAudit(
  output: Output,
  entries: readonly AuditView[],
  names: ReadonlyMap<string, string>,
): void {
  if (entries.length === 0) output.line("no audit entries");
  for (const entry of entries) {
    const tenant = entry.tenant_id === null ? "-" : (names.get(entry.tenant_id) ?? entry.tenant_id);
    output.line(
      `${entry.id}  ${day(entry.at)}  ${entry.actor.kind}:${entry.actor.id ?? "-"}  ${entry.action}  ${tenant}  ${JSON.stringify(entry.details)}`,
    );
  }
}

/** The `admin` operator issues the CLI's enrollment tokens; the audit log names the CLI itself. */
async function cliActor(catalog: Catalog, output: Output, now: Date): Promise<AdminActor> {
  const password = await ensureAdminOperator(catalog, now);
  if (password !== undefined)
    output.warn(
      `created the first admin login: username ${ADMIN_USERNAME}, password ${password} (shown this once)`,
    );
  const admin = await catalog.getOperatorByUsername(ADMIN_USERNAME);
  if (admin === undefined) throw new RempartError("NotFound", "the admin operator is missing");
  return { audit: { kind: "system", id: "admin-cli" }, operatorId: admin.id };
}

function fingerprintIn(dataDir: string): string | undefined {
  try {
    return certificateFingerprint(readFileSync(join(dataDir, "tls", "cert.pem")));
  } catch {
    return undefined;
  }
}

async function run(context: CommandContext, ctx: AdminContext, dataDir: string): Promise<number> {
  const { output } = context;
  const [group, action] = context.positionals;
  const now = ctx.now();
  const actor = () => cliActor(ctx.catalog, output, now);
  if (group === "tenant" && action === "create") {
    const name = argument(context, 2, "the tenant NAME");
    const retention = wholeNumber(context, "retention-days");
    if (retention === undefined)
      throw new RempartError("InvalidArgument", "--retention-days is required");
    const immutable = wholeNumber(context, "immutable-days");
    const quota = context.string("quota");
    const tenant = await createTenant(ctx, await actor(), {
      name,
      retention_days: retention,
      ...(immutable === undefined ? {} : { immutable_days: immutable }),
      ...(quota === undefined ? {} : { quota_bytes: sizeOrNone(quota) }),
    });
    if (output.json) output.object(tenant);
    else {
      output.line("created tenant:");
      printTenant(output, tenant);
      output.line(`next: rempart admin enroll-token ${tenant.name} --expires 24h`);
    }
    return EXIT.ok;
  }
  if (group === "tenant" && action === "set-quota") {
    const name = argument(context, 2, "the tenant NAME");
    const tenant = await setTenantQuota(ctx, await actor(), name, {
      quota_bytes: sizeOrNone(argument(context, 3, "the SIZE (or none)")),
    });
    if (output.json) output.object(tenant);
    else printTenant(output, tenant);
    return EXIT.ok;
  }
  if (group === "key" && action === "add") {
    const name = argument(context, 2, "the tenant NAME");
    const file = requiredString(context, "file", "slot.json");
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (error) {
      throw new RempartError(
        "NotFound",
        `cannot read the key slot file ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
        { file },
      );
    }
    const added = await addKeySlot(ctx, await actor(), name, bytes);
    if (output.json) output.object(added);
    else
      output.line(
        added.outcome === "created"
          ? `added key slot ${added.name} to tenant ${name}`
          : `tenant ${name} already has key slot ${added.name}`,
      );
    return EXIT.ok;
  }
  if (group === "quarantine") {
    if (action === "list") {
      const quarantines = await listQuarantines(ctx, argument(context, 2, "the tenant NAME"));
      if (output.json) output.object(quarantines);
      else if (quarantines.length === 0) output.line("no quarantines");
      else for (const q of quarantines) printQuarantine(output, q);
      return EXIT.ok;
    }
    const agentId = requiredString(context, "agent", "AGENT_ID");
    if (action === "release") {
      const released = await releaseQuarantine(
        ctx,
        await actor(),
        argument(context, 2, "the tenant NAME"),
        agentId,
      );
      if (output.json) output.object(released);
      else
        output.line(
          `released quarantine #${released.id} of agent ${released.agent_id}: its uploads since ${day(released.since)} are shown again`,
        );
      return EXIT.ok;
    }
    const since = context.string("since");
    const quarantine = await quarantineAgent(
      ctx,
      await actor(),
      argument(context, 1, "the tenant NAME"),
      { agent_id: agentId, ...(since === undefined ? {} : { since: parseSince(since) }) },
    );
    if (output.json) output.object(quarantine);
    else {
      printQuarantine(output, quarantine);
      output.line(
        "nothing was deleted; to stop the machine too: rempart admin agent revoke AGENT_ID",
      );
    }
    return EXIT.ok;
  }
  if (group === "tenant" && action === "list") {
    const tenants = await listTenants(ctx);
    if (output.json) output.object(tenants);
    else if (tenants.length === 0) output.line("no tenants");
    else for (const tenant of tenants) printTenant(output, tenant);
    return EXIT.ok;
  }
  if (group === "tenant" && action === "show") {
    const details = await showTenant(ctx, argument(context, 2, "the tenant NAME"));
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
    printAgents(output, details.agents, now);
    if (details.deletion !== null) printDeletion(output, details.deletion);
    return EXIT.ok;
  }
  if (group === "tenant" && action === "delete") {
    const name = argument(context, 2, "the tenant NAME");
    const requestedBy = requiredString(context, "requested-by", "alice");
    const delay = context.string("delay");
    const scheduled = await requestTenantDeletion(ctx, await actor(), name, {
      requestedBy,
      delayMs: delay === undefined ? undefined : parseDuration(delay, "delay") * 1000,
    });
    if (output.json) {
      output.object(scheduled);
      return EXIT.ok;
    }
    const { deletion, plan } = scheduled;
    output.line(
      `tenant ${name} is now offboarding: its agents are refused and their credentials revoked (a new enrollment is needed even if the deletion is cancelled)`,
    );
    output.line(
      deletion.reason === "immutability"
        ? `its data will be deleted at ${day(deletion.due_at)} UTC, when the last snapshot's immutability window ends (the delay alone would end at ${day(plan.delay_ends_at)} UTC)`
        : `its data will be deleted at ${day(deletion.due_at)} UTC, at the end of the ${describeDelay(Date.parse(deletion.due_at) - Date.parse(deletion.requested_at))} delay${plan.immutable_until === null ? "" : ` (the last immutability window ends at ${day(plan.immutable_until)} UTC)`}`,
    );
    output.line(
      `requested by ${deletion.requested_by}; another admin can cancel it until then: rempart admin tenant cancel-delete ${name} --by OTHER_ADMIN`,
    );
    if (plan.held_snapshots > 0)
      output.warn(
        `warning: ${plan.held_snapshots} snapshot(s) are held; the deletion will not run until their holds are released`,
      );
    return EXIT.ok;
  }
  if (group === "tenant" && action === "cancel-delete") {
    const name = argument(context, 2, "the tenant NAME");
    const cancelled = await cancelTenantDeletion(
      ctx,
      await actor(),
      name,
      requiredString(context, "by", "bob"),
    );
    if (output.json) output.object(cancelled);
    else {
      output.line(
        `cancelled the deletion of ${name} requested by ${cancelled.deletion.requested_by}; the tenant is active again`,
      );
      output.line(
        `its agents stay revoked: enroll them again (rempart admin enroll-token ${name} --expires 24h)`,
      );
    }
    return EXIT.ok;
  }
  if (group === "run-deletions") {
    const dryRun = context.flag("dry-run");
    const job = () => actor().then((who) => runDeletions(ctx, { now, dryRun, actor: who.audit }));
    // One destructive job at a time per data directory: GC would recreate a store being removed.
    const reports = dryRun ? await job() : await withGcLock(dataDir, job);
    if (output.json)
      output.object(
        reports.map((r) => ({
          tenant: r.tenant,
          deletion_id: r.deletionId,
          due_at: r.dueAt.toISOString(),
          outcome: r.outcome,
          reason: r.reason,
          snapshots_deleted: r.snapshotsDeleted,
          store_removed: r.storeRemoved,
        })),
      );
    else if (reports.length === 0) output.line("no scheduled deletions");
    else for (const report of reports) printDeletionRun(output, report);
    return reports.some((r) => r.outcome === "blocked") ? EXIT.error : EXIT.ok;
  }
  if (group === "operator" && action === "add") {
    const username = argument(context, 2, "the USERNAME");
    const { operator, password } = await addOperator(
      ctx,
      await actor(),
      username,
      requiredString(context, "role", "admin"),
    );
    if (output.json) output.object({ ...operator, password });
    else {
      output.line(`created operator ${operator.username} (${operator.role}, id ${operator.id})`);
      output.line(`password (shown this once, only its hash is stored): ${password}`);
    }
    return EXIT.ok;
  }
  if (group === "operator" && action === "list") {
    const operators = await listOperators(ctx);
    if (output.json) output.object(operators);
    else
      for (const operator of operators)
        output.line(
          `${operator.username}  ${operator.role}${operator.disabled ? "  disabled" : ""}  (id ${operator.id}, created ${day(operator.created_at)})`,
        );
    return EXIT.ok;
  }
  if (group === "enroll-token") {
    const name = argument(context, 1, "the tenant NAME");
    const expires = context.string("expires");
    if (expires === undefined)
      throw new RempartError("InvalidArgument", "--expires is required (e.g. --expires 24h)");
    const answer = await createEnrollmentToken(ctx, await actor(), name, {
      expires_in_seconds: parseDuration(expires),
      scopes: context.flag("restore") ? ["backup", "restore"] : ["backup"],
    });
    const fingerprint = fingerprintIn(dataDir);
    if (output.json) output.object({ ...answer, tenant: name, fingerprint: fingerprint ?? null });
    else {
      output.line(`one-time enrollment token for ${name}, valid until ${answer.expires_at}:`);
      output.line(`  ${answer.token}`);
      output.line(
        `on the client: rempart agent enroll --server https://SERVER:8443 --token ${answer.token}${fingerprint ? ` --fingerprint ${fingerprint}` : ""}`,
      );
    }
    return EXIT.ok;
  }
  if (group === "agent" && action === "list") {
    const agents = await listAgents(ctx, argument(context, 2, "the tenant NAME"));
    if (output.json) output.object(agents);
    else printAgents(output, agents, now);
    return EXIT.ok;
  }
  if (group === "agent" && action === "revoke") {
    const agent = await revokeAgent(ctx, await actor(), argument(context, 2, "the AGENT_ID"));
    if (output.json) output.object(agent);
    else
      output.line(
        `revoked agent ${agent.id} (${agent.hostname}) at ${agent.revoked_at}: its next request is refused`,
      );
    return EXIT.ok;
  }
  if (group === "policy" && action === "show") {
    const view = await showPolicy(ctx, argument(context, 2, "the tenant NAME"));
    if (output.json) output.object(view);
    else printPolicy(output, view);
    return EXIT.ok;
  }
  if (group === "policy" && action === "set") {
    const name = argument(context, 2, "the tenant NAME");
    const view = await setPolicy(ctx, await actor(), name, context.string("agent") ?? null, {
      keepWithinDays: days(context, "keep-within"),
      keepDaily: wholeNumber(context, "keep-daily"),
      keepWeekly: wholeNumber(context, "keep-weekly"),
      keepMonthly: wholeNumber(context, "keep-monthly"),
      keepYearly: wholeNumber(context, "keep-yearly"),
      knownGoodAfterDays: days(context, "known-good-after"),
    });
    if (output.json) output.object(view);
    else printPolicy(output, view);
    return EXIT.ok;
  }
  if (group === "snapshot" && ["hold", "release", "mark-good"].includes(action ?? "")) {
    const snapshot = await changeSnapshot(
      ctx,
      await actor(),
      argument(context, 2, "the tenant NAME"),
      argument(context, 3, "the SNAPSHOT_ID_PREFIX"),
      action as SnapshotAction,
    );
    if (output.json) output.object(snapshot);
    else
      output.line(
        `snapshot ${snapshot.id}: ${snapshot.state}${snapshot.known_good ? ", known-good" : ""}, immutable until ${snapshot.immutable_until}`,
      );
    return EXIT.ok;
  }
  if (group === "prune") {
    const reports = await prune(ctx, await actor(), {
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
  }
  if (group === "gc") {
    const grace = context.string("grace");
    const graceMs = grace === undefined ? DEFAULT_GRACE_MS : parseDuration(grace, "grace") * 1000;
    const dryRun = context.flag("dry-run");
    const run = () =>
      actor().then((who) =>
        collectGarbage(ctx, who, { tenantName: context.string("tenant"), dryRun, graceMs }),
      );
    const reports = dryRun ? await run() : await withGcLock(dataDir, run);
    if (output.json)
      output.object(
        reports.map((r) => ({
          tenant: r.tenant.name,
          dry_run: r.dryRun,
          packs: r.packs,
          bytes: r.bytes,
          stray_files: r.strayFiles,
          stray_bytes: r.strayBytes,
          restored: r.restored,
        })),
      );
    else for (const report of reports) printGc(output, report);
    return EXIT.ok;
  }
  if (group === "audit") {
    const entries = await readAudit(ctx, {
      tenantName: context.string("tenant"),
      limit: wholeNumber(context, "limit"),
    });
    if (output.json) output.object(entries);
    else {
      const names = new Map((await listTenants(ctx)).map((t) => [t.id, t.name]));
      printAudit(output, entries, names);
    }
    return EXIT.ok;
  }
  throw new RempartError(
    "InvalidArgument",
    `unknown admin command ${JSON.stringify(context.positionals.join(" "))}\nusage: ${USAGE}`,
  );
}

export const adminCommand: Command = {
  name: "admin",
  summary:
    "manage the server's tenants, operators, agents, key slots, quarantines, retention, holds, prune, GC, deletions and audit log (on the server machine)",
  usage: USAGE,
  options,
  async run(context) {
    const dataDir = resolve(context.string("data") ?? "data");
    if (!existsSync(join(dataDir, "catalog.sqlite")))
      throw new RempartError(
        "NotFound",
        `there is no Rempart server data in ${dataDir}: start \`rempart server --data ${dataDir}\` once, or pass --data DIR`,
        { data: dataDir },
      );
    const data = await openDataDir(dataDir);
    try {
      const defaultQuota = context.string("default-quota");
      return await run(
        context,
        {
          catalog: data.catalog,
          stores: data.stores,
          now: () => new Date(),
          ...(defaultQuota === undefined ? {} : { defaultQuotaBytes: sizeOrNone(defaultQuota) }),
        },
        dataDir,
      );
    } finally {
      await data.catalog.close();
    }
  },
};
