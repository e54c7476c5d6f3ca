/**
 * The route table's types and the dispatcher. A route is data (method, path template, auth, the
 * protocol's schemas of its parameters, body and answers) plus a handler, so the OpenAPI document
 * is built from the very table that serves requests and cannot drift from it; a JSON body is
 * checked against the same schema the document shows.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { TSchema } from "#typebox";
import type { AgentScope, OperatorRole } from "../catalog/catalog.js";
import type { ApiErrorCode } from "../protocol/api.js";
import { ApiError, isInternal, toApiError } from "./api-error.js";
import {
  type AgentPrincipal,
  authenticateAgent,
  authenticateOperator,
  type OperatorPrincipal,
  requireRole,
  requireScope,
} from "./auth.js";
import type { ServerContext } from "./context.js";
import { parseTarget, readJson, sendError } from "./http.js";

export type Method = "GET" | "HEAD" | "POST" | "PUT";

export interface Call<Who, Body> {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** Path parameters exactly as sent (never decoded): handlers validate them. */
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly who: Who;
  readonly ctx: ServerContext;
  /**
   * The JSON body, read and checked against the route's message (400 naming the field at fault
   * otherwise). A handler calls it when it is ready to pay for reading, not before.
   */
  readonly body: () => Promise<Body>;
}

export interface SchemaDoc {
  /** A protocol schema: a message's (shown as a $ref to its component) or one built of them. */
  readonly schema: TSchema;
}

/** A JSON body, checked by its protocol message. */
export interface JsonBodyDoc<Body> {
  readonly contentType: "application/json";
  readonly message: {
    readonly name: string;
    readonly schema: TSchema;
    parse(value: unknown): Body;
  };
}

/** Bytes, read and checked by the handler itself (objects, key slots). */
export interface OctetBodyDoc {
  readonly contentType: "application/octet-stream";
}

export interface ResponseDoc extends Partial<SchemaDoc> {
  readonly description: string;
  readonly contentType?: "application/json" | "application/octet-stream";
  readonly headers?: readonly string[];
}

interface RouteDoc<Body> {
  readonly method: Method;
  /** OpenAPI path template: `/v1/repo/objects/{kind}/{name}`. */
  readonly path: string;
  readonly summary: string;
  /** Each parameter's protocol schema; its `description` is what the document says of it. */
  readonly params?: Readonly<Record<string, TSchema>>;
  readonly queryParams?: Readonly<Record<string, TSchema>>;
  readonly requestHeaders?: Readonly<Record<string, TSchema>>;
  readonly body?: JsonBodyDoc<Body> | OctetBodyDoc;
  readonly responses: Readonly<Record<number, ResponseDoc>>;
  /** Refusals particular to this route; auth and common ones are added by `errorsOf`. */
  readonly errors: readonly ApiErrorCode[];
}

/** `Body`: the type of the route's JSON body (`never` for a route without one). */
export type Route<Body = never> =
  | (RouteDoc<Body> & {
      readonly auth: "public";
      handle(call: Call<undefined, Body>): Promise<void>;
    })
  | (RouteDoc<Body> & {
      readonly auth: "agent";
      readonly scope: AgentScope;
      handle(call: Call<AgentPrincipal, Body>): Promise<void>;
    })
  | (RouteDoc<Body> & {
      readonly auth: "operator";
      readonly role?: OperatorRole;
      handle(call: Call<OperatorPrincipal, Body>): Promise<void>;
    });

/** Any route of the table, whatever its body. */
export type AnyRoute = Route<unknown>;

/** Every code a route may answer with, its own and those every route of its kind shares. */
export function errorsOf(route: AnyRoute): ApiErrorCode[] {
  const auth: ApiErrorCode[] =
    route.auth === "agent"
      ? ["Unauthorized", "CredentialExpired", "CredentialRevoked", "Forbidden"]
      : route.auth === "operator"
        ? ["Unauthorized", "Forbidden"]
        : [];
  return [...new Set<ApiErrorCode>(["BadRequest", ...auth, ...route.errors, "Internal"])];
}

interface Compiled {
  readonly route: AnyRoute;
  /** A literal segment, or null for a parameter (named in `names`). */
  readonly literals: readonly (string | null)[];
  readonly names: readonly (string | undefined)[];
}

function compile(route: AnyRoute): Compiled {
  const segments = route.path.slice(1).split("/");
  return {
    route,
    literals: segments.map((s) => (s.startsWith("{") ? null : s)),
    names: segments.map((s) => (s.startsWith("{") ? s.slice(1, -1) : undefined)),
  };
}

function match(compiled: Compiled, segments: readonly string[]): Record<string, string> | null {
  if (compiled.literals.length !== segments.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const literal = compiled.literals[i];
    const segment = segments[i] as string;
    if (literal === null) params[compiled.names[i] as string] = segment;
    else if (literal !== segment) return null;
  }
  return params;
}

export type Dispatch = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/** Handles one request to the end; never rejects, whatever the client sent. */
/** The route's JSON body, read and parsed by its message; a route without one has a bug. */
async function bodyOf(
  route: AnyRoute,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<unknown> {
  if (route.body?.contentType !== "application/json")
    throw new ApiError("Internal", `${route.method} ${route.path} declares no JSON body`);
  return route.body.message.parse(await readJson(req, res));
}

export function createDispatcher(routes: readonly AnyRoute[], ctx: ServerContext): Dispatch {
  const table = routes.map(compile);
  return async (req, res) => {
    const started = Date.now();
    let who = "-";
    try {
      // Before anything else, for every path (malformed ones too) and every credential.
      if (req.method === "DELETE")
        throw new ApiError("AppendOnly", "this server never deletes on request: it is append-only");
      const target = parseTarget(req.url);
      const found = table.flatMap((c) => {
        const params = match(c, target.segments);
        return params ? [{ route: c.route, params }] : [];
      });
      if (found.length === 0) throw new ApiError("NotFound", "there is no such route");
      const chosen = found.find((f) => f.route.method === req.method);
      if (chosen === undefined) {
        const allow = [...new Set(found.map((f) => f.route.method)), "DELETE"].join(", ");
        throw new ApiError(
          "MethodNotAllowed",
          `this route does not answer ${req.method}`,
          { allow },
          { Allow: allow },
        );
      }
      const { route, params } = chosen;
      const body = () => bodyOf(route, req, res);
      const base = { req, res, params, query: target.query, ctx, body };
      const authorization = req.headers.authorization;
      switch (route.auth) {
        case "public":
          await route.handle({ ...base, who: undefined });
          break;
        case "agent": {
          const principal = await authenticateAgent(ctx.catalog, authorization, ctx.now());
          who = `agent:${principal.agent.id}`;
          requireScope(principal, route.scope);
          await route.handle({ ...base, who: principal });
          break;
        }
        case "operator": {
          const principal = await authenticateOperator(ctx.catalog, authorization, ctx.now());
          who = `operator:${principal.operator.username}`;
          if (route.role !== undefined) requireRole(principal, route.role);
          await route.handle({ ...base, who: principal });
          break;
        }
      }
    } catch (error) {
      const answer = toApiError(error);
      if (isInternal(answer))
        ctx.log(
          `error in ${req.method} ${JSON.stringify(req.url)}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
        );
      sendError(req, res, answer);
    } finally {
      ctx.log(
        `${req.method} ${JSON.stringify(req.url)} ${res.headersSent ? res.statusCode : "-"} ${who} ${Date.now() - started}ms`,
      );
    }
  };
}
