/**
 * Adding a key slot to a tenant's repository, an operator's act once the repository exists
 * (agents may add slots only while their enrollment creates it: key-slot-admission.ts). The slot
 * is validated as readers validate it; it is stored write-once under the SHA-256 of its bytes,
 * recorded with no uploading agent, and audited.
 */
import { createHash } from "node:crypto";
import { RempartError } from "../errors.js";
import type { KeySlotResponse } from "../protocol/api.js";
import { type AdminActor, type AdminContext, tenantByName } from "./admin.js";
import { keySlotProblem } from "./key-slot-admission.js";

export async function addKeySlot(
  ctx: AdminContext,
  actor: AdminActor,
  tenantName: string,
  bytes: Uint8Array,
): Promise<KeySlotResponse> {
  const tenant = await tenantByName(ctx.catalog, tenantName);
  if (tenant.status !== "active")
    throw new RempartError("InvalidArgument", `tenant ${tenant.name} is ${tenant.status}`, {
      reason: "tenant-inactive",
    });
  const { slot, problem } = keySlotProblem(bytes, "operator");
  if (slot === undefined)
    throw new RempartError("InvalidArgument", `not a key slot Rempart accepts: ${problem}`, {
      reason: "not-a-key-slot",
    });
  const name = createHash("sha256").update(bytes).digest("hex");
  const ref = { kind: "keys", name } as const;
  const store = await ctx.stores.get(tenant.id);
  const stored = await store.put(ref, bytes);
  const now = ctx.now();
  const recorded = await ctx.catalog.recordObject(
    { tenantId: tenant.id, kind: "keys", name, size: bytes.length, createdByAgent: null },
    now,
  );
  const outcome = stored === "created" || recorded === "created" ? "created" : "exists";
  await ctx.catalog.appendAudit(
    {
      actor: actor.audit,
      action: "key.add",
      tenantId: tenant.id,
      details: {
        tenant: tenant.name,
        name,
        slot_kind: slot.kind,
        label: slot.label,
        outcome,
        operator_id: actor.operatorId,
      },
    },
    now,
  );
  return { name, outcome };
}
