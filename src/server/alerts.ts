/**
 * Alerts as operators see and close them, for both doors (`GET /v1/alerts`, `POST
 * /v1/alerts/:id/ack`, `rempart admin alerts`). Acknowledging closes an alert (the tenant is red
 * while any is open) and is audited; the system closes a stale, failing or quota alert itself
 * once its condition clears (resolved, shown with its reason: jobs/alerts-job.ts); it never lifts a hold the alert's response placed: an admin
 * releases that one explicitly (`admin snapshot release`), after restoring from it if need be.
 */
import type { Alert, Catalog } from "../catalog/catalog.js";
import { RempartError } from "../errors.js";
import {
  AlertAckRequest,
  type Alert as AlertAnswer,
  type AlertPage,
  MAX_LISTING_PAGE,
} from "../protocol/api.js";
import { type AdminActor, type AdminContext, checked, tenantByName } from "./admin.js";

export type AlertView = AlertAnswer;

/** Most alerts one page holds, and a page's default: as many as a page of objects. */
export const MAX_ALERT_PAGE = MAX_LISTING_PAGE;

export interface AlertFilter {
  readonly tenantName?: string | undefined;
  /** Only open alerts: neither acknowledged nor resolved. */
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
    resolved_by: alert.resolvedBy,
    resolved_at: alert.resolvedAt?.toISOString() ?? null,
    resolve_reason: alert.resolveReason,
  };
}

export interface AlertPageRequest {
  /** 1 to MAX_ALERT_PAGE, the default */
  readonly limit?: number | undefined;
  /** the `next` of the previous page */
  readonly cursor?: string | undefined;
}

/**
 * A page of alerts, newest first, and the cursor of the next (older) one when more follow. The
 * cursor is the last alert's id: alerts are never removed and ids never reused, so paging while
 * alerts are raised skips and repeats none of those listed (new ones appear on a fresh listing).
 */
export async function listAlertPage(
  ctx: AdminContext,
  filter: AlertFilter,
  page: AlertPageRequest = {},
): Promise<AlertPage> {
  const limit = page.limit ?? MAX_ALERT_PAGE;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_ALERT_PAGE)
    throw new RempartError(
      "InvalidArgument",
      `a page holds 1 to ${MAX_ALERT_PAGE} alerts, not ${limit}`,
    );
  const beforeId = page.cursor === undefined ? undefined : parseCursor(page.cursor);
  const tenant =
    filter.tenantName === undefined
      ? undefined
      : await tenantByName(ctx.catalog, filter.tenantName);
  // One alert more than the page tells whether another page follows.
  const alerts = await ctx.catalog.listAlerts({
    limit: limit + 1,
    ...(tenant === undefined ? {} : { tenantId: tenant.id }),
    ...(filter.open === true ? { open: true } : {}),
    ...(beforeId === undefined ? {} : { beforeId }),
  });
  const shown = alerts.slice(0, limit);
  const names = new Names(ctx.catalog);
  const last = shown.at(-1);
  return {
    alerts: await Promise.all(shown.map((alert) => alertView(names, alert))),
    ...(alerts.length > limit && last !== undefined ? { next: String(last.id) } : {}),
  };
}

/** A positive whole number as typed or sent (an alert id, a cursor), or undefined. */
function wholeId(text: string): number | undefined {
  return /^[1-9][0-9]{0,15}$/.test(text) && Number.isSafeInteger(Number(text))
    ? Number(text)
    : undefined;
}

function parseCursor(cursor: string): number {
  const id = wholeId(cursor);
  if (id === undefined)
    throw new RempartError(
      "InvalidArgument",
      `${JSON.stringify(cursor)} is not a cursor of an alert listing`,
    );
  return id;
}

/** An alert id as typed or sent: a positive whole number. */
export function parseAlertId(text: string): number {
  const id = wholeId(text);
  if (id === undefined)
    throw new RempartError(
      "InvalidArgument",
      `${JSON.stringify(text)} is not an alert id: give the number admin alerts shows`,
    );
  return id;
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
