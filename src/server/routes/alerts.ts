/** Alert routes (session token): thin doors onto src/server/alerts.ts, which `rempart admin` shares. */
import Type from "#typebox";
import {
  Alert,
  AlertAckRequest,
  AlertCursor,
  AlertPage,
  ListingLimit,
  TenantParam,
} from "../../protocol/api.js";
import { acknowledgeAlert, listAlertPage, MAX_ALERT_PAGE, parseAlertId } from "../alerts.js";
import { sendJson } from "../http.js";
import type { QueryOf, Route } from "../router.js";
import { actorOf } from "./operator.js";

const ALERT_STATES = ["open", "all"] as const;

const AlertsQuery = {
  tenant: Type.String({ ...TenantParam, description: "only this tenant's alerts" }),
  state: Type.Enum(ALERT_STATES, {
    description:
      "open: only open alerts (neither acknowledged nor resolved); all (the default): every alert",
  }),
  limit: ListingLimit,
  cursor: AlertCursor,
};

export const alertsList: Route<never, QueryOf<typeof AlertsQuery>> = {
  method: "GET",
  path: "/v1/alerts",
  auth: "operator",
  role: "read-only",
  tokenScope: "read-only",
  summary: `A page of alerts, newest first (at most ${MAX_ALERT_PAGE}; \`next\` when older ones follow); a tenant is red while one of its alerts is open`,
  queryParams: AlertsQuery,
  responses: {
    200: { description: "a page of the alerts", schema: AlertPage.schema },
  },
  errors: ["NotFound"],
  async handle({ res, query, ctx }) {
    const page = await listAlertPage(
      ctx,
      { tenantName: query.tenant, open: query.state === "open" },
      { limit: query.limit, cursor: query.cursor },
    );
    sendJson(res, 200, page);
  },
};

export const alertAck: Route<AlertAckRequest> = {
  method: "POST",
  path: "/v1/alerts/{id}/ack",
  auth: "operator",
  role: "technician",
  tokenScope: "alerts",
  summary:
    "Acknowledge an alert with a reason (audited); holds it placed stay until an admin releases them",
  params: {
    id: Type.String({ pattern: "^[1-9][0-9]{0,15}$", description: "the alert's id" }),
  },
  body: { contentType: "application/json", message: AlertAckRequest },
  responses: { 200: { description: "the alert, acknowledged", schema: Alert.schema } },
  errors: ["NotFound", "Conflict", "UnsupportedMediaType", "PayloadTooLarge"],
  async handle({ res, params, who, ctx, body }) {
    const id = parseAlertId(params.id ?? "");
    const request = await body();
    sendJson(res, 200, await acknowledgeAlert(ctx, actorOf(who), id, who.operator.id, request));
  },
};
