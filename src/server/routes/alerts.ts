/** Alert routes (session token): thin doors onto src/server/alerts.ts, which `rempart admin` shares. */
import Type from "#typebox";
import { Alert, AlertAckRequest, TenantParam } from "../../protocol/api.js";
import { acknowledgeAlert, listAlerts, MAX_ALERTS_LISTED, parseAlertId } from "../alerts.js";
import { sendJson } from "../http.js";
import type { QueryOf, Route } from "../router.js";
import { actorOf } from "./operator.js";

const ALERT_STATES = ["open", "all"] as const;

const AlertsQuery = {
  tenant: Type.String({ ...TenantParam, description: "only this tenant's alerts" }),
  state: Type.Enum(ALERT_STATES, {
    description: "open: only alerts not yet acknowledged; all (the default): every alert",
  }),
};

export const alertsList: Route<never, QueryOf<typeof AlertsQuery>> = {
  method: "GET",
  path: "/v1/alerts",
  auth: "operator",
  role: "read-only",
  tokenScope: "read-only",
  summary: `Alerts, newest first (at most ${MAX_ALERTS_LISTED}); a tenant is red while one of its alerts is open`,
  queryParams: AlertsQuery,
  responses: {
    200: { description: "the alerts", schema: Type.Array(Alert.schema) },
  },
  errors: ["NotFound"],
  async handle({ res, query, ctx }) {
    const alerts = await listAlerts(ctx, {
      tenantName: query.tenant,
      open: query.state === "open",
    });
    sendJson(res, 200, alerts);
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
