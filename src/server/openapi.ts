/**
 * The OpenAPI 3.1 document, built from the route table (paths, methods, auth, parameters, bodies
 * and every error code a route can answer) and the JSON Schemas of the wire types below.
 */
import {
  API_PREFIX,
  ERROR_STATUS,
  MAX_COMMIT_PACKS,
  MAX_JSON_BYTES,
  MAX_OBJECT_BYTES,
} from "../protocol/api.js";
import { OBJECT_KINDS } from "../storage/object-store.js";
import { errorsOf, type Route, type SchemaDoc } from "./router.js";

type Json = Readonly<Record<string, unknown>>;

const HEX64 = { type: "string", pattern: "^[0-9a-f]{64}$" };
const TIME = { type: "string", format: "date-time" };
const NULLABLE_TIME = { type: ["string", "null"], format: "date-time" };
const SCOPES = { type: "array", items: { type: "string", enum: ["backup", "restore"] } };

function object(properties: Json, required: readonly string[] = Object.keys(properties)): Json {
  return { type: "object", properties, required, additionalProperties: false };
}

const TENANT = object({
  id: { type: "string" },
  name: { type: "string" },
  status: { type: "string", enum: ["active", "offboarding", "deleted"] },
  created_at: TIME,
  retention_days: { type: "integer" },
  immutable_days: { type: "integer" },
  quota_bytes: { type: ["integer", "null"] },
});

const KIND_USAGE = object({ count: { type: "integer" }, bytes: { type: "integer" } });

export const SCHEMAS: Readonly<Record<string, Json>> = {
  ApiError: object({
    error: object(
      {
        code: { type: "string", enum: Object.keys(ERROR_STATUS) },
        message: { type: "string" },
        details: { type: "object" },
      },
      ["code", "message"],
    ),
  }),
  Health: object({ status: { const: "ok" }, version: { type: "string" } }),
  EnrollRequest: object({
    token: { type: "string", maxLength: 256 },
    hostname: { type: "string", maxLength: 255 },
    version: { type: "string", maxLength: 64 },
  }),
  EnrollResponse: object({
    agent_id: { type: "string" },
    credential: { type: "string", description: "bearer token: rmpa_<agent id>_<secret>" },
    tenant: object({ id: { type: "string" }, name: { type: "string" } }),
    scopes: SCOPES,
    expires_at: TIME,
  }),
  LoginRequest: object({
    username: { type: "string", maxLength: 128 },
    password: { type: "string", maxLength: 1024 },
  }),
  LoginResponse: object({ token: { type: "string" }, expires_at: TIME }),
  ObjectListing: object(
    {
      objects: {
        type: "array",
        items: object({
          name: { type: "string" },
          size: { type: "integer" },
          received_at: { ...TIME, description: "when the server received it (server clock)" },
          agent: {
            type: ["string", "null"],
            description: "id of the agent that uploaded it; null for an operator's key slot",
          },
        }),
      },
      next: {
        type: "string",
        description: "present when more objects follow: the opaque cursor to pass as ?cursor",
      },
    },
    ["objects"],
  ),
  PutResponse: object({ outcome: { type: "string", enum: ["created", "exists"] } }),
  CommitRequest: object({
    name: { ...HEX64, description: "SHA-256 of the sealed snapshot bytes" },
    snapshot: { type: "string", contentEncoding: "base64", maxLength: MAX_JSON_BYTES },
    packs: { type: "array", items: HEX64, maxItems: MAX_COMMIT_PACKS },
    claimed_time: { ...TIME, description: "the agent's clock; never used for retention" },
  }),
  CommitResponse: object({
    snapshot_id: HEX64,
    committed_at: { ...TIME, description: "the server's receipt time" },
    outcome: { type: "string", enum: ["created", "exists"] },
  }),
  CheckinRequest: object(
    {
      version: { type: "string", maxLength: 64 },
      last_backup: object(
        {
          at: TIME,
          outcome: { type: "string", enum: ["success", "partial", "failure"] },
          snapshot_id: HEX64,
          error: { type: "string", maxLength: 2000 },
        },
        ["at", "outcome"],
      ),
    },
    ["version"],
  ),
  TenantRequest: object(
    {
      name: { type: "string", pattern: "^[a-z0-9][a-z0-9-]{0,62}$" },
      retention_days: { type: "integer", minimum: 1, maximum: 36500 },
      immutable_days: { type: "integer", minimum: 0, maximum: 3650 },
      quota_bytes: { type: ["integer", "null"], minimum: 1 },
    },
    ["name", "retention_days"],
  ),
  Tenant: TENANT,
  TenantDetails: {
    allOf: [
      { $ref: "#/components/schemas/Tenant" },
      {
        type: "object",
        properties: {
          usage: object({
            stored_bytes: { type: "integer" },
            object_count: { type: "integer" },
            by_kind: object(Object.fromEntries(OBJECT_KINDS.map((kind) => [kind, KIND_USAGE]))),
          }),
          snapshots: object({
            active: { type: "integer" },
            held: { type: "integer" },
            deleted: { type: "integer" },
            last_committed_at: NULLABLE_TIME,
          }),
          agents: { type: "array", items: { $ref: "#/components/schemas/Agent" } },
        },
        required: ["usage", "snapshots", "agents"],
      },
    ],
  },
  Agent: object({
    id: { type: "string" },
    tenant_id: { type: "string" },
    hostname: { type: "string" },
    scopes: SCOPES,
    created_at: TIME,
    expires_at: TIME,
    revoked_at: NULLABLE_TIME,
    last_seen_at: NULLABLE_TIME,
    version: { type: ["string", "null"] },
    last_backup_at: NULLABLE_TIME,
    last_backup_status: { type: ["string", "null"], enum: ["success", "partial", "failure", null] },
    last_error: { type: ["string", "null"] },
    last_backup_snapshot_id: { type: ["string", "null"] },
    last_backup_verified: {
      type: ["boolean", "null"],
      description:
        "whether the reported snapshot is one this agent committed; false: claimed, unverified",
    },
  }),
  QuotaRequest: object({ quota_bytes: { type: ["integer", "null"], minimum: 1 } }),
  KeySlotResponse: object({
    name: HEX64,
    outcome: { type: "string", enum: ["created", "exists"] },
  }),
  QuarantineRequest: object(
    {
      agent_id: { type: "string" },
      since: { ...TIME, description: "hide what the agent uploaded from then on; default: all" },
    },
    ["agent_id"],
  ),
  Quarantine: object({
    id: { type: "integer" },
    tenant_id: { type: "string" },
    agent_id: { type: "string" },
    hostname: { type: ["string", "null"] },
    since: TIME,
    created_at: TIME,
    released_at: NULLABLE_TIME,
    hidden_objects: { type: "integer" },
    hidden_bytes: { type: "integer" },
    affected_snapshots: {
      type: "integer",
      description: "snapshots of other agents that list a pack this quarantine hides",
    },
  }),
  AuditEntry: object({
    id: { type: "integer" },
    at: TIME,
    actor: object({
      kind: { type: "string", enum: ["operator", "agent", "system"] },
      id: { type: ["string", "null"] },
    }),
    action: { type: "string" },
    tenant_id: { type: ["string", "null"] },
    details: { type: "object" },
  }),
  EnrollTokenRequest: object(
    {
      expires_in_seconds: { type: "integer", minimum: 60, maximum: 30 * 24 * 3600 },
      scopes: SCOPES,
    },
    ["expires_in_seconds"],
  ),
  EnrollTokenResponse: object({ token: { type: "string" }, expires_at: TIME }),
};

function schemaOf(doc: Partial<SchemaDoc>): Json | undefined {
  if (doc.schema === undefined) return undefined;
  return typeof doc.schema === "string"
    ? { $ref: `#/components/schemas/${doc.schema}` }
    : doc.schema;
}

function operationId(route: Route): string {
  const words = route.path
    .slice(API_PREFIX.length + 1)
    .split(/[/{}-]+/)
    .filter((w) => w !== "");
  return [route.method.toLowerCase(), ...words.map((w) => w[0]?.toUpperCase() + w.slice(1))].join(
    "",
  );
}

function operation(route: Route): Json {
  const pathParams = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string);
  const parameters = [
    ...pathParams.map((name) => ({
      name,
      in: "path",
      required: true,
      description: route.params?.[name]?.description ?? name,
      schema: schemaOf(route.params?.[name] ?? {}) ?? { type: "string" },
    })),
    ...Object.entries(route.queryParams ?? {}).map(([name, doc]) => ({
      name,
      in: "query",
      required: false,
      description: doc.description,
      schema: schemaOf(doc),
    })),
    ...Object.entries(route.requestHeaders ?? {}).map(([name, doc]) => ({
      name,
      in: "header",
      required: false,
      description: doc.description,
      schema: schemaOf(doc),
    })),
  ];
  const responses: Record<string, Json> = {};
  for (const [status, doc] of Object.entries(route.responses)) {
    const schema = schemaOf(doc);
    const type = doc.contentType ?? (schema ? "application/json" : undefined);
    responses[status] = {
      description: doc.description,
      ...(type ? { content: { [type]: schema ? { schema } : {} } } : {}),
      ...(doc.headers
        ? {
            headers: Object.fromEntries(
              doc.headers.map((h) => [h, { schema: { type: "string" } }]),
            ),
          }
        : {}),
    };
  }
  const byStatus = new Map<number, string[]>();
  for (const code of errorsOf(route)) {
    const status = ERROR_STATUS[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  for (const [status, codes] of byStatus)
    responses[String(status)] = {
      description: `error: ${codes.join(", ")}`,
      content: { "application/json": { schema: { $ref: "#/components/schemas/ApiError" } } },
    };
  const body = route.body;
  return {
    operationId: operationId(route),
    summary: route.summary,
    security:
      route.auth === "public"
        ? []
        : [{ [route.auth === "agent" ? "agentCredential" : "operatorSession"]: [] }],
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(body
      ? {
          requestBody: {
            required: true,
            content: {
              [body.contentType]: {
                schema:
                  schemaOf(body) ??
                  (body.contentType === "application/octet-stream"
                    ? {
                        type: "string",
                        contentMediaType: "application/octet-stream",
                        maxLength: MAX_OBJECT_BYTES,
                      }
                    : {}),
              },
            },
          },
        }
      : {}),
    responses,
  };
}

export function openApiDocument(routes: readonly Route[], version: string): Json {
  const paths: Record<string, Record<string, Json>> = {};
  for (const route of routes) {
    const path = paths[route.path] ?? {};
    path[route.method.toLowerCase()] = operation(route);
    paths[route.path] = path;
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Rempart backup server",
      version,
      description: [
        "Append-only for agents: DELETE on any path answers 403 AppendOnly.",
        `JSON bodies: application/json, at most ${MAX_JSON_BYTES} bytes.`,
        `Object bodies: application/octet-stream with a Content-Length, at most ${MAX_OBJECT_BYTES} bytes.`,
        "Errors: {error: {code, message, details?}}; the status follows from the code.",
      ].join(" "),
      license: { name: "AGPL-3.0-or-later", identifier: "AGPL-3.0-or-later" },
    },
    paths,
    components: {
      schemas: SCHEMAS,
      securitySchemes: {
        agentCredential: {
          type: "http",
          scheme: "bearer",
          description: "rmpa_<agent id>_<secret>, from POST /v1/enroll",
        },
        operatorSession: {
          type: "http",
          scheme: "bearer",
          description: "rmps_…, from POST /v1/login",
        },
      },
    },
  };
}
