/**
 * Quarantine: the operator's answer to a compromised machine. Whoever holds one agent's
 * credential and the repository password can upload objects that make every restore of the
 * tenant stumble (junk indexes, key slots, snapshots). A quarantine hides everything that agent
 * uploaded since a time from every agent's listings and reads, and refuses commits that need
 * such packs, so the tenant's other machines restore as if those uploads had never happened.
 *
 * Nothing is deleted: retention, immutability and GC see the objects as before, and releasing
 * the quarantine shows them again. Both steps are audited in the catalog's own transaction.
 * Other machines that deduplicated against the agent's uploads lose those packs while it lasts:
 * `affected_snapshots` counts them, and `--since` at the time of the compromise spares them.
 */
import type { Quarantine } from "../../catalog/catalog.js";
import { RempartError } from "../../errors.js";
import { QuarantineRequest } from "../../protocol/api.js";
import { type AdminActor, type AdminContext, checked, tenantByName } from "../admin.js";

export interface QuarantineView {
  readonly id: number;
  readonly tenant_id: string;
  readonly agent_id: string;
  readonly hostname: string | null;
  /** Objects the agent uploaded at or after this time are hidden. */
  readonly since: string;
  readonly created_at: string;
  readonly released_at: string | null;
  readonly hidden_objects: number;
  readonly hidden_bytes: number;
  /** Snapshots of other agents that list a pack this hides. */
  readonly affected_snapshots: number;
}

function view(quarantine: Quarantine, hostname: string | null): QuarantineView {
  return {
    id: quarantine.id,
    tenant_id: quarantine.tenantId,
    agent_id: quarantine.agentId,
    hostname,
    since: quarantine.since.toISOString(),
    created_at: quarantine.createdAt.toISOString(),
    released_at: quarantine.releasedAt?.toISOString() ?? null,
    hidden_objects: quarantine.hidden.objects,
    hidden_bytes: quarantine.hidden.bytes,
    affected_snapshots: quarantine.affectedSnapshots,
  };
}

async function hostnameOf(ctx: AdminContext, agentId: string): Promise<string | null> {
  return (await ctx.catalog.getAgent(agentId))?.hostname ?? null;
}

/** The start of time: the default `since` hides everything the agent ever uploaded. */
const EVERYTHING = new Date(0);

export async function quarantineAgent(
  ctx: AdminContext,
  actor: AdminActor,
  tenantName: string,
  input: QuarantineRequest,
): Promise<QuarantineView> {
  const request = checked(QuarantineRequest.parse, input);
  const tenant = await tenantByName(ctx.catalog, tenantName);
  const since = request.since === undefined ? EVERYTHING : new Date(request.since);
  if (Number.isNaN(since.getTime()))
    throw new RempartError("InvalidArgument", `--since ${request.since} is not a valid time`);
  const quarantine = await ctx.catalog.quarantineAgent(
    tenant.id,
    request.agent_id,
    since,
    { actor: actor.audit, details: { operator_id: actor.operatorId } },
    ctx.now(),
  );
  return view(quarantine, await hostnameOf(ctx, quarantine.agentId));
}

export async function releaseQuarantine(
  ctx: AdminContext,
  actor: AdminActor,
  tenantName: string,
  agentId: string,
): Promise<QuarantineView> {
  const tenant = await tenantByName(ctx.catalog, tenantName);
  const released = await ctx.catalog.releaseQuarantine(
    tenant.id,
    agentId,
    { actor: actor.audit, details: { operator_id: actor.operatorId } },
    ctx.now(),
  );
  return view(released, await hostnameOf(ctx, agentId));
}

/** Every quarantine of the tenant, released ones included, oldest first. */
export async function listQuarantines(
  ctx: AdminContext,
  tenantName: string,
): Promise<QuarantineView[]> {
  const tenant = await tenantByName(ctx.catalog, tenantName);
  const [quarantines, agents] = await Promise.all([
    ctx.catalog.listQuarantines(tenant.id),
    ctx.catalog.listAgents(tenant.id),
  ]);
  const names = new Map(agents.map((a) => [a.id, a.hostname]));
  return quarantines.map((q) => view(q, names.get(q.agentId) ?? null));
}
