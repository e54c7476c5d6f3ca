/**
 * `GET /metrics` on a real server, read by a Prometheus text-format parser (not prom-client's own
 * registry): refused without the scrape token, absent on a server without one, and its counters
 * move when a real `rempart backup` goes through the server.
 */
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { describe, it } from "node:test";
import { backUpThroughServer, SCRAPE_TOKEN, startOpsServer } from "../jobs/ops-test-support.js";
import { assertError, type TestServer } from "../test-support.js";
import { digestScrapeToken, isScrapeToken } from "./scrape-token.js";

interface Family {
  readonly name: string;
  readonly type: string;
  readonly metrics: readonly {
    readonly value?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly count?: string;
  }[];
}
const parsePrometheus = createRequire(import.meta.url)("parse-prometheus-text-format") as (
  text: string,
) => Family[];

async function scrape(server: TestServer): Promise<Family[]> {
  const answer = await server.send({ path: "/metrics", token: SCRAPE_TOKEN });
  assert.equal(answer.status, 200, answer.body.toString());
  assert.match(String(answer.headers["content-type"]), /^text\/plain; version=0\.0\.4/);
  const families = parsePrometheus(answer.body.toString("utf8"));
  // The parser keeps values as text: each must be a number in the exposition format's sense.
  for (const family of families)
    for (const m of family.metrics)
      for (const value of [m.value, m.count].filter((v) => v !== undefined))
        assert.ok(!Number.isNaN(Number(value)), `${family.name}: ${value}`);
  return families;
}

/** The value of the sample of `name` whose labels include `labels`; undefined if none. */
function sample(
  families: readonly Family[],
  name: string,
  labels: Readonly<Record<string, string>> = {},
): number | undefined {
  const family = families.find((f) => f.name === name);
  const found = family?.metrics.find((m) =>
    Object.entries(labels).every(([k, v]) => m.labels?.[k] === v),
  );
  const value = found?.value ?? found?.count;
  return value === undefined ? undefined : Number(value);
}

describe("GET /metrics", () => {
  it("is refused without the scrape token or with a wrong one, and absent on a server without one", async (t) => {
    const { test: server } = await startOpsServer(t, { metrics: true });
    assertError(await server.send({ path: "/metrics" }), "Unauthorized");
    assertError(
      await server.send({ path: "/metrics", token: `${SCRAPE_TOKEN.slice(0, -1)}0` }),
      "Unauthorized",
    );
    // An operator's session is not a scrape token either.
    assertError(
      await server.send({ path: "/metrics", token: await server.login() }),
      "Unauthorized",
    );
    assert.ok((await scrape(server)).length > 0);

    const { test: plain } = await startOpsServer(t);
    assertError(await plain.send({ path: "/metrics", token: SCRAPE_TOKEN }), "NotFound");
  });

  it("counts a backup through the server: commits, bytes added and stored, last success, requests by route", async (t) => {
    const ops = await startOpsServer(t, { metrics: true, jobs: { schedules: {}, gcGraceMs: 0 } });
    const server = ops.test;
    const before = await scrape(server);
    assert.equal(sample(before, "rempart_backups_total", { tenant: "acme" }), undefined);

    const backup = await backUpThroughServer(t, ops);
    const gc = await ops.started.jobs?.run("gc");
    assert.equal(gc?.outcome, "ok");
    const after = await scrape(server);
    assert.equal(sample(after, "rempart_backups_total", { tenant: "acme" }), 1);
    assert.equal(sample(after, "rempart_backup_failures_total", { tenant: "acme" }), undefined);
    const added = sample(after, "rempart_added_bytes_total", { tenant: "acme" }) ?? 0;
    const stored = sample(after, "rempart_tenant_stored_bytes", { tenant: "acme" }) ?? 0;
    // The tree is 340 kB of incompressible bytes: the packs alone hold that much.
    assert.ok(added > 340_000, `added ${added}`);
    assert.ok(stored >= added, `stored ${stored}, added ${added}`);
    const age = sample(after, "rempart_agent_last_success_age_seconds", { tenant: "acme" });
    assert.ok(age !== undefined && age >= 0 && age < 3600, `age ${age}`);
    assert.equal(sample(after, "rempart_agent_last_backup_failed", { tenant: "acme" }), 0);
    assert.equal(sample(after, "rempart_alerts_open", { severity: "critical" }), 0);
    assert.equal(sample(after, "rempart_job_last_success", { job: "gc" }), 1);
    assert.equal(sample(after, "rempart_job_runs", { job: "gc", outcome: "ok" }), 1);
    assert.equal(sample(after, "rempart_job_last_freed_bytes", { job: "gc" }), 0);

    // Requests are labelled by route template: no object name or tenant id reaches a label.
    const requests = after.find((f) => f.name === "rempart_http_requests_total");
    assert.equal(requests?.type, "COUNTER");
    assert.equal(
      after.find((f) => f.name === "rempart_http_request_duration_seconds")?.type,
      "HISTOGRAM",
    );
    const routes = new Set(requests?.metrics.map((m) => m.labels?.route));
    assert.ok(routes.has("/v1/repo/objects/{kind}/{name}"), [...routes].join(", "));
    assert.ok(routes.has("/v1/repo/snapshots"));
    for (const route of routes) assert.doesNotMatch(String(route), /[0-9a-f]{16}/);
    const puts = sample(after, "rempart_http_requests_total", {
      method: "PUT",
      route: "/v1/repo/objects/{kind}/{name}",
      status: "201",
    });
    assert.ok((puts ?? 0) >= 3, `PUTs answered 201: ${puts}`);
    assert.ok(backup.snapshotId);
  });
});

describe("the scrape token", () => {
  it("is refused when short, and compared whole", () => {
    assert.throws(() => digestScrapeToken("short"), /at least 32/);
    const digest = digestScrapeToken(SCRAPE_TOKEN);
    assert.equal(isScrapeToken(`Bearer ${SCRAPE_TOKEN}`, digest), true);
    assert.equal(isScrapeToken(`Bearer ${SCRAPE_TOKEN}x`, digest), false);
    assert.equal(isScrapeToken(`Basic ${SCRAPE_TOKEN}`, digest), false);
    assert.equal(isScrapeToken(undefined, digest), false);
  });
});
