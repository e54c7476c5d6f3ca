/**
 * Which policy applies to an agent's series: its own override, else the tenant's policy, else
 * the tenant's `retentionDays` as a plain keep-within (what `tenant create --retention-days`
 * promised before policies existed).
 */
import type { PolicyRecord, RetentionRules, Tenant } from "../../catalog/catalog.js";

export type PolicySource = "agent" | "tenant" | "default";

export interface EffectivePolicy {
  readonly rules: RetentionRules;
  readonly source: PolicySource;
}

export function defaultRules(tenant: Tenant): RetentionRules {
  return {
    keepWithinDays: tenant.retentionDays,
    keepDaily: 0,
    keepWeekly: 0,
    keepMonthly: 0,
    keepYearly: 0,
    knownGoodAfterDays: 0,
  };
}

export function effectivePolicy(
  tenant: Tenant,
  policies: readonly PolicyRecord[],
  agentId: string | null,
): EffectivePolicy {
  const own = agentId === null ? undefined : policies.find((p) => p.agentId === agentId);
  if (own !== undefined) return { rules: own.rules, source: "agent" };
  const tenantWide = policies.find((p) => p.agentId === null);
  if (tenantWide !== undefined) return { rules: tenantWide.rules, source: "tenant" };
  return { rules: defaultRules(tenant), source: "default" };
}
