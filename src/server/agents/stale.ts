/**
 * Agents not seen for a while: a machine switched off, uninstalled without revoking its
 * credential, or whose agent stopped running. Every request counts as being seen (watch.ts), so
 * an agent that backs up through `rempart backup` without `agent run` is not listed.
 */
import type { StaleAgent } from "../../protocol/api.js";
import { type AdminContext, agentView } from "../admin.js";

/** A week: a daily backup missed seven times over. */
export const DEFAULT_STALE_MS = 7 * 24 * 3_600_000;

/** Unrevoked agents of active tenants unseen for `unseenForMs`, longest unseen first. */
export async function listStaleAgents(
  ctx: Pick<AdminContext, "catalog" | "now">,
  unseenForMs: number,
): Promise<StaleAgent[]> {
  const cutoff = new Date(ctx.now().getTime() - unseenForMs);
  const agents = await ctx.catalog.listUnseenAgents(cutoff);
  const names = new Map((await ctx.catalog.listTenants()).map((t) => [t.id, t.name]));
  return agents.map((agent) => ({
    ...agentView(agent),
    tenant_name: names.get(agent.tenantId) ?? agent.tenantId,
  }));
}
