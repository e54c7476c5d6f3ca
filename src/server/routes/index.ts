/** Every route the server answers; the OpenAPI document is built from this same list. */
import Type from "#typebox";
import { sendJson } from "../http.js";
import { openApiDocument } from "../openapi.js";
import type { AnyRoute, Route } from "../router.js";
import { agentSelf, staleAgents } from "./agents.js";
import { alertAck, alertsList } from "./alerts.js";
import { drillReport } from "./drills.js";
import { metrics } from "./metrics.js";
import { getObject, headObject, listObjects, putObject } from "./objects.js";
import {
  agentRevoke,
  agentsList,
  auditList,
  enrollTokenCreate,
  keySlotAdd,
  quarantineCreate,
  quarantineRelease,
  quarantinesList,
  tenantQuotaSet,
  tenantShow,
  tenantsCreate,
  tenantsList,
} from "./operator.js";
import { enroll, health, login } from "./public.js";
import { checkin, commitSnapshot } from "./repo.js";
import { coverage } from "./reports.js";
import { logout } from "./session.js";

const openApi: Route = {
  method: "GET",
  path: "/v1/openapi.json",
  auth: "public",
  summary: "This API, as an OpenAPI 3.1 document",
  responses: {
    200: { description: "the document", schema: Type.Object({}, { description: "OpenAPI 3.1" }) },
  },
  errors: [],
  async handle({ res, ctx }) {
    sendJson(res, 200, openApiDocument(ROUTES, ctx.version));
  },
};

export const ROUTES: readonly AnyRoute[] = [
  health,
  openApi,
  enroll,
  login,
  logout,
  listObjects,
  headObject,
  getObject,
  putObject,
  commitSnapshot,
  checkin,
  tenantsList,
  tenantsCreate,
  tenantShow,
  enrollTokenCreate,
  agentsList,
  agentRevoke,
  auditList,
  tenantQuotaSet,
  keySlotAdd,
  quarantineCreate,
  quarantinesList,
  quarantineRelease,
  alertsList,
  alertAck,
  agentSelf,
  staleAgents,
  metrics,
  drillReport,
  coverage,
];
