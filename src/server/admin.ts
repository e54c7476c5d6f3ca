/**
 * What operators do to tenants and agents, in one place for both doors: the operator routes of
 * the server and `rempart admin` on the server machine (which opens the data directory itself).
 * Every change appends an audit entry. Answers are plain JSON-ready views in the wire's
 * snake_case, without any secret or secret hash.
 */

import { randomBytes } from "node:crypto";
import type {
  Agent,
  AuditActor,
  AuditEntry,
  Catalog,
  Operator,
  OperatorRole,
  PolicyRecord,
  RetentionRules,
  SnapshotRecord,
  Tenant,
} from "../catalog/catalog.js";
import { MAX_PAGE } from "../catalog/catalog.js";
import { checkRole, checkUsername } from "../catalog/validation.js";
import { RempartError } from "../errors.js";
import {
  type Agent as AgentAnswer,
  type AuditEntry as AuditAnswer,
  EnrollTokenRequest,
  type EnrollTokenResponse,
  QuotaRequest,
  type Tenant as TenantAnswer,
  type TenantDetails as TenantDetailsAnswer,
  TenantRequest,
  ValidationError,
} from "../protocol/api.js";
import type { TenantStoreSet } from "../storage/tenant-store-set.js";
import { collectTenant, type GcReport } from "./gc/gc.js";
import { currentDeletion } from "./offboarding/view.js";
import { hashPassword } from "./passwords.js";
import { DEFAULT_TENANT_QUOTA } from "./quota.js";
import { type EffectivePolicy, effectivePolicy } from "./retention/effective.js";
import { type PruneReport, pruneTenant } from "./retention/prune.js";
import { newToken } from "./tokens.js";

export interface AdminContext {
  readonly catalog: Catalog;
  readonly stores: TenantStoreSet;
  readonly now: () => Date;
  /** Quota of tenants created without one; null: unlimited; default `DEFAULT_TENANT_QUOTA`. */
  readonly defaultQuotaBytes?: number | null | undefined;
}

/** Who acts: recorded in the audit log; `operatorId` issues enrollment tokens. */
export interface AdminActor {
  readonly audit: AuditActor;
  readonly operatorId: string;
}

/** The answers' shapes are the wire's (src/protocol/messages.ts); `rempart admin --json` prints them too. */
export type TenantView = TenantAnswer;
export type TenantDetails = TenantDetailsAnswer;
export type AgentView = AgentAnswer;
export type AuditView = AuditAnswer;

export const DEFAULT_AUDIT_LIMIT = 100;

const iso = (date: Date | null): string | null => date?.toISOString() ?? null;

/** `openAlerts`: the tenant's open alerts (neither acknowledged nor resolved), which make it red. */
export function tenantView(tenant: Tenant, openAlerts: number): TenantView {
  return {
    id: tenant.id,
    name: tenant.name,
    status: tenant.status,
    created_at: tenant.createdAt.toISOString(),
    retention_days: tenant.retentionDays,
    immutable_days: tenant.immutableDays,
    quota_bytes: tenant.quotaBytes,
    rpo_seconds: tenant.rpoSeconds,
    alert_state: openAlerts > 0 ? "red" : "green",
    open_alerts: openAlerts,
  };
}

async function openAlertsOf(catalog: Catalog, tenantId: string): Promise<number> {
  return (await catalog.openAlertCounts()).get(tenantId) ?? 0;
}

export function agentView(agent: Agent): AgentView {
  return {
    id: agent.id,
    tenant_id: agent.tenantId,
    hostname: agent.hostname,
    scopes: agent.scopes,
    created_at: agent.createdAt.toISOString(),
    expires_at: agent.expiresAt.toISOString(),
    revoked_at: iso(agent.revokedAt),
    last_seen_at: iso(agent.lastSeenAt),
    version: agent.version,
    last_backup_at: iso(agent.lastBackupAt),
    last_backup_status: agent.lastBackupStatus,
    last_error: agent.lastError,
    last_backup_snapshot_id: agent.lastBackupSnapshotId,
    last_backup_verified: agent.lastBackupVerified,
    last_host: agent.lastHost,
    last_address: agent.lastAddress,
  };
}

export function auditView(entry: AuditEntry): AuditView {
  return {
    id: entry.id,
    at: entry.at.toISOString(),
    actor: entry.actor,
    action: entry.action,
    tenant_id: entry.tenantId,
    details: entry.details,
  };
}

/** The wire parsers, for input that did not come over the wire: refusals become InvalidArgument. */
export function checked<T>(parse: (value: unknown) => T, value: unknown): T {
  try {
    return parse(value);
  } catch (error) {
    if (error instanceof ValidationError) throw new RempartError("InvalidArgument", error.message);
    throw error;
  }
}

export async function tenantByName(catalog: Catalog, name: string): Promise<Tenant> {
  const tenant = await catalog.getTenantByName(name);
  if (tenant === undefined)
    throw new RempartError("NotFound", `there is no tenant named ${JSON.stringify(name)}`, {
      name,
    });
  return tenant;
}

export async function createTenant(
  ctx: AdminContext,
  actor: AdminActor,
  input: TenantRequest,
): Promise<TenantView> {
  const request = checked(TenantRequest.parse, input);
  const now = ctx.now();
  const tenant = await ctx.catalog.createTenant(
    {
      name: request.name,
      retentionDays: request.retention_days,
      ...(request.immutable_days === undefined ? {} : { immutableDays: request.immutable_days }),
      // No quota given is the default quota, never "unlimited": that must be asked for (null).
      quotaBytes:
        request.quota_bytes === undefined
          ? ctx.defaultQuotaBytes === undefined
            ? DEFAULT_TENANT_QUOTA
            : ctx.defaultQuotaBytes
          : request.quota_bytes,
      ...(request.rpo_seconds === undefined ? {} : { rpoSeconds: request.rpo_seconds }),
    },
    now,
  );
  // The store now rather than at the first upload, so a full or read-only disk shows at once.
  await ctx.stores.get(tenant.id);
  const view = tenantView(tenant, 0);
  await ctx.catalog.appendAudit(
    { actor: actor.audit, action: "tenant.create", tenantId: tenant.id, details: { ...view } },
    now,
  );
  return view;
}

/** Sets a tenant's quota (null: unlimited); audited with the old and new value. */
export async function setTenantQuota(
  ctx: AdminContext,
  actor: AdminActor,
  tenantName: string,
  input: QuotaRequest,
): Promise<TenantView> {
  const request = checked(QuotaRequest.parse, input);
  const tenant = await tenantByName(ctx.catalog, tenantName);
  const now = ctx.now();
  const updated = await ctx.catalog.updateTenant(tenant.id, { quotaBytes: request.quota_bytes });
  await ctx.catalog.appendAudit(
    {
      actor: actor.audit,
      action: "tenant.quota.set",
      tenantId: tenant.id,
      details: { tenant: tenant.name, from: tenant.quotaBytes, to: updated.quotaBytes },
    },
    now,
  );
  return tenantView(updated, await openAlertsOf(ctx.catalog, tenant.id));
}

export async function listTenants(ctx: AdminContext): Promise<TenantView[]> {
  const [tenants, open] = await Promise.all([
    ctx.catalog.listTenants(),
    ctx.catalog.openAlertCounts(),
  ]);
  return tenants.map((tenant) => tenantView(tenant, open.get(tenant.id) ?? 0));
}

export async function showTenant(ctx: AdminContext, name: string): Promise<TenantDetails> {
  const tenant = await tenantByName(ctx.catalog, name);
  const [usage, snapshots, agents, reclaimable, deletion, openAlerts] = await Promise.all([
    ctx.catalog.objectUsage(tenant.id),
    ctx.catalog.listSnapshots(tenant.id),
    ctx.catalog.listAgents(tenant.id),
    // Strictly before the far future: every unreferenced pack, whatever its age.
    ctx.catalog.unreferencedPackUsage(tenant.id, new Date(8.64e15)),
    currentDeletion(ctx.catalog, tenant.id),
    openAlertsOf(ctx.catalog, tenant.id),
  ]);
  const count = (state: string) => snapshots.filter((s) => s.state === state).length;
  const logicalBytes = snapshots
    .filter((s) => s.state !== "deleted")
    .reduce((sum, s) => sum + (s.logicalBytes ?? 0), 0);
  return {
    ...tenantView(tenant, openAlerts),
    usage: {
      stored_bytes: usage.totalBytes,
      object_count: usage.totalCount,
      by_kind: usage.byKind,
    },
    snapshots: {
      active: count("active"),
      held: count("held"),
      deleted: count("deleted"),
      known_good: snapshots.filter((s) => s.knownGood && s.state !== "deleted").length,
      last_committed_at: iso(snapshots.at(-1)?.committedAt ?? null),
    },
    reclaimable: { packs: reclaimable.count, bytes: reclaimable.bytes },
    logical: {
      bytes: logicalBytes,
      dedup_ratio: usage.totalBytes > 0 ? logicalBytes / usage.totalBytes : null,
    },
    agents: agents.map(agentView),
    deletion,
  };
}

export interface OperatorView {
  readonly id: string;
  readonly username: string;
  readonly role: OperatorRole;
  readonly created_at: string;
  readonly disabled: boolean;
  /** Whether logins need a TOTP code (a pending enrolment does not count). */
  readonly totp: boolean;
}

export function operatorView(operator: Operator): OperatorView {
  return {
    id: operator.id,
    username: operator.username,
    role: operator.role,
    created_at: operator.createdAt.toISOString(),
    disabled: operator.disabled,
    totp: operator.totp !== null,
  };
}

export async function listOperators(ctx: AdminContext): Promise<OperatorView[]> {
  return (await ctx.catalog.listOperators()).map(operatorView);
}

/**
 * A new operator with a random password, answered this once: only its scrypt hash is stored.
 * They log in with it (and should change it); deletions name them for the two-person rule.
 */
export async function addOperator(
  ctx: AdminContext,
  actor: AdminActor,
  username: string,
  role: string,
): Promise<{ readonly operator: OperatorView; readonly password: string }> {
  const name = checkUsername(username);
  const checkedRole = checkRole(role);
  const password = randomBytes(18).toString("base64url");
  const now = ctx.now();
  const operator = await ctx.catalog.createOperator(
    { username: name, passwordHash: await hashPassword(password), role: checkedRole },
    now,
  );
  await ctx.catalog.appendAudit(
    {
      actor: actor.audit,
      action: "operator.create",
      tenantId: null,
      details: { operator_id: operator.id, username: name, role: checkedRole },
    },
    now,
  );
  return { operator: operatorView(operator), password };
}

export async function createEnrollmentToken(
  ctx: AdminContext,
  actor: AdminActor,
  tenantName: string,
  input: EnrollTokenRequest,
): Promise<EnrollTokenResponse> {
  const request = checked(EnrollTokenRequest.parse, input);
  const tenant = await tenantByName(ctx.catalog, tenantName);
  const now = ctx.now();
  const { token, hash } = newToken("enroll");
  const created = await ctx.catalog.createEnrollmentToken(
    {
      tokenHash: hash,
      tenantId: tenant.id,
      createdBy: actor.operatorId,
      expiresAt: new Date(now.getTime() + request.expires_in_seconds * 1000),
      scopes: ["backup", ...(request.scopes ?? [])],
    },
    now,
  );
  const expiresAt = created.expiresAt.toISOString();
  await ctx.catalog.appendAudit(
    {
      actor: actor.audit,
      action: "enroll-token.create",
      tenantId: tenant.id,
      // The first characters of the hash identify the token in the log without revealing it.
      details: { token_hash: hash.slice(0, 12), expires_at: expiresAt, scopes: created.scopes },
    },
    now,
  );
  return { token, expires_at: expiresAt };
}

export async function listAgents(ctx: AdminContext, tenantName: string): Promise<AgentView[]> {
  const tenant = await tenantByName(ctx.catalog, tenantName);
  return (await ctx.catalog.listAgents(tenant.id)).map(agentView);
}

/** Revoking takes effect at the agent's next request; revoking twice keeps the first time. */
export async function revokeAgent(
  ctx: AdminContext,
  actor: AdminActor,
  agentId: string,
): Promise<AgentView> {
  const now = ctx.now();
  const before = await ctx.catalog.getAgent(agentId);
  if (before === undefined)
    throw new RempartError("NotFound", `there is no agent ${JSON.stringify(agentId)}`, {
      id: agentId,
    });
  await ctx.catalog.revokeAgent(agentId, now);
  const after = (await ctx.catalog.getAgent(agentId)) ?? before;
  await ctx.catalog.appendAudit(
    {
      actor: actor.audit,
      action: "agent.revoke",
      tenantId: after.tenantId,
      details: { agent_id: agentId, hostname: after.hostname, already: before.revokedAt !== null },
    },
    now,
  );
  return agentView(after);
}

export interface AuditFilter {
  readonly tenantName?: string | undefined;
  readonly limit?: number | undefined;
  /** Entries older than this id: the cursor for the next page. */
  readonly beforeId?: number | undefined;
}

/** Newest first. */
export async function readAudit(ctx: AdminContext, filter: AuditFilter): Promise<AuditView[]> {
  const limit = filter.limit ?? DEFAULT_AUDIT_LIMIT;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PAGE)
    throw new RempartError(
      "InvalidArgument",
      `the limit must be a whole number from 1 to ${MAX_PAGE}`,
    );
  const tenant =
    filter.tenantName === undefined
      ? undefined
      : await tenantByName(ctx.catalog, filter.tenantName);
  const entries = await ctx.catalog.listAudit({
    limit,
    ...(tenant ? { tenantId: tenant.id } : {}),
    ...(filter.beforeId === undefined ? {} : { beforeId: filter.beforeId }),
  });
  return entries.map(auditView);
}

export interface RulesView {
  readonly keep_within_days: number;
  readonly keep_daily: number;
  readonly keep_weekly: number;
  readonly keep_monthly: number;
  readonly keep_yearly: number;
  readonly known_good_after_days: number;
}

export interface PolicyView {
  readonly tenant: string;
  /** The tenant's own policy, or its default from retention_days when none is set. */
  readonly tenant_policy: RulesView & { readonly source: "tenant" | "default" };
  readonly agent_overrides: readonly (RulesView & {
    readonly agent_id: string;
    readonly hostname: string | null;
    readonly updated_at: string;
  })[];
}

export function rulesView(rules: RetentionRules): RulesView {
  return {
    keep_within_days: rules.keepWithinDays,
    keep_daily: rules.keepDaily,
    keep_weekly: rules.keepWeekly,
    keep_monthly: rules.keepMonthly,
    keep_yearly: rules.keepYearly,
    known_good_after_days: rules.knownGoodAfterDays,
  };
}

export async function showPolicy(ctx: AdminContext, tenantName: string): Promise<PolicyView> {
  const tenant = await tenantByName(ctx.catalog, tenantName);
  const [policies, agents] = await Promise.all([
    ctx.catalog.listRetentionPolicies(tenant.id),
    ctx.catalog.listAgents(tenant.id),
  ]);
  const base = effectivePolicy(tenant, policies, null);
  return {
    tenant: tenant.name,
    tenant_policy: {
      ...rulesView(base.rules),
      source: base.source === "tenant" ? "tenant" : "default",
    },
    agent_overrides: policies
      .filter((p): p is PolicyRecord & { agentId: string } => p.agentId !== null)
      .map((p) => ({
        agent_id: p.agentId,
        hostname: agents.find((a) => a.id === p.agentId)?.hostname ?? null,
        ...rulesView(p.rules),
        updated_at: p.updatedAt.toISOString(),
      })),
  };
}

/**
 * Sets the tenant's policy, or an agent's override with `agentId`. Fields not given keep their
 * value at that level (for a new override: the tenant's effective policy).
 */
export async function setPolicy(
  ctx: AdminContext,
  actor: AdminActor,
  tenantName: string,
  agentId: string | null,
  changes: Partial<RetentionRules>,
): Promise<PolicyView> {
  const tenant = await tenantByName(ctx.catalog, tenantName);
  const policies = await ctx.catalog.listRetentionPolicies(tenant.id);
  const current: EffectivePolicy = effectivePolicy(tenant, policies, agentId);
  const defined = Object.fromEntries(
    Object.entries(changes).filter(([, value]) => value !== undefined),
  ) as Partial<RetentionRules>;
  const rules: RetentionRules = { ...current.rules, ...defined };
  const now = ctx.now();
  await ctx.catalog.setRetentionPolicy(tenant.id, agentId, rules, now);
  await ctx.catalog.appendAudit(
    {
      actor: actor.audit,
      action: "retention.policy.set",
      tenantId: tenant.id,
      details: { agent_id: agentId, ...rulesView(rules), previous: rulesView(current.rules) },
    },
    now,
  );
  return showPolicy(ctx, tenantName);
}

export interface SnapshotView {
  readonly id: string;
  readonly agent_id: string;
  readonly committed_at: string;
  readonly claimed_time: string;
  readonly immutable_until: string;
  readonly state: string;
  readonly known_good: boolean;
}

export function snapshotView(snapshot: SnapshotRecord): SnapshotView {
  return {
    id: snapshot.id,
    agent_id: snapshot.agentId,
    committed_at: snapshot.committedAt.toISOString(),
    claimed_time: snapshot.claimedTime.toISOString(),
    immutable_until: snapshot.immutableUntil.toISOString(),
    state: snapshot.state,
    known_good: snapshot.knownGood,
  };
}

/** The tenant's one snapshot whose id starts with `prefix` (at least 4 hex digits). */
async function snapshotByPrefix(
  ctx: AdminContext,
  tenant: Tenant,
  prefix: string,
): Promise<SnapshotRecord> {
  if (!/^[0-9a-f]{4,64}$/.test(prefix))
    throw new RempartError(
      "InvalidArgument",
      `${JSON.stringify(prefix)} is not a snapshot id prefix: give at least 4 lowercase hex digits`,
    );
  const matches = (await ctx.catalog.listSnapshots(tenant.id)).filter((s) =>
    s.id.startsWith(prefix),
  );
  const [only] = matches;
  if (only === undefined)
    throw new RempartError("NotFound", `tenant ${tenant.name} has no snapshot ${prefix}…`, {
      prefix,
    });
  if (matches.length > 1)
    throw new RempartError(
      "InvalidArgument",
      `${matches.length} snapshots of ${tenant.name} start with ${prefix}: give more digits`,
      { prefix, matches: matches.length },
    );
  return only;
}

export type SnapshotAction = "hold" | "release" | "mark-good";

/**
 * Holds a snapshot (no policy removes it until released), releases a hold, or marks it
 * known-good. Releasing lifts a protection, so it needs an operator with the role `admin` (the
 * admin CLI acts as the `admin` operator); every action is audited.
 */
export async function changeSnapshot(
  ctx: AdminContext,
  actor: AdminActor,
  tenantName: string,
  prefix: string,
  action: SnapshotAction,
): Promise<SnapshotView> {
  const tenant = await tenantByName(ctx.catalog, tenantName);
  const snapshot = await snapshotByPrefix(ctx, tenant, prefix);
  if (action === "release") {
    const operator = await ctx.catalog.getOperator(actor.operatorId);
    if (operator?.role !== "admin" || operator.disabled)
      throw new RempartError(
        "InvalidArgument",
        "releasing a hold needs an operator with the role admin",
        { reason: "not-admin" },
      );
  }
  const now = ctx.now();
  const after =
    action === "mark-good"
      ? await ctx.catalog.markSnapshotKnownGood(tenant.id, snapshot.id)
      : await ctx.catalog.setSnapshotState(
          tenant.id,
          snapshot.id,
          action === "hold" ? "held" : "active",
          now,
        );
  await ctx.catalog.appendAudit(
    {
      actor: actor.audit,
      action: {
        hold: "snapshot.hold",
        release: "snapshot.hold.release",
        "mark-good": "snapshot.known-good",
      }[action],
      tenantId: tenant.id,
      details: {
        snapshot_id: snapshot.id,
        operator_id: actor.operatorId,
        from: snapshot.state,
        to: after.state,
      },
    },
    now,
  );
  return snapshotView(after);
}

/** The tenants a job covers: the one named, or every tenant not yet deleted. */
async function jobTenants(ctx: AdminContext, tenantName: string | undefined): Promise<Tenant[]> {
  if (tenantName !== undefined) return [await tenantByName(ctx.catalog, tenantName)];
  return (await ctx.catalog.listTenants()).filter((t) => t.status !== "deleted");
}

export async function prune(
  ctx: AdminContext,
  actor: AdminActor,
  options: { tenantName?: string | undefined; dryRun: boolean },
): Promise<PruneReport[]> {
  const now = ctx.now();
  const reports: PruneReport[] = [];
  for (const tenant of await jobTenants(ctx, options.tenantName))
    reports.push(
      await pruneTenant(ctx, tenant, { now, dryRun: options.dryRun, actor: actor.audit }),
    );
  return reports;
}

export async function collectGarbage(
  ctx: AdminContext,
  actor: AdminActor,
  options: { tenantName?: string | undefined; dryRun: boolean; graceMs: number },
): Promise<GcReport[]> {
  const now = ctx.now();
  const reports: GcReport[] = [];
  for (const tenant of await jobTenants(ctx, options.tenantName))
    reports.push(
      await collectTenant(ctx, tenant, {
        now,
        graceMs: options.graceMs,
        dryRun: options.dryRun,
        actor: actor.audit,
      }),
    );
  return reports;
}
