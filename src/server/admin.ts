/**
 * What operators do to tenants and agents, in one place for both doors: the operator routes of
 * the server and `rempart admin` on the server machine (which opens the data directory itself).
 * Every change appends an audit entry. Answers are plain JSON-ready views in the wire's
 * snake_case, without any secret or secret hash.
 */
import type {
  Agent,
  AuditActor,
  AuditEntry,
  Catalog,
  KindUsage,
  Tenant,
  TenantStatus,
} from "../catalog/catalog.js";
import { MAX_PAGE } from "../catalog/catalog.js";
import { RempartError } from "../errors.js";
import {
  type EnrollTokenRequest,
  type EnrollTokenResponse,
  parseEnrollTokenRequest,
  parseTenantRequest,
  type TenantRequest,
  ValidationError,
} from "../protocol/api.js";
import type { ObjectKind } from "../storage/object-store.js";
import type { TenantStores } from "./tenant-stores.js";
import { newToken } from "./tokens.js";

export interface AdminContext {
  readonly catalog: Catalog;
  readonly stores: TenantStores;
  readonly now: () => Date;
}

/** Who acts: recorded in the audit log; `operatorId` issues enrollment tokens. */
export interface AdminActor {
  readonly audit: AuditActor;
  readonly operatorId: string;
}

export interface TenantView {
  readonly id: string;
  readonly name: string;
  readonly status: TenantStatus;
  readonly created_at: string;
  readonly retention_days: number;
  readonly immutable_days: number;
  readonly quota_bytes: number | null;
}

export interface TenantDetails extends TenantView {
  readonly usage: {
    readonly stored_bytes: number;
    readonly object_count: number;
    readonly by_kind: Readonly<Record<ObjectKind, KindUsage>>;
  };
  readonly snapshots: {
    readonly active: number;
    readonly held: number;
    readonly deleted: number;
    readonly last_committed_at: string | null;
  };
  readonly agents: readonly AgentView[];
}

export interface AgentView {
  readonly id: string;
  readonly tenant_id: string;
  readonly hostname: string;
  readonly scopes: readonly string[];
  readonly created_at: string;
  readonly expires_at: string;
  readonly revoked_at: string | null;
  readonly last_seen_at: string | null;
  readonly version: string | null;
  readonly last_backup_at: string | null;
  readonly last_backup_status: string | null;
  readonly last_error: string | null;
}

export interface AuditView {
  readonly id: number;
  readonly at: string;
  readonly actor: AuditActor;
  readonly action: string;
  readonly tenant_id: string | null;
  readonly details: Readonly<Record<string, unknown>>;
}

export const DEFAULT_AUDIT_LIMIT = 100;

const iso = (date: Date | null): string | null => date?.toISOString() ?? null;

export function tenantView(tenant: Tenant): TenantView {
  return {
    id: tenant.id,
    name: tenant.name,
    status: tenant.status,
    created_at: tenant.createdAt.toISOString(),
    retention_days: tenant.retentionDays,
    immutable_days: tenant.immutableDays,
    quota_bytes: tenant.quotaBytes,
  };
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
function checked<T>(parse: (value: unknown) => T, value: unknown): T {
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
  const request = checked(parseTenantRequest, input);
  const now = ctx.now();
  const tenant = await ctx.catalog.createTenant(
    {
      name: request.name,
      retentionDays: request.retention_days,
      ...(request.immutable_days === undefined ? {} : { immutableDays: request.immutable_days }),
      ...(request.quota_bytes === undefined ? {} : { quotaBytes: request.quota_bytes }),
    },
    now,
  );
  // The store now rather than at the first upload, so a full or read-only disk shows at once.
  await ctx.stores.get(tenant.id);
  const view = tenantView(tenant);
  await ctx.catalog.appendAudit(
    { actor: actor.audit, action: "tenant.create", tenantId: tenant.id, details: { ...view } },
    now,
  );
  return view;
}

export async function listTenants(ctx: AdminContext): Promise<TenantView[]> {
  return (await ctx.catalog.listTenants()).map(tenantView);
}

export async function showTenant(ctx: AdminContext, name: string): Promise<TenantDetails> {
  const tenant = await tenantByName(ctx.catalog, name);
  const [usage, snapshots, agents] = await Promise.all([
    ctx.catalog.objectUsage(tenant.id),
    ctx.catalog.listSnapshots(tenant.id),
    ctx.catalog.listAgents(tenant.id),
  ]);
  const count = (state: string) => snapshots.filter((s) => s.state === state).length;
  return {
    ...tenantView(tenant),
    usage: {
      stored_bytes: usage.totalBytes,
      object_count: usage.totalCount,
      by_kind: usage.byKind,
    },
    snapshots: {
      active: count("active"),
      held: count("held"),
      deleted: count("deleted"),
      last_committed_at: iso(snapshots.at(-1)?.committedAt ?? null),
    },
    agents: agents.map(agentView),
  };
}

export async function createEnrollmentToken(
  ctx: AdminContext,
  actor: AdminActor,
  tenantName: string,
  input: EnrollTokenRequest,
): Promise<EnrollTokenResponse> {
  const request = checked(parseEnrollTokenRequest, input);
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
