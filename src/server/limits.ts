/**
 * What one client may hold of the server at once, so that one tenant (or someone holding one of
 * its agents' credentials) cannot slow down another:
 *
 * - upload memory: a budget per tenant, at most half of the server's, taken before the server's;
 * - bodies keep arriving at a minimum rate once read, or are answered 408 and let go;
 * - JSON bodies without a tenant (login, enroll, operators) are small for the public routes and
 *   counted in one small budget; an agent's JSON bodies count in its tenant's upload budget;
 * - connections per source address (IPv6: per /64) are capped;
 * - snapshot commits are rate-limited per agent.
 *
 * `resolveLimits` turns the server's options into these (pure); `guardRoutes` wraps each route's
 * handler so that it runs under the limits of its kind of caller.
 */
import { MAX_JSON_BYTES, MAX_OBJECT_BYTES } from "../protocol/api.js";
import type { AgentPrincipal } from "./auth.js";
import type { Budget, TenantBudgets } from "./budget.js";
import type { ServerContext } from "./context.js";
import { type BodyLimits, DEFAULT_MIN_RATE, limitBodies, type MinRate } from "./http.js";
import type { OperatorPrincipal } from "./operators/authenticate.js";
import { checkRule, type RateRule } from "./rate-limit.js";
import type { AnyRoute, Call } from "./router.js";

export interface Limits {
  /** Upload bodies (and agents' JSON bodies) held in memory at once, across every tenant. */
  readonly uploadMemoryBytes: number;
  /** What one tenant may hold of it: at least one full object, at most half of it. */
  readonly tenantUploadMemoryBytes: number;
  /** JSON bodies of requests without a tenant (login, enroll, operators) held at once. */
  readonly publicJsonMemoryBytes: number;
  /** Largest JSON body of a public route (login, enroll): they are a few hundred bytes. */
  readonly publicJsonBytes: number;
  readonly minBodyRate: MinRate;
  /** Connections one source (an IPv4 address, an IPv6 /64) may hold open at once. */
  readonly connectionsPerAddress: number;
  readonly commitRate: RateRule;
}

/**
 * 256 MiB of uploads in all, 128 MiB per tenant: a tenant's agent uploading with its 8 sockets
 * keeps 8 packs of 16 MiB in flight, and two tenants can upload at full speed at once.
 * 256 connections per address: a client company's machines usually share one NAT address, and an
 * agent opens up to 8 connections while it backs up, so 32 machines can back up at once.
 * Commits: 30 at once, then one per 10 s. A normal agent commits a few times a day; a retry after
 * uploading packs GC took, several backup jobs in one run or an operator's manual backups cost a
 * few more, and agents do not yet wait and retry on 429, so a burst must never meet the limit.
 * A loop committing junk is refused within seconds, and then adds at most 360 snapshots an hour
 * (each with up to a million pack rows) instead of thousands.
 */
export const DEFAULT_LIMITS: Limits = {
  uploadMemoryBytes: 4 * MAX_OBJECT_BYTES,
  tenantUploadMemoryBytes: 2 * MAX_OBJECT_BYTES,
  publicJsonMemoryBytes: 16 * 1024 * 1024,
  publicJsonBytes: 16 * 1024,
  minBodyRate: DEFAULT_MIN_RATE,
  connectionsPerAddress: 256,
  commitRate: { burst: 30, intervalMs: 10_000 },
};

function whole(name: string, value: number, least: number): number {
  if (!Number.isSafeInteger(value) || value < least)
    throw new RangeError(`${name} must be a whole number of at least ${least}, not ${value}`);
  return value;
}

/**
 * The limits for the options given, the defaults for the rest. A server budget below two full
 * objects is raised to two (one tenant must never be able to take all of it); a tenant's share
 * defaults to (and may not exceed) half of it, and is at least one full object.
 */
export function resolveLimits(given: Partial<Limits> = {}): Limits {
  const server = Math.max(
    given.uploadMemoryBytes ?? DEFAULT_LIMITS.uploadMemoryBytes,
    2 * MAX_OBJECT_BYTES,
  );
  const tenant = Math.min(
    Math.max(given.tenantUploadMemoryBytes ?? server / 2, MAX_OBJECT_BYTES),
    Math.floor(server / 2),
  );
  const publicJsonBytes = whole(
    "the public JSON body limit",
    given.publicJsonBytes ?? DEFAULT_LIMITS.publicJsonBytes,
    1,
  );
  const rate = given.minBodyRate ?? DEFAULT_LIMITS.minBodyRate;
  return {
    uploadMemoryBytes: whole("the upload memory", server, 1),
    tenantUploadMemoryBytes: whole("a tenant's upload memory", Math.floor(tenant), 1),
    publicJsonBytes,
    // Operators' bodies count here too, and may be as large as any JSON body.
    publicJsonMemoryBytes: Math.max(
      whole(
        "the public JSON memory",
        given.publicJsonMemoryBytes ?? DEFAULT_LIMITS.publicJsonMemoryBytes,
        1,
      ),
      publicJsonBytes,
      MAX_JSON_BYTES,
    ),
    minBodyRate: {
      bytes: whole("the minimum body rate's bytes", rate.bytes, 1),
      windowMs: whole("the minimum body rate's window", rate.windowMs, 1),
    },
    connectionsPerAddress: whole(
      "the connections per address",
      given.connectionsPerAddress ?? DEFAULT_LIMITS.connectionsPerAddress,
      1,
    ),
    commitRate: checkRule(given.commitRate ?? DEFAULT_LIMITS.commitRate),
  };
}

export interface Guards {
  readonly limits: Limits;
  readonly uploadMemory: TenantBudgets;
  readonly publicJsonMemory: Budget;
}

/** A context's upload memory before a route gives it a tenant's: nothing is lent without one. */
export const NO_UPLOAD_MEMORY = {
  acquire: () =>
    Promise.reject(new Error("upload memory is only lent to an agent route, for its tenant")),
  with: () =>
    Promise.reject(new Error("upload memory is only lent to an agent route, for its tenant")),
};

/** The routes, each handler run under the body limits (and upload memory) of its caller. */
export function guardRoutes(routes: readonly AnyRoute[], guards: Guards): AnyRoute[] {
  const { limits } = guards;
  const untenanted = (maxJsonBytes: number): BodyLimits => ({
    minRate: limits.minBodyRate,
    maxJsonBytes,
    jsonMemory: guards.publicJsonMemory,
  });
  const publicBodies = untenanted(limits.publicJsonBytes);
  const operatorBodies = untenanted(MAX_JSON_BYTES);
  const guard = (route: AnyRoute): AnyRoute => {
    if (route.auth === "public")
      return {
        ...route,
        handle: (call: Call<undefined, unknown>) => {
          limitBodies(call.req, publicBodies);
          return route.handle(call);
        },
      };
    if (route.auth === "operator")
      return {
        ...route,
        handle: (call: Call<OperatorPrincipal, unknown>) => {
          limitBodies(call.req, operatorBodies);
          return route.handle(call);
        },
      };
    return {
      ...route,
      handle: (call: Call<AgentPrincipal, unknown>) => {
        const memory = guards.uploadMemory.of(call.who.tenant.id);
        limitBodies(call.req, {
          minRate: limits.minBodyRate,
          maxJsonBytes: MAX_JSON_BYTES,
          jsonMemory: memory,
        });
        const ctx: ServerContext = { ...call.ctx, uploadMemory: memory };
        return route.handle({ ...call, ctx });
      },
    };
  };
  return routes.map(guard);
}
