/**
 * `GET /metrics`: Prometheus's text exposition, for a scraper holding the scrape token. A server
 * started without a token has no metrics: the route answers 404, as if it did not exist.
 */
import { ApiError } from "../api-error.js";
import { isScrapeToken } from "../metrics/scrape-token.js";
import type { Route } from "../router.js";

export const metrics: Route = {
  method: "GET",
  path: "/metrics",
  auth: "public",
  summary: "Prometheus metrics (bearer: the scrape token given to the server)",
  responses: {
    200: {
      description: "the metrics, in Prometheus's text exposition format 0.0.4",
      contentType: "text/plain",
    },
  },
  errors: ["Unauthorized", "NotFound"],
  async handle({ req, res, ctx }) {
    const scrape = ctx.metrics;
    if (scrape === undefined)
      throw new ApiError(
        "NotFound",
        "metrics are off on this server: start it with --metrics-token-file FILE",
      );
    if (!isScrapeToken(req.headers.authorization, scrape.tokenDigest))
      throw new ApiError(
        "Unauthorized",
        "GET /metrics needs the scrape token as a bearer credential",
        undefined,
        { "WWW-Authenticate": 'Bearer realm="rempart-metrics"' },
      );
    const text = await scrape.metrics.scrape();
    res.writeHead(200, {
      "Content-Type": scrape.metrics.registry.contentType,
      "Content-Length": Buffer.byteLength(text),
      "Cache-Control": "no-store",
      "X-Content-Type-Options": "nosniff",
    });
    res.end(text);
  },
};
