/** A client's recovery point objective, which coverage measures backup ages against. */
import { RpoRequest } from "../../protocol/api.js";
import {
  type AdminActor,
  type AdminContext,
  checked,
  type TenantView,
  tenantByName,
  tenantView,
} from "../admin.js";

/** Sets a tenant's RPO; audited as `tenant.rpo.set` with the old and new value. */
export async function setTenantRpo(
  ctx: AdminContext,
  actor: AdminActor,
  tenantName: string,
  input: RpoRequest,
): Promise<TenantView> {
  const request = checked(RpoRequest.parse, input);
  const tenant = await tenantByName(ctx.catalog, tenantName);
  const now = ctx.now();
  const updated = await ctx.catalog.updateTenant(tenant.id, { rpoSeconds: request.rpo_seconds });
  await ctx.catalog.appendAudit(
    {
      actor: actor.audit,
      action: "tenant.rpo.set",
      tenantId: tenant.id,
      details: { tenant: tenant.name, from: tenant.rpoSeconds, to: updated.rpoSeconds },
    },
    now,
  );
  return tenantView(updated, (await ctx.catalog.openAlertCounts()).get(tenant.id) ?? 0);
}
