/** Agents and enrollment tokens in SQLite: the `agents` and `enrollment_tokens` tables. */

import { timingSafeEqual } from "node:crypto";
import { RempartError } from "../../errors.js";
import type {
  Agent,
  AgentAlertGate,
  AgentCatalog,
  AgentCheckIn,
  AgentSighting,
  EnrollmentToken,
  NewAgent,
  NewEnrollmentToken,
} from "../agents.js";
import {
  checkBackupError,
  checkBackupOutcome,
  checkExpiry,
  checkHostname,
  checkObjectName,
  checkSecretHash,
  checkTime,
  checkVersion,
  normalizeScopes,
} from "../validation.js";
import { newId, notFound, type SqliteDb } from "./db.js";
import { activeTenant, agentRow, operatorRow, tenantRow } from "./lookups.js";
import {
  AGENT_COLUMNS,
  type AgentRow,
  encodeScopes,
  TOKEN_COLUMNS,
  type TokenRow,
  toAgent,
  toEnrollmentToken,
} from "./rows.js";

export class SqliteAgents implements AgentCatalog {
  constructor(private readonly db: SqliteDb) {}

  async createEnrollmentToken(token: NewEnrollmentToken, now: Date): Promise<EnrollmentToken> {
    const times = checkExpiry(token.expiresAt, now);
    const row: TokenRow = {
      token_hash: checkSecretHash("tokenHash", token.tokenHash),
      tenant_id: token.tenantId,
      created_by: token.createdBy,
      created_at: times.now,
      expires_at: times.expiresAt,
      used_at: null,
      scopes: encodeScopes(normalizeScopes(token.scopes)),
    };
    return this.db.write(() => {
      activeTenant(this.db, row.tenant_id);
      const operator = operatorRow(this.db, row.created_by) ?? notFound("operator", row.created_by);
      if (operator.disabled === 1) {
        throw new RempartError("InvalidArgument", `operator ${operator.username} is disabled`, {
          reason: "operator-disabled",
        });
      }
      this.db
        .statement(
          `INSERT INTO enrollment_tokens (${TOKEN_COLUMNS}) VALUES (@token_hash, @tenant_id,
          @created_by, @created_at, @expires_at, @used_at, @scopes)`,
        )
        .run(row);
      return toEnrollmentToken(row);
    });
  }

  async consumeEnrollmentToken(tokenHash: string, now: Date): Promise<EnrollmentToken> {
    checkSecretHash("tokenHash", tokenHash);
    const at = checkTime("now", now);
    return this.db.write(() => {
      const row = this.db
        .statement<TokenRow & { tenant_status: string }>(
          `SELECT ${TOKEN_COLUMNS},
          (SELECT status FROM tenants WHERE tenants.id = enrollment_tokens.tenant_id) AS tenant_status
          FROM enrollment_tokens WHERE token_hash = ?`,
        )
        .get(tokenHash);
      if (row === undefined) {
        throw new RempartError("NotFound", "this enrollment token is unknown", {
          reason: "unknown",
        });
      }
      if (row.used_at !== null) {
        throw new RempartError("ObjectConflict", "this enrollment token has already been used", {
          reason: "used",
          usedAt: new Date(row.used_at).toISOString(),
        });
      }
      if (at >= row.expires_at) {
        throw new RempartError("InvalidArgument", "this enrollment token has expired", {
          reason: "expired",
          expiresAt: new Date(row.expires_at).toISOString(),
        });
      }
      if (row.tenant_status !== "active") {
        throw new RempartError(
          "InvalidArgument",
          `the tenant of this enrollment token is ${row.tenant_status}, not active`,
          { reason: "tenant-inactive", tenantId: row.tenant_id },
        );
      }
      // An offboarding revokes every credential of the tenant, tokens not yet used included, for
      // good: cancelling the deletion does not bring them back.
      const offboarded = this.db
        .statement<number | null>(
          "SELECT max(requested_at) FROM tenant_deletions WHERE tenant_id = ?",
        )
        .pluck()
        .get(row.tenant_id);
      if (offboarded != null && row.created_at <= offboarded) {
        throw new RempartError(
          "InvalidArgument",
          "this enrollment token was issued before the tenant's offboarding was requested; issue a new one",
          { reason: "tenant-inactive", tenantId: row.tenant_id },
        );
      }
      this.db
        .statement("UPDATE enrollment_tokens SET used_at = ? WHERE token_hash = ?")
        .run(at, tokenHash);
      return toEnrollmentToken({ ...row, used_at: at });
    });
  }

  async createAgent(agent: NewAgent, now: Date): Promise<Agent> {
    const times = checkExpiry(agent.expiresAt, now);
    const secretHash = checkSecretHash("secretHash", agent.secretHash);
    const row: AgentRow = {
      id: newId(),
      tenant_id: agent.tenantId,
      hostname: checkHostname(agent.hostname),
      scopes: encodeScopes(normalizeScopes(agent.scopes)),
      created_at: times.now,
      expires_at: times.expiresAt,
      revoked_at: null,
      last_seen_at: null,
      version: agent.version == null ? null : checkVersion(agent.version),
      last_backup_at: null,
      last_backup_status: null,
      last_error: null,
      last_backup_snapshot: null,
      last_backup_verified: null,
      last_host: null,
      last_address: null,
    };
    return this.db.write(() => {
      activeTenant(this.db, row.tenant_id);
      this.db
        .statement(
          `INSERT INTO agents (${AGENT_COLUMNS}, secret_hash) VALUES (@id, @tenant_id, @hostname,
          @scopes, @created_at, @expires_at, @revoked_at, @last_seen_at, @version,
          @last_backup_at, @last_backup_status, @last_error, @last_backup_snapshot,
          @last_backup_verified, @last_host, @last_address, @secret_hash)`,
        )
        .run({ ...row, secret_hash: secretHash });
      return toAgent(row);
    });
  }

  async getAgent(id: string): Promise<Agent | undefined> {
    const row = agentRow(this.db, id);
    return row && toAgent(row);
  }

  async listAgents(tenantId: string): Promise<Agent[]> {
    return this.db
      .statement<AgentRow>(
        `SELECT ${AGENT_COLUMNS} FROM agents WHERE tenant_id = ? ORDER BY hostname, id`,
      )
      .all(tenantId)
      .map(toAgent);
  }

  async revokeAgent(id: string, now: Date): Promise<void> {
    const at = checkTime("now", now);
    this.db.write(() => {
      agentRow(this.db, id) ?? notFound("agent", id);
      this.db
        .statement("UPDATE agents SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
        .run(at, id);
    });
  }

  async revokeTenantAgents(tenantId: string, now: Date): Promise<number> {
    const at = checkTime("now", now);
    return this.db.write(() => {
      tenantRow(this.db, tenantId) ?? notFound("tenant", tenantId);
      return revokeAgentsOf(this.db, tenantId, at);
    });
  }

  async authenticateAgent(id: string, secretHash: string, now: Date): Promise<Agent | undefined> {
    const offered = Buffer.from(checkSecretHash("secretHash", secretHash), "hex");
    const at = checkTime("now", now);
    const row = this.db
      .statement<AgentRow & { secret_hash: string }>(
        `SELECT ${AGENT_COLUMNS}, secret_hash FROM agents
        WHERE id = ? AND revoked_at IS NULL AND expires_at > ?
          AND tenant_id IN (SELECT id FROM tenants WHERE status = 'active')`,
      )
      .get(id, at);
    return row && withSecret(row, offered);
  }

  async identifyAgent(id: string, secretHash: string): Promise<Agent | undefined> {
    const offered = Buffer.from(checkSecretHash("secretHash", secretHash), "hex");
    const row = this.db
      .statement<AgentRow & { secret_hash: string }>(
        `SELECT ${AGENT_COLUMNS}, secret_hash FROM agents WHERE id = ?`,
      )
      .get(id);
    return row && withSecret(row, offered);
  }

  async recordAgentCheckIn(id: string, checkIn: AgentCheckIn, now: Date): Promise<void> {
    const at = checkTime("now", now);
    const version = checkVersion(checkIn.version);
    const backup = checkIn.lastBackup;
    const report = backup && {
      at: checkTime("lastBackup.at", backup.at),
      status: checkBackupOutcome(backup.status),
      error: checkBackupError(backup.error),
      snapshot: backup.snapshotId == null ? null : checkObjectName("snapshots", backup.snapshotId),
    };
    this.db.write(() => {
      const agent = agentRow(this.db, id) ?? notFound("agent", id);
      this.db
        .statement("UPDATE agents SET last_seen_at = ?, version = ? WHERE id = ?")
        .run(at, version, id);
      if (report !== undefined) {
        // A backup that says it produced something is believed only for a snapshot this very
        // agent committed: a stolen credential cannot make a machine look backed up.
        const verified =
          report.status === "failure"
            ? null
            : report.snapshot !== null &&
                this.db
                  .statement(
                    "SELECT 1 FROM snapshots WHERE tenant_id = ? AND id = ? AND agent_id = ?",
                  )
                  .get(agent.tenant_id, report.snapshot, id) !== undefined
              ? 1
              : 0;
        this.db
          .statement(
            `UPDATE agents SET last_backup_at = ?, last_backup_status = ?, last_error = ?,
            last_backup_snapshot = ?, last_backup_verified = ? WHERE id = ?`,
          )
          .run(report.at, report.status, report.error, report.snapshot, verified, id);
      }
    });
  }

  async recordAgentSighting(id: string, sighting: AgentSighting, now: Date): Promise<void> {
    const at = checkTime("now", now);
    const row = {
      id,
      at,
      host: sighting.host === undefined ? null : checkHostname(sighting.host),
      version: sighting.version === undefined ? null : checkVersion(sighting.version),
      address: sighting.address === undefined ? null : checkAddress(sighting.address),
    };
    this.db.write(() => {
      agentRow(this.db, id) ?? notFound("agent", id);
      this.db
        .statement(
          `UPDATE agents SET last_seen_at = @at, last_host = coalesce(@host, last_host),
          version = coalesce(@version, version), last_address = coalesce(@address, last_address)
          WHERE id = @id`,
        )
        .run(row);
    });
  }

  async claimAgentAlert(
    id: string,
    gate: AgentAlertGate,
    now: Date,
    quietMs: number,
  ): Promise<boolean> {
    const at = checkTime("now", now);
    if (!Number.isSafeInteger(quietMs) || quietMs < 0)
      throw new RempartError("InvalidArgument", "quietMs must be a whole number of milliseconds");
    const column = gate === "leftover" ? "leftover_alerted_at" : "misuse_alerted_at";
    return this.db.write(() => {
      agentRow(this.db, id) ?? notFound("agent", id);
      return (
        this.db
          .statement(
            `UPDATE agents SET ${column} = @at WHERE id = @id
            AND (${column} IS NULL OR ${column} <= @at - @quiet)`,
          )
          .run({ id, at, quiet: quietMs }).changes === 1
      );
    });
  }

  async listUnseenAgents(cutoff: Date): Promise<Agent[]> {
    const before = checkTime("cutoff", cutoff);
    return this.db
      .statement<AgentRow>(
        `SELECT ${AGENT_COLUMNS} FROM agents
        WHERE revoked_at IS NULL AND coalesce(last_seen_at, created_at) < ?
          AND tenant_id IN (SELECT id FROM tenants WHERE status = 'active')
        ORDER BY coalesce(last_seen_at, created_at), id`,
      )
      .all(before)
      .map(toAgent);
  }
}

/** An address as node:net gives it: IPv4, IPv6 (maybe mapped IPv4), nothing else. */
function checkAddress(address: string): string {
  if (address.length > 64 || !/^[0-9A-Fa-f:.]+$/.test(address))
    throw new RempartError("InvalidArgument", "address must be an IP address", {
      field: "address",
    });
  return address;
}

/** Inside a write: revokes every unrevoked agent of the tenant (offboarding too); how many. */
export function revokeAgentsOf(db: SqliteDb, tenantId: string, at: number): number {
  return db
    .statement("UPDATE agents SET revoked_at = ? WHERE tenant_id = ? AND revoked_at IS NULL")
    .run(at, tenantId).changes;
}

/** The agent when `offered` is its secret's hash; compared in constant time. */
function withSecret(row: AgentRow & { secret_hash: string }, offered: Buffer): Agent | undefined {
  const { secret_hash, ...agent } = row;
  return timingSafeEqual(Buffer.from(secret_hash, "hex"), offered) ? toAgent(agent) : undefined;
}
