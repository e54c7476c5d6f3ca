/**
 * Alert listings come in pages, like object listings: `GET /v1/alerts?limit=N&cursor=C` answers
 * at most N (default and most 1,000) newest first with the cursor of the next page, and
 * `rempart admin alerts` follows the pages itself. Alerts are raised straight into the catalog
 * of a running server's data directory, as the admin commands reach it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { openSqliteCatalog } from "../../catalog/sqlite/catalog.js";
import type { AlertPage, AuditEntry } from "../../protocol/api.js";
import { expectExit, jsonOutput, runCli } from "../../testing/cli.js";
import { assertError, json, startTestServer } from "../test-support.js";

const MANY = 1_005;

describe("alert listings in pages", () => {
  it("pages through more alerts than one page holds, newest first, none skipped or repeated", async (t) => {
    const server = await startTestServer(t);
    const session = await server.login();
    const acme = await server.createTenant(session, "acme");
    const other = await server.createTenant(session, "other");
    const catalog = openSqliteCatalog(join(server.dataDir, "catalog.sqlite"));
    try {
      for (let i = 0; i < MANY + 3; i++)
        await catalog.raiseAlert(
          {
            tenantId: i % 337 === 5 ? other.id : acme.id,
            agentId: null,
            snapshotId: null,
            kind: "detection",
            severity: "warning",
            message: `alert ${i}`,
          },
          { actor: { kind: "system", id: "test" } },
          server.clock.now(),
        );
    } finally {
      await catalog.close();
    }
    const page = async (query: string): Promise<AlertPage> => {
      const answer = await server.send({ path: `/v1/alerts?${query}`, token: session });
      assert.equal(answer.status, 200, answer.body.toString());
      return json<AlertPage>(answer);
    };

    // Pages of 400 of acme's: 1,005 alerts in three pages, the last without a cursor.
    const ids: number[] = [];
    const sizes: number[] = [];
    for (let cursor: string | undefined; ; ) {
      const got = await page(`tenant=acme&limit=400${cursor ? `&cursor=${cursor}` : ""}`);
      ids.push(...got.alerts.map((a) => a.id));
      sizes.push(got.alerts.length);
      assert.ok(got.alerts.every((a) => a.tenant === "acme"));
      if (got.next === undefined) break;
      cursor = got.next;
    }
    assert.deepEqual(sizes, [400, 400, 205]);
    assert.equal(new Set(ids).size, MANY);
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => b - a),
    );

    // The default page is the most a page holds; the whole listing then needs a second one.
    const first = await page("");
    assert.equal(first.alerts.length, 1000);
    assert.ok(first.next !== undefined);
    const second = await page(`cursor=${first.next}`);
    assert.equal(second.alerts.length, MANY + 3 - 1000);
    assert.equal(second.next, undefined);
    assert.equal((await page("limit=1&state=open")).alerts.length, 1);

    for (const query of ["limit=0", "limit=1001", "cursor=abc", "cursor=0", "cursor=-4"])
      assertError(await server.send({ path: `/v1/alerts?${query}`, token: session }), "BadRequest");

    // The admin command follows the pages: every alert, or the N newest.
    const admin = (...args: string[]) =>
      runCli(["admin", "alerts", ...args, "--json", "--data", server.dataDir]);
    const listed = jsonOutput<{ id: number }[]>(expectExit(await admin("--tenant", "acme"), 0));
    assert.deepEqual(
      listed.map((a) => a.id),
      ids,
    );
    const newest = jsonOutput<{ id: number }[]>(expectExit(await admin("--limit", "1002"), 0));
    assert.equal(newest.length, 1002);
    assert.deepEqual(
      newest.map((a) => a.id),
      [...first.alerts, ...second.alerts].map((a) => a.id).slice(0, 1002),
    );
  });
});

describe("who closed an alert", () => {
  it("audits an acknowledgement through an API token as the operator with the token named; through a session, the operator alone", async (t) => {
    const server = await startTestServer(t);
    const session = await server.login();
    const acme = await server.createTenant(session, "acme");
    const catalog = openSqliteCatalog(join(server.dataDir, "catalog.sqlite"));
    const ids: number[] = [];
    try {
      for (const message of ["disk full on pc", "disk full on nas"])
        ids.push(
          (
            await catalog.raiseAlert(
              {
                tenantId: acme.id,
                agentId: null,
                snapshotId: null,
                kind: "quota",
                severity: "high",
                message,
              },
              { actor: { kind: "system", id: "test" } },
              server.clock.now(),
            )
          ).id,
        );
    } finally {
      await catalog.close();
    }
    const token = jsonOutput<{ token: string; id: string }>(
      expectExit(
        await runCli([
          "admin",
          "token",
          "create",
          "--name",
          "psa-sync",
          "--scope",
          "alerts",
          "--json",
          "--data",
          server.dataDir,
        ]),
        0,
      ),
    );
    const ack = (id: number | undefined, bearer: string, reason: string) =>
      server.send({
        method: "POST",
        path: `/v1/alerts/${id}/ack`,
        token: bearer,
        json: { reason },
      });
    assert.equal((await ack(ids[0], token.token, "ticket 4711 opened")).status, 200);
    assert.equal((await ack(ids[1], session, "seen")).status, 200);

    const audit = await server.send({ path: "/v1/audit?tenant=acme&limit=100", token: session });
    assert.equal(audit.status, 200, audit.body.toString());
    const acks = json<AuditEntry[]>(audit).filter((e) => e.action === "alert.acknowledge");
    const admin = acks[0]?.actor.id;
    assert.ok(admin !== undefined && admin !== null);
    assert.deepEqual(
      acks.map((e) => [e.details.alert_id, e.actor, e.details.credential ?? null]),
      [
        [ids[1], { kind: "operator", id: admin }, null],
        [
          ids[0],
          { kind: "operator", id: admin },
          { kind: "api-token", id: token.id, name: "psa-sync" },
        ],
      ],
    );
  });
});
