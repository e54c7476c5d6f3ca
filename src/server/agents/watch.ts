/**
 * What the server learns from agents' requests, besides answering them:
 *
 * - every authenticated request is a check-in (time, host, version, address), written to the
 *   catalog at most once per agent per `checkInEveryMs` unless its host or version changed, so
 *   the object routes (a pack every few hundred milliseconds per agent) cost no catalog write;
 * - a credential whose secret is right but that is revoked, expired or of an offboarded tenant is
 *   a leftover agent: an admin tool still installed on a former client's machine, the way the
 *   attack this service exists for came in;
 * - an authenticated agent doing what the agent never does (misuse.ts) is in someone else's hands.
 *
 * The last two are audited, throttled per agent and kind (the first at once, then one per
 * `auditEveryMs` carrying the count refused in between), so a loop cannot flood the log, and each
 * raises one high alert per agent per `alertQuietMs`, claimed in the catalog so that neither a
 * restart nor a burst of concurrent requests raises a second. A wrong secret reaches none of this.
 *
 * Nothing here ever fails a request: the request's own answer stands, a recording failure is
 * logged.
 */
import type { IncomingMessage } from "node:http";
import type { Agent, AgentSighting, Catalog, Tenant } from "../../catalog/catalog.js";
import { ThrottledAudit } from "../audit/throttled.js";
import { type AgentPrincipal, authenticateAgent, type RefusedAgent } from "../auth.js";
import { HOUR_MS } from "../rate-limit.js";
import { bearerToken, tokenKind } from "../tokens.js";
import type { Misuse } from "./misuse.js";
import { sightingOf } from "./sighting.js";

const DAY_MS = 24 * HOUR_MS;

export interface AgentWatchOptions {
  /** Default one minute. */
  readonly checkInEveryMs?: number;
  /** Default a day. */
  readonly alertQuietMs?: number;
  /** Default 10 minutes: at most 6 entries per agent, kind and hour after the first. */
  readonly auditEveryMs?: number;
}

interface Recorded {
  readonly at: number;
  readonly host: string | undefined;
  readonly version: string | undefined;
}

/** The actor of the alerts this module raises. */
const WATCH_ACTOR = { kind: "system", id: "agent-watch" } as const;

export class AgentWatch {
  private readonly checkInEveryMs: number;
  private readonly alertQuietMs: number;
  private readonly audits: ThrottledAudit;
  private readonly recorded = new Map<string, Recorded>();

  constructor(
    private readonly catalog: Catalog,
    private readonly now: () => Date,
    private readonly log: (line: string) => void,
    options: AgentWatchOptions = {},
  ) {
    this.checkInEveryMs = options.checkInEveryMs ?? 60_000;
    this.alertQuietMs = options.alertQuietMs ?? DAY_MS;
    this.audits = new ThrottledAudit(catalog, options.auditEveryMs ?? 10 * 60_000);
  }

  /** An authenticated request of `agent`: its check-in, written when worth a write. */
  async seen(req: IncomingMessage, agent: Agent): Promise<void> {
    const sighting = sightingOf(req);
    const now = this.now();
    const last = this.recorded.get(agent.id);
    if (
      last !== undefined &&
      now.getTime() - last.at < this.checkInEveryMs &&
      (sighting.host ?? last.host) === last.host &&
      (sighting.version ?? last.version) === last.version
    )
      return;
    this.recorded.set(agent.id, {
      at: now.getTime(),
      host: sighting.host ?? last?.host,
      version: sighting.version ?? last?.version,
    });
    await this.safely(`check-in of agent ${agent.id}`, () =>
      this.catalog.recordAgentSighting(agent.id, sighting, now),
    );
  }

  /** A request with a real credential that is no longer valid: a leftover agent. */
  async leftover(req: IncomingMessage, refused: RefusedAgent): Promise<void> {
    const { agent, reason } = refused;
    await this.safely(`leftover agent ${agent.id}`, async () => {
      const sighting = sightingOf(req);
      const tenant = await this.catalog.getTenant(agent.tenantId);
      if (tenant === undefined) return;
      const facts = factsOf(agent, sighting);
      const details = { ...facts, reason, tenant_status: tenant.status };
      await this.audit(agent, tenant, "agent.leftover-call", "leftover", details);
      const now = this.now();
      if (!(await this.catalog.claimAgentAlert(agent.id, "leftover", now, this.alertQuietMs)))
        return;
      await this.catalog.raiseAlert(
        {
          tenantId: tenant.id,
          agentId: agent.id,
          snapshotId: null,
          kind: "leftover-agent",
          severity: "high",
          message: leftoverMessage(agent, tenant, refused, facts),
          details,
        },
        { actor: WATCH_ACTOR },
        now,
      );
    });
  }

  /**
   * A refused request that betrays `misuse`. `principal`: the agent, when the request got that
   * far; otherwise its credential is checked now, and nothing is recorded unless it is right.
   */
  async misuse(
    req: IncomingMessage,
    principal: AgentPrincipal | undefined,
    misuse: Misuse,
  ): Promise<void> {
    await this.safely(`misuse by ${principal?.agent.id ?? "an agent"}`, async () => {
      const who = principal ?? (await this.identify(req));
      if (who === undefined) return;
      const { agent, tenant } = who;
      const facts = factsOf(agent, sightingOf(req));
      const details = {
        ...facts,
        misuse: misuse.kind,
        target: misuse.target,
        method: req.method ?? null,
        ...(misuse.reason === undefined ? {} : { reason: misuse.reason }),
      };
      await this.audit(agent, tenant, "agent.misuse", misuse.kind, details);
      const now = this.now();
      if (!(await this.catalog.claimAgentAlert(agent.id, "misuse", now, this.alertQuietMs))) return;
      await this.catalog.raiseAlert(
        {
          tenantId: tenant.id,
          agentId: agent.id,
          snapshotId: null,
          kind: "agent-misuse",
          severity: "high",
          message: misuseMessage(agent, tenant, misuse, facts, req.method),
          details,
        },
        { actor: WATCH_ACTOR },
        now,
      );
    });
  }

  /** The agent a request's credential proves, or undefined: refusals here answer nobody. */
  private async identify(req: IncomingMessage): Promise<AgentPrincipal | undefined> {
    const token = bearerToken(req.headers.authorization);
    if (token === undefined || tokenKind(token) !== "agent") return undefined;
    try {
      return await authenticateAgent(this.catalog, req.headers.authorization, this.now(), (r) =>
        this.leftover(req, r),
      );
    } catch {
      // Refused (wrong secret, or a leftover agent already recorded as such): not a misuse by
      // an authenticated agent.
      return undefined;
    }
  }

  /** Appends `action` unless the agent's entries of `key` are being throttled. */
  private async audit(
    agent: Agent,
    tenant: Tenant,
    action: string,
    key: string,
    details: Readonly<Record<string, unknown>>,
  ): Promise<void> {
    await this.audits.append(
      `${agent.id} ${key}`,
      { actor: { kind: "agent", id: agent.id }, action, tenantId: tenant.id, details },
      this.now(),
    );
  }

  private async safely(what: string, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (error) {
      this.log(
        `could not record the ${what}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
      );
    }
  }
}

interface Facts {
  readonly agent_id: string;
  readonly hostname: string;
  readonly host: string | null;
  readonly address: string | null;
  readonly version: string | null;
}

function factsOf(agent: Agent, sighting: AgentSighting): Facts {
  return {
    agent_id: agent.id,
    hostname: agent.hostname,
    host: sighting.host ?? null,
    address: sighting.address ?? null,
    version: sighting.version ?? null,
  };
}

/** The host the request named, and the enrolled name too when they differ. */
function hostOf(facts: Facts): string {
  return facts.host === null || facts.host === facts.hostname
    ? facts.hostname
    : `${facts.host} (enrolled as ${facts.hostname})`;
}

function leftoverMessage(
  agent: Agent,
  tenant: Tenant,
  refused: RefusedAgent,
  facts: Facts,
): string {
  const client = tenant.status === "active" ? "client" : "former client";
  const why =
    refused.reason === "revoked"
      ? `its credential was revoked at ${agent.revokedAt?.toISOString()}`
      : refused.reason === "expired"
        ? `its credential expired at ${agent.expiresAt.toISOString()}`
        : `the client is ${tenant.status}`;
  return `agent ${agent.id} on host ${hostOf(facts)} of ${client} ${tenant.name} is still installed and calling in from ${facts.address ?? "an unknown address"} (${why}; refused). Uninstall it from that machine.`;
}

function misuseMessage(
  agent: Agent,
  tenant: Tenant,
  misuse: Misuse,
  facts: Facts,
  method: string | undefined,
): string {
  const what: Record<Misuse["kind"], string> = {
    delete: `tried to DELETE ${misuse.target}`,
    overwrite: `tried to overwrite ${misuse.target} with other bytes`,
    "forged-bytes": `uploaded bytes that do not match their name ${misuse.target}`,
    "malformed-object": `uploaded ${misuse.target}, which is not what its kind says`,
    "outside-tenant": `reached outside its tenant (${method ?? "?"} ${misuse.target})`,
  };
  return `agent ${agent.id} on host ${hostOf(facts)} of client ${tenant.name} ${what[misuse.kind]} from ${facts.address ?? "an unknown address"}: refused. The Rempart agent never does this; its credential may be in someone else's hands. Revoke it (rempart admin agent revoke ${agent.id}) and examine the machine.`;
}
