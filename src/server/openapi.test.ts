/**
 * The OpenAPI document the server publishes is a valid OpenAPI 3.1 document (checked by an
 * OpenAPI validator, not by us), and the server's real answers have the shapes it documents: the
 * schemas are the protocol's, so an answer that drifts from its message fails here.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Validator } from "@seriousme/openapi-schema-validator";
import { Compile } from "#typebox";
import { ApiErrorBody } from "../protocol/api.js";
import { ROUTES } from "./routes/index.js";
import { type Answer, assertError, json, type Sent, startTestServer } from "./test-support.js";

/** The route that served `sent`, by method and path template. */
function routeOf(sent: Sent) {
  const [path] = sent.path.split("?");
  const segments = (path ?? "").split("/");
  const route = ROUTES.find((r) => {
    const template = r.path.split("/");
    return (
      r.method === (sent.method ?? "GET") &&
      template.length === segments.length &&
      template.every((part, i) => part.startsWith("{") || part === segments[i])
    );
  });
  assert.ok(route, `no route serves ${sent.method ?? "GET"} ${sent.path}`);
  return route;
}

/** Asserts the answer has the documented shape of its status, and returns its JSON. */
function documented(sent: Sent, answer: Answer): unknown {
  const route = routeOf(sent);
  if (answer.status === 204) return undefined;
  const body: unknown = json(answer);
  const schema = route.responses[answer.status]?.schema ?? ApiErrorBody.schema;
  const validator = Compile(schema);
  assert.ok(
    validator.Check(body),
    `${route.method} ${route.path} answered ${answer.status} off its schema: ${JSON.stringify(validator.Errors(body)[0])} in ${answer.body}`,
  );
  return body;
}

describe("the OpenAPI document", () => {
  it("is a valid OpenAPI 3.1 document, served at /v1/openapi.json", async (t) => {
    const server = await startTestServer(t);
    const sent = { path: "/v1/openapi.json" };
    const answer = await server.send(sent);
    assert.equal(answer.status, 200);
    const validator = new Validator();
    const result = await validator.validate(json(answer));
    assert.deepEqual(result.errors ?? [], [], JSON.stringify(result.errors, null, 2));
    assert.equal(result.valid, true);
    assert.equal(validator.version, "3.1");
    // Every message is a component, and a message met inside another is a $ref to it.
    const doc = json<{ components: { schemas: Record<string, Record<string, unknown>> } }>(answer);
    assert.ok(doc.components.schemas.TenantRequest);
    assert.match(
      JSON.stringify(doc.components.schemas.TenantDetails),
      /"#\/components\/schemas\/Agent"/,
    );
  });

  it("documents the shapes the server really answers with", async (t) => {
    const server = await startTestServer(t);
    const call = async (sent: Sent) => {
      const answer = await server.send(sent);
      return { answer, body: documented(sent, answer) };
    };
    await call({ path: "/v1/health" });
    const session = await server.login();
    const token = session;
    await call({
      method: "POST",
      path: "/v1/tenants",
      token,
      json: { name: "acme", retention_days: 30 },
    });
    const agent = await server.agentOf(session, "acme");
    await call({
      method: "POST",
      path: "/v1/agent/checkin",
      token: agent.credential,
      json: { version: "0.2.0", last_backup: { at: "2030-01-01T00:00:00Z", outcome: "failure" } },
    });
    await call({ path: "/v1/repo/objects/data", token: agent.credential });
    await call({ path: "/v1/repo/objects/data?limit=10", token: agent.credential });
    await call({ path: "/v1/tenants", token });
    await call({ path: "/v1/tenants/acme", token });
    await call({ path: "/v1/tenants/acme/agents", token });
    await call({
      method: "POST",
      path: "/v1/tenants/acme/enroll-tokens",
      token,
      json: { expires_in_seconds: 600, scopes: ["backup", "restore"] },
    });
    await call({
      method: "POST",
      path: "/v1/tenants/acme/quota",
      token,
      json: { quota_bytes: null },
    });
    await call({
      method: "POST",
      path: "/v1/tenants/acme/quarantines",
      token,
      json: { agent_id: agent.agent_id },
    });
    await call({ path: "/v1/tenants/acme/quarantines", token });
    await call({
      method: "POST",
      path: `/v1/tenants/acme/quarantines/${agent.agent_id}/release`,
      token,
    });
    await call({ method: "POST", path: `/v1/agents/${agent.agent_id}/revoke`, token });
    await call({ path: "/v1/audit?limit=50", token });
    const refused = await call({ path: "/v1/tenants/nobody", token });
    assertError(refused.answer, "NotFound");
  });

  it("refuses a body off its schema with the field at fault and why", async (t) => {
    const server = await startTestServer(t);
    const token = await server.login();
    const create = (body: unknown) =>
      server.send({ method: "POST", path: "/v1/tenants", token, json: body });
    const message = async (body: unknown) => {
      const answer = await create(body);
      const field = assertError(answer, "BadRequest").field;
      const said = json<{ error: { message: string } }>(answer).error.message;
      assert.ok(field === "" || said.startsWith(`"${field}"`), `${field}: ${said}`);
      return said;
    };
    assert.match(
      await message({ name: "Bad Name", retention_days: 30 }),
      /^"name" is malformed: a tenant name is 1 to 63/,
    );
    assert.equal(await message({ name: "acme" }), '"retention_days" is required');
    assert.match(
      await message({ name: "acme", retention_days: 0 }),
      /^"retention_days" must be >= 1$/,
    );
    assert.match(
      await message({ name: "acme", retention_days: 1, colour: "red" }),
      /unknown field\(s\): colour/,
    );
    assert.match(
      await message({ name: "acme", retention_days: 1, quota_bytes: 0 }),
      /^"quota_bytes" must be >= 1, or must be null$/,
    );
    assert.match(await message([]), /must be object/);
    const agent = await server.agentOf(token, (await server.createTenant(token, "acme")).name);
    const checkin = await server.send({
      method: "POST",
      path: "/v1/agent/checkin",
      token: agent.credential,
      json: { version: "1", last_backup: { at: "2030-01-01T00:00:00Z", outcome: "great" } },
    });
    assertError(checkin, "BadRequest");
    assert.match(
      json<{ error: { message: string } }>(checkin).error.message,
      /^"last_backup\.outcome" must be equal to one of the allowed values/,
    );
  });
});
