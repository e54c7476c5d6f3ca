/** An operator's own session: ending it before its time. */
import { ApiError } from "../api-error.js";
import { sendEmpty } from "../http.js";
import type { Route } from "../router.js";

export const logout: Route = {
  method: "POST",
  path: "/v1/logout",
  auth: "operator",
  role: "read-only",
  tokenScope: "read-only",
  summary:
    "End the session this request carries, at once (an API token is revoked on the server machine: `rempart admin token revoke ID`)",
  responses: { 204: { description: "the session is ended" } },
  errors: [],
  async handle({ res, who, ctx }) {
    const { credential, operator } = who;
    if (credential.kind !== "session")
      throw new ApiError(
        "BadRequest",
        "an API token is not a session: revoke it with `rempart admin token revoke ID`",
        { reason: "not-a-session" },
      );
    await ctx.catalog.revokeSession(credential.session.tokenHash);
    await ctx.catalog.appendAudit(
      {
        actor: { kind: "operator", id: operator.id },
        action: "operator.logout",
        tenantId: null,
        details: { username: operator.username },
      },
      ctx.now(),
    );
    sendEmpty(res, 204);
  },
};
