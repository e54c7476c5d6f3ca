/**
 * The route table's types and the dispatcher. A route is data (method, path template, auth, the
 * protocol's schemas of its parameters, body and answers) plus a handler, so the OpenAPI document
 * is built from the very table that serves requests and cannot drift from it; a JSON body and
 * the query parameters are checked against the same schemas the document shows.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import Type, { type Static, type TSchema } from "#typebox";
import type { AgentScope, ApiTokenScope, OperatorRole } from "../catalog/catalog.js";
import { type ApiErrorCode, type Message, ValidationError } from "../protocol/api.js";
import { message } from "../protocol/message.js";
import { misuseOf } from "./agents/misuse.js";
import { ApiError, isInternal, toApiError } from "./api-error.js";
import { type AgentPrincipal, authenticateAgent, requireScope } from "./auth.js";
import type { ServerContext } from "./context.js";
import { parseTarget, readJson, sendError } from "./http.js";
import { authenticateOperator, type OperatorPrincipal } from "./operators/authenticate.js";
import { auditUnauthenticated, requireAccessAudited } from "./operators/refusals.js";

export type Method = "GET" | "HEAD" | "POST" | "PUT";

/** A route's query parameters: each optional, typed by its schema. */
export type QuerySchemas = Readonly<Record<string, TSchema>>;
export type QueryOf<Q extends QuerySchemas> = { readonly [K in keyof Q]?: Static<Q[K]> };

export interface Call<Who, Body, Query = Readonly<Record<string, unknown>>> {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** Path parameters exactly as sent (never decoded): handlers validate them. */
  readonly params: Readonly<Record<string, string>>;
  /** The query parameters the route declares, checked by their schemas (400 naming the one at fault). */
  readonly query: Query;
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
  readonly contentType?: "application/json" | "application/octet-stream" | "text/plain";
  readonly headers?: readonly string[];
}

interface RouteDoc<Body> {
  readonly method: Method;
  /** OpenAPI path template: `/v1/repo/objects/{kind}/{name}`. */
  readonly path: string;
  readonly summary: string;
  /** Each parameter's protocol schema; its `description` is what the document says of it. */
  readonly params?: Readonly<Record<string, TSchema>>;
  readonly queryParams?: QuerySchemas;
  readonly requestHeaders?: Readonly<Record<string, TSchema>>;
  readonly body?: JsonBodyDoc<Body> | OctetBodyDoc;
  readonly responses: Readonly<Record<number, ResponseDoc>>;
  /** Refusals particular to this route; auth and common ones are added by `errorsOf`. */
  readonly errors: readonly ApiErrorCode[];
}

/**
 * `Body`: the type of the route's JSON body (`never` for a route without one); `Query`: its query
 * parameters (`QueryOf<typeof its queryParams>`).
 */
export type Route<Body = never, Query = QueryOf<Record<never, TSchema>>> =
  | (RouteDoc<Body> & {
      readonly auth: "public";
      handle(call: Call<undefined, Body, Query>): Promise<void>;
    })
  | (RouteDoc<Body> & {
      readonly auth: "agent";
      readonly scope: AgentScope;
      handle(call: Call<AgentPrincipal, Body, Query>): Promise<void>;
    })
  | (RouteDoc<Body> & {
      readonly auth: "operator";
      /** The least role that may call it (docs/SERVER.md has the matrix). */
      readonly role: OperatorRole;
      /** The API token scope that grants it; every token may read. */
      readonly tokenScope: ApiTokenScope;
      handle(call: Call<OperatorPrincipal, Body, Query>): Promise<void>;
    });

/** Any route of the table, whatever its body and query. */
export type AnyRoute = Route<unknown, Readonly<Record<string, unknown>>>;

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
  /** The route's query parameters as one message (none: the route reads no query). */
  readonly query: Message<TSchema> | undefined;
  /** A literal segment, or null for a parameter (named in `names`). */
  readonly literals: readonly (string | null)[];
  readonly names: readonly (string | undefined)[];
}

function compile(route: AnyRoute): Compiled {
  const segments = route.path.slice(1).split("/");
  const query =
    route.queryParams === undefined
      ? undefined
      : message(
          `${route.method} ${route.path} query`,
          Type.Partial(Type.Object(route.queryParams)),
        );
  return {
    route,
    query,
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

/** One answered request, for the metrics: the route's template, never the raw path. */
export interface Answered {
  readonly method: string;
  /** `GET /v1/repo/objects/{kind}/{name}`'s template, or `unmatched`. */
  readonly route: string;
  readonly status: number;
  readonly seconds: number;
  /** The agent's tenant (name), when an agent was authenticated. */
  readonly tenant: string | null;
  readonly contentLength: number | null;
}

/**
 * The query parameters the route declares, checked by its schemas. They arrive as text: an
 * integer's is read only in plain decimal digits (no sign, exponent or hex), so what passes is
 * what the document says. A parameter given twice is refused rather than one of them picked;
 * parameters the route does not declare are ignored, as a newer client may send one.
 */
function queryOf(compiled: Compiled, query: URLSearchParams): Readonly<Record<string, unknown>> {
  const schemas = compiled.route.queryParams;
  if (compiled.query === undefined || schemas === undefined) return {};
  const values: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(schemas)) {
    const given = query.getAll(name);
    const [raw] = given;
    if (raw === undefined) continue;
    if (given.length > 1)
      throw new ApiError(
        "BadRequest",
        `the query parameter ${name} is given ${given.length} times`,
        {
          parameter: name,
        },
      );
    values[name] =
      (schema as { type?: unknown }).type === "integer" && /^\d{1,16}$/.test(raw)
        ? Number(raw)
        : raw;
  }
  try {
    return compiled.query.parse(values) as Readonly<Record<string, unknown>>;
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    throw new ApiError("BadRequest", `the query parameter ${error.message}`, {
      parameter: error.field,
    });
  }
}

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

/** Handles one request to the end; never rejects, whatever the client sent. */
export function createDispatcher(
  routes: readonly AnyRoute[],
  ctx: ServerContext,
  observe?: (answered: Answered) => void,
): Dispatch {
  const table = routes.map(compile);
  return async (req, res) => {
    const started = Date.now();
    const clock = performance.now();
    let who = "-";
    let agent: AgentPrincipal | undefined;
    let template = "unmatched";
    let tenant: string | null = null;
    try {
      // Before anything else, for every path (malformed ones too) and every credential.
      if (req.method === "DELETE")
        throw new ApiError("AppendOnly", "this server never deletes on request: it is append-only");
      const target = parseTarget(req.url);
      const found = table.flatMap((c) => {
        const params = match(c, target.segments);
        return params ? [{ compiled: c, route: c.route, params }] : [];
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
      const { compiled, route, params } = chosen;
      template = route.path;
      const body = () => bodyOf(route, req, res);
      // Checked once the caller is known, so a stranger learns nothing of a route's parameters.
      const base = { req, res, params, ctx, body };
      const query = () => queryOf(compiled, target.query);
      const authorization = req.headers.authorization;
      switch (route.auth) {
        case "public":
          await route.handle({ ...base, query: query(), who: undefined });
          break;
        case "agent": {
          const principal = await authenticateAgent(ctx.catalog, authorization, ctx.now(), (r) =>
            ctx.agentWatch.leftover(req, r),
          );
          agent = principal;
          who = `agent:${principal.agent.id}`;
          await ctx.agentWatch.seen(req, principal.agent);
          tenant = principal.tenant.name;
          requireScope(principal, route.scope);
          await route.handle({ ...base, query: query(), who: principal });
          break;
        }
        case "operator": {
          const refusal = {
            security: ctx.operatorSecurity,
            route: `${route.method} ${route.path}`,
            address: req.socket.remoteAddress ?? null,
            now: ctx.now(),
          };
          const principal = await authenticateOperator(
            ctx.catalog,
            ctx.operatorSecurity.policy,
            authorization,
            refusal.now,
          ).catch(async (error: unknown) => {
            if (error instanceof ApiError) await auditUnauthenticated(refusal, error);
            throw error;
          });
          who = `operator:${principal.operator.username}${principal.credential.kind === "token" ? `/token:${principal.credential.token.id}` : ""}`;
          await requireAccessAudited(
            principal,
            { role: route.role, scope: route.tokenScope },
            refusal,
          );
          await route.handle({ ...base, query: query(), who: principal });
          break;
        }
      }
    } catch (error) {
      const answer = toApiError(error);
      const misuse = misuseOf(req.method, req.url, error);
      if (misuse !== undefined) await ctx.agentWatch.misuse(req, agent, misuse);
      if (isInternal(answer))
        ctx.log(
          `error in ${req.method} ${JSON.stringify(req.url)}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
        );
      sendError(req, res, answer);
    } finally {
      observe?.({
        method: req.method ?? "-",
        route: template,
        status: res.headersSent ? res.statusCode : 0,
        seconds: (performance.now() - clock) / 1000,
        tenant,
        contentLength: Number(req.headers["content-length"] ?? "") || null,
      });
      ctx.log(
        `${req.method} ${JSON.stringify(req.url)} ${res.headersSent ? res.statusCode : "-"} ${who} ${Date.now() - started}ms`,
      );
    }
  };
}
