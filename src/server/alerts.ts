/**
 * Alerts as operators see and close them, for both doors (`GET /v1/alerts`, `POST
 * /v1/alerts/:id/ack`, `rempart admin alerts`). Acknowledging closes an alert (the tenant is red
 * while any is open) and is audited; it never lifts a hold the alert's response placed: an admin
 * releases that one explicitly (`admin snapshot release`), after restoring from it if need be.
 */
import type { Alert, Catalog } from "../catalog/catalog.js";
import { RempartError } from "../errors.js";
import { AlertAckRequest, type Alert as AlertAnswer } from "../protocol/api.js";
import { type AdminActor, type AdminContext, checked, tenantByName } from "./admin.js";

export type AlertView = AlertAnswer;

/** Most alerts one listing shows, newest first: open ones are what matters, and they are few. */
export const MAX_ALERTS_LISTED = 1000;

export interface AlertFilter {
  readonly tenantName?: string | undefined;
  /** Only alerts not yet acknowledged. */
  readonly open?: boolean | undefined;
}

/** Names for ids, looked up once per listing. */
class Names {
  readonly #catalog: Catalog;
  readonly #cache = new Map<string, Promise<string | null>>();

  constructor(catalog: Catalog) {
    this.#catalog = catalog;
  }

  #once(key: string, find: () => Promise<string | null>): Promise<string | null> {
    let found = this.#cache.get(key);
    if (found === undefined) {
      found = find();
      this.#cache.set(key, found);
    }
    return found;
  }

  tenant = (id: string) =>
    this.#once(`t:${id}`, async () => (await this.#catalog.getTenant(id))?.name ?? null);
  host = (id: string) =>
    this.#once(`a:${id}`, async () => (await this.#catalog.getAgent(id))?.hostname ?? null);
  operator = (id: string) =>
    this.#once(`o:${id}`, async () => (await this.#catalog.getOperator(id))?.username ?? id);
}

async function alertView(names: Names, alert: Alert): Promise<AlertView> {
  return {
    id: alert.id,
    tenant_id: alert.tenantId,
    tenant: (await names.tenant(alert.tenantId)) ?? alert.tenantId,
    agent_id: alert.agentId,
    hostname: alert.agentId === null ? null : await names.host(alert.agentId),
    snapshot_id: alert.snapshotId,
    kind: alert.kind,
    severity: alert.severity,
    message: alert.message,
    details: alert.details,
    created_at: alert.createdAt.toISOString(),
    acknowledged_by:
      alert.acknowledgedBy === null ? null : await names.operator(alert.acknowledgedBy),
    acknowledged_at: alert.acknowledgedAt?.toISOString() ?? null,
    acknowledge_reason: alert.acknowledgeReason,
  };
}

/** Newest first, at most `MAX_ALERTS_LISTED`. */
export async function listAlerts(ctx: AdminContext, filter: AlertFilter): Promise<AlertView[]> {
  const tenant =
    filter.tenantName === undefined
      ? undefined
      : await tenantByName(ctx.catalog, filter.tenantName);
  const alerts = await ctx.catalog.listAlerts({
    limit: MAX_ALERTS_LISTED,
    ...(tenant === undefined ? {} : { tenantId: tenant.id }),
    ...(filter.open === true ? { open: true } : {}),
  });
  const names = new Names(ctx.catalog);
  return Promise.all(alerts.map((alert) => alertView(names, alert)));
}

/** An alert id as typed or sent: a positive whole number. */
export function parseAlertId(text: string): number {
  if (!/^[1-9][0-9]{0,15}$/.test(text) || !Number.isSafeInteger(Number(text)))
    throw new RempartError(
      "InvalidArgument",
      `${JSON.stringify(text)} is not an alert id: give the number admin alerts shows`,
    );
  return Number(text);
}

/**
 * Closes an alert on behalf of `operatorId`, with the reason (a `AlertAckRequest`); audited as
 * `alert.acknowledge` in the catalog's own transaction.
 */
export async function acknowledgeAlert(
  ctx: AdminContext,
  actor: AdminActor,
  id: number,
  operatorId: string,
  input: AlertAckRequest,
): Promise<AlertView> {
  const request = checked(AlertAckRequest.parse, input);
  const alert = await ctx.catalog.acknowledgeAlert(
    id,
    operatorId,
    request.reason,
    { actor: actor.audit, details: { operator_id: actor.operatorId } },
    ctx.now(),
  );
  return alertView(new Names(ctx.catalog), alert);
}
