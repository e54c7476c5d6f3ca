/**
 * The route table's types and the dispatcher. A route is data (method, path template, auth,
 * documented bodies and answers) plus a handler, so the OpenAPI document is built from the very
 * table that serves requests and cannot drift from it.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
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
import { parseTarget, sendError } from "./http.js";

export type Method = "GET" | "HEAD" | "POST" | "PUT";

export interface Call<Who> {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** Path parameters exactly as sent (never decoded): handlers validate them. */
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly who: Who;
  readonly ctx: ServerContext;
}

export interface SchemaDoc {
  /** A name in the OpenAPI components, or an inline JSON Schema. */
  readonly schema: string | Readonly<Record<string, unknown>>;
}

export interface BodyDoc extends Partial<SchemaDoc> {
  readonly contentType: "application/json" | "application/octet-stream";
}

export interface ResponseDoc extends Partial<SchemaDoc> {
  readonly description: string;
  readonly contentType?: "application/json" | "application/octet-stream";
  readonly headers?: readonly string[];
}

export interface ParamDoc extends SchemaDoc {
  readonly description: string;
}

interface RouteDoc {
  readonly method: Method;
  /** OpenAPI path template: `/v1/repo/objects/{kind}/{name}`. */
  readonly path: string;
  readonly summary: string;
  readonly params?: Readonly<Record<string, ParamDoc>>;
  readonly queryParams?: Readonly<Record<string, ParamDoc>>;
  readonly requestHeaders?: Readonly<Record<string, ParamDoc>>;
  readonly body?: BodyDoc;
  readonly responses: Readonly<Record<number, ResponseDoc>>;
  /** Refusals particular to this route; auth and common ones are added by `errorsOf`. */
  readonly errors: readonly ApiErrorCode[];
}

export type Route =
  | (RouteDoc & { readonly auth: "public"; handle(call: Call<undefined>): Promise<void> })
  | (RouteDoc & {
      readonly auth: "agent";
      readonly scope: AgentScope;
      handle(call: Call<AgentPrincipal>): Promise<void>;
    })
  | (RouteDoc & {
      readonly auth: "operator";
      readonly role?: OperatorRole;
      handle(call: Call<OperatorPrincipal>): Promise<void>;
    });

/** Every code a route may answer with, its own and those every route of its kind shares. */
export function errorsOf(route: Route): ApiErrorCode[] {
  const auth: ApiErrorCode[] =
    route.auth === "agent"
      ? ["Unauthorized", "CredentialExpired", "CredentialRevoked", "Forbidden"]
      : route.auth === "operator"
        ? ["Unauthorized", "Forbidden"]
        : [];
  return [...new Set<ApiErrorCode>(["BadRequest", ...auth, ...route.errors, "Internal"])];
}

interface Compiled {
  readonly route: Route;
  /** A literal segment, or null for a parameter (named in `names`). */
  readonly literals: readonly (string | null)[];
  readonly names: readonly (string | undefined)[];
}

function compile(route: Route): Compiled {
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
export function createDispatcher(routes: readonly Route[], ctx: ServerContext): Dispatch {
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
      const base = { req, res, params, query: target.query, ctx };
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
