/** An agent reports a restore drill (src/server/drills/). */
import { Drill, DrillRequest } from "../../protocol/api.js";
import { recordDrillReport } from "../drills/drills.js";
import { sendJson } from "../http.js";
import type { Route } from "../router.js";

export const drillReport: Route<DrillRequest> = {
  method: "POST",
  path: "/v1/agent/drills",
  auth: "agent",
  scope: "backup",
  summary:
    "Report a restore drill: a sample of a snapshot restored and verified by the agent; a failure raises an alert",
  body: { contentType: "application/json", message: DrillRequest },
  responses: { 201: { description: "recorded", schema: Drill.schema } },
  errors: ["NotFound", "UnsupportedMediaType", "PayloadTooLarge"],
  async handle({ res, who, ctx, body }) {
    const request = await body();
    sendJson(res, 201, await recordDrillReport(ctx, who.tenant, who.agent, request));
  },
};
