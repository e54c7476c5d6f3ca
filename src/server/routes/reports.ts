/** Reports for operators (session token): coverage, from src/server/reports/. */
import { CoverageReport } from "../../protocol/api.js";
import { sendJson } from "../http.js";
import { coverageReport } from "../reports/coverage.js";
import type { Route } from "../router.js";

export const coverage: Route = {
  method: "GET",
  path: "/v1/reports/coverage",
  auth: "operator",
  role: "read-only",
  tokenScope: "read-only",
  summary:
    "Every client and machine with its last backup, age against the client's RPO, last detection verdict and restore drill, and status, worst first",
  responses: { 200: { description: "the report", schema: CoverageReport.schema } },
  errors: [],
  async handle({ res, ctx }) {
    sendJson(res, 200, await coverageReport(ctx));
  },
};
