/**
 * The OpenAPI 3.1 document, built from the route table (paths, methods, auth, parameters, bodies
 * and every error code a route can answer) and the protocol's messages, whose schemas are JSON
 * Schema already: each becomes a component, and a message met inside another is a $ref to it.
 */
import type { TSchema } from "#typebox";
import {
  API_PREFIX,
  ApiErrorBody,
  COMPONENTS,
  ERROR_STATUS,
  MAX_JSON_BYTES,
  MAX_OBJECT_BYTES,
} from "../protocol/api.js";
import { type AnyRoute, errorsOf } from "./router.js";

type Json = Readonly<Record<string, unknown>>;

const COMPONENT_NAMES = new Map<unknown, string>(COMPONENTS.map((m) => [m.schema, m.name]));

/** The schema as plain JSON, each component inside it (and itself, unless `own`) as a $ref. */
function toJson(schema: unknown, own?: unknown): unknown {
  const name = schema === own ? undefined : COMPONENT_NAMES.get(schema);
  if (name !== undefined) return { $ref: `#/components/schemas/${name}` };
  if (Array.isArray(schema)) return schema.map((item) => toJson(item));
  if (typeof schema !== "object" || schema === null) return schema;
  return Object.fromEntries(Object.entries(schema).map(([key, value]) => [key, toJson(value)]));
}

const schemaOf = (schema: TSchema): unknown => toJson(schema);

function operationId(route: AnyRoute): string {
  const words = route.path
    .slice(API_PREFIX.length + 1)
    .split(/[/{}-]+/)
    .filter((w) => w !== "");
  return [route.method.toLowerCase(), ...words.map((w) => w[0]?.toUpperCase() + w.slice(1))].join(
    "",
  );
}

function operation(route: AnyRoute): Json {
  const pathParams = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string);
  const parameter = (name: string, where: string, schema: TSchema | undefined) => ({
    name,
    in: where,
    required: where === "path",
    description: (schema as { description?: string } | undefined)?.description ?? name,
    schema: schemaOf(schema ?? { type: "string" }),
  });
  const parameters = [
    ...pathParams.map((name) => parameter(name, "path", route.params?.[name])),
    ...Object.entries(route.queryParams ?? {}).map(([name, s]) => parameter(name, "query", s)),
    ...Object.entries(route.requestHeaders ?? {}).map(([name, s]) => parameter(name, "header", s)),
  ];
  const responses: Record<string, Json> = {};
  for (const [status, doc] of Object.entries(route.responses)) {
    const schema = doc.schema === undefined ? undefined : schemaOf(doc.schema);
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
      content: { "application/json": { schema: schemaOf(ApiErrorBody.schema) } },
    };
  const body = route.body;
  return {
    operationId: operationId(route),
    summary: route.summary,
    ...(route.auth === "operator"
      ? {
          description: `Needs the ${route.role} role; an API token needs the ${route.tokenScope} scope.`,
        }
      : {}),
    security:
      route.auth === "public"
        ? []
        : route.auth === "agent"
          ? [{ agentCredential: [] }]
          : [{ operatorSession: [] }, { apiToken: [] }],
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(body
      ? {
          requestBody: {
            required: true,
            content: {
              [body.contentType]: {
                schema:
                  body.contentType === "application/json"
                    ? schemaOf(body.message.schema)
                    : {
                        type: "string",
                        contentMediaType: "application/octet-stream",
                        maxLength: MAX_OBJECT_BYTES,
                      },
              },
            },
          },
        }
      : {}),
    responses,
  };
}

export function openApiDocument(routes: readonly AnyRoute[], version: string): Json {
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
      schemas: Object.fromEntries(COMPONENTS.map((m) => [m.name, toJson(m.schema, m.schema)])),
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
        apiToken: {
          type: "http",
          scheme: "bearer",
          description: "rmpt_…, from rempart admin token create on the server machine",
        },
      },
    },
  };
}
