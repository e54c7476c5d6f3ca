/**
 * Query parameters are checked by the route's own schemas (the ones /v1/openapi.json shows), like
 * bodies: a refusal names the parameter and says why, and only plain decimal digits are read as a
 * number. Real HTTPS, a real server and catalog.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { AuditEntry, ObjectListing } from "../protocol/api.js";
import { type Answer, assertError, json, startTestServer } from "./test-support.js";

function refusal(answer: Answer, parameter: string): string {
  const details = assertError(answer, "BadRequest");
  assert.equal(details.parameter, parameter);
  const { message } = json<{ error: { message: string } }>(answer).error;
  assert.match(message, new RegExp(`^the query parameter "?${parameter}"? `));
  return message;
}

describe("query parameters", () => {
  it("refuses a listing's limit or cursor that breaks its schema, naming it and why", async (t) => {
    const server = await startTestServer(t);
    const session = await server.login();
    await server.createTenant(session, "acme");
    const { credential: token } = await server.agentOf(session, "acme");
    const list = (query: string) => server.send({ path: `/v1/repo/objects/data?${query}`, token });

    assert.match(refusal(await list("limit=0"), "limit"), />= 1/);
    assert.match(refusal(await list("limit=1001"), "limit"), /<= 1000/);
    for (const limit of ["abc", "1.5", "+5", "-1", "1e2", "0x10", "%201"])
      assert.match(refusal(await list(`limit=${limit}`), "limit"), /integer/, limit);
    assert.match(refusal(await list("cursor=../x"), "cursor"), /is malformed/);
    assert.match(refusal(await list("limit=1&limit=2"), "limit"), /given 2 times/);

    // Within the schema: served, and a parameter no route declares is ignored.
    const page = json<ObjectListing>(await list("limit=1000&cursor=config&other=1"));
    assert.deepEqual(page, { objects: [] });
  });

  it("checks the query only once the caller is known", async (t) => {
    const server = await startTestServer(t);
    assertError(await server.send({ path: "/v1/repo/objects/data?limit=0" }), "Unauthorized");
    assertError(await server.send({ path: "/v1/audit?limit=0" }), "Unauthorized");
  });

  it("reads the audit log's limit and before as numbers, and refuses others", async (t) => {
    const server = await startTestServer(t);
    const session = await server.login();
    await server.createTenant(session, "acme");
    await server.createTenant(session, "globex");
    const audit = (query: string) => server.send({ path: `/v1/audit?${query}`, token: session });

    const newest = json<AuditEntry[]>(await audit("limit=1"));
    assert.equal(newest.length, 1);
    const older = json<AuditEntry[]>(await audit(`limit=1&before=${newest[0]?.id}`));
    assert.ok((older[0]?.id ?? Infinity) < (newest[0]?.id ?? 0));
    refusal(await audit("limit=0"), "limit");
    assert.match(refusal(await audit("before=soon"), "before"), /integer/);
    refusal(await audit("before=99999999999999999"), "before");
  });
});
