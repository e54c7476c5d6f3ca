/**
 * Alert destinations and deliveries as operators manage and see them (`rempart admin alerts
 * destination …`, `admin alerts deliveries`). A destination's secret goes in and never comes back
 * out: not in listings, not in the audit log.
 */
import type { AlertDestination, Delivery, DeliveryState } from "../../catalog/delivery.js";
import { RempartError } from "../../errors.js";
import { type AdminActor, type AdminContext, tenantByName } from "../admin.js";

export interface DestinationView {
  readonly id: string;
  /** null: every tenant's alerts. */
  readonly tenant: string | null;
  readonly kind: AlertDestination["kind"];
  readonly target: string;
  readonly origin: AlertDestination["origin"];
  readonly created_at: string;
}

export interface DeliveryView {
  readonly id: number;
  readonly alert_id: number;
  /** `raise`, or `resolve` for the notice that the system resolved the alert. */
  readonly event: Delivery["event"];
  readonly tenant: string;
  readonly destination_id: string;
  readonly kind: Delivery["kind"];
  readonly target: string;
  readonly state: DeliveryState;
  readonly attempts: number;
  readonly next_attempt_at: string | null;
  readonly last_error: string | null;
  readonly delivered_at: string | null;
  readonly failed_at: string | null;
}

export const MAX_DELIVERIES_LISTED = 1000;

/** Exactly one of `webhook` (with `secret`) and `email`. */
export interface DestinationRequest {
  readonly tenantName?: string | undefined;
  readonly webhook?: string | undefined;
  readonly secret?: string | undefined;
  readonly email?: string | undefined;
}

async function tenantNames(ctx: AdminContext): Promise<Map<string, string>> {
  return new Map((await ctx.catalog.listTenants()).map((t) => [t.id, t.name]));
}

function destinationView(names: Map<string, string>, d: AlertDestination): DestinationView {
  return {
    id: d.id,
    tenant: d.tenantId === null ? null : (names.get(d.tenantId) ?? d.tenantId),
    kind: d.kind,
    target: d.target,
    origin: d.origin,
    created_at: d.createdAt.toISOString(),
  };
}

const iso = (date: Date | null) => date?.toISOString() ?? null;

export async function addDestination(
  ctx: AdminContext,
  actor: AdminActor,
  request: DestinationRequest,
): Promise<DestinationView> {
  if ((request.webhook === undefined) === (request.email === undefined))
    throw new RempartError("InvalidArgument", "give either --webhook URL or --email ADDRESS");
  if (request.webhook !== undefined && request.secret === undefined)
    throw new RempartError(
      "InvalidArgument",
      "a webhook needs --secret-file FILE: the key its requests are signed with",
    );
  const tenant =
    request.tenantName === undefined
      ? undefined
      : await tenantByName(ctx.catalog, request.tenantName);
  const destination = await ctx.catalog.addAlertDestination(
    request.webhook !== undefined
      ? {
          tenantId: tenant?.id ?? null,
          kind: "webhook",
          target: request.webhook,
          secret: request.secret ?? null,
        }
      : {
          tenantId: tenant?.id ?? null,
          kind: "email",
          target: request.email ?? "",
          secret: null,
        },
    { actor: actor.audit, details: { operator_id: actor.operatorId } },
    ctx.now(),
  );
  return destinationView(await tenantNames(ctx), destination);
}

/** With a tenant: its own destinations and those for every tenant, which its alerts reach too. */
export async function listDestinations(
  ctx: AdminContext,
  tenantName: string | undefined,
): Promise<DestinationView[]> {
  const tenant = tenantName === undefined ? undefined : await tenantByName(ctx.catalog, tenantName);
  const list = await ctx.catalog.listAlertDestinations(
    tenant === undefined ? {} : { tenantId: tenant.id },
  );
  const names = await tenantNames(ctx);
  return list.map((d) => destinationView(names, d));
}

export async function removeDestination(
  ctx: AdminContext,
  actor: AdminActor,
  id: string,
): Promise<DestinationView> {
  const removed = await ctx.catalog.removeAlertDestination(
    id,
    { actor: actor.audit, details: { operator_id: actor.operatorId } },
    ctx.now(),
  );
  return destinationView(await tenantNames(ctx), removed);
}

/** Newest first, at most `MAX_DELIVERIES_LISTED`. */
export async function listDeliveries(
  ctx: AdminContext,
  filter: { tenantName?: string | undefined; state?: DeliveryState | undefined },
): Promise<DeliveryView[]> {
  const tenant =
    filter.tenantName === undefined
      ? undefined
      : await tenantByName(ctx.catalog, filter.tenantName);
  const deliveries = await ctx.catalog.listDeliveries({
    limit: MAX_DELIVERIES_LISTED,
    ...(tenant === undefined ? {} : { tenantId: tenant.id }),
    ...(filter.state === undefined ? {} : { state: filter.state }),
  });
  const names = await tenantNames(ctx);
  return deliveries.map((d) => ({
    id: d.id,
    alert_id: d.alertId,
    event: d.event,
    tenant: names.get(d.tenantId) ?? d.tenantId,
    destination_id: d.destinationId,
    kind: d.kind,
    target: d.target,
    state: d.state,
    attempts: d.attempts,
    next_attempt_at: iso(d.nextAttemptAt),
    last_error: d.lastError,
    delivered_at: iso(d.deliveredAt),
    failed_at: iso(d.failedAt),
  }));
}
