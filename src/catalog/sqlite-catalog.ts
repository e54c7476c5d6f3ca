/**
 * The embedded catalog: one SQLite file in WAL mode, opened by one server process (other processes
 * may open it too, e.g. an admin command; writes wait for each other up to `BUSY_TIMEOUT_MS`).
 * better-sqlite3 is synchronous, so every method does its work inside one call and one
 * transaction; the Promise-returning surface is for the Catalog interface PostgreSQL shares.
 * Every write runs in an IMMEDIATE transaction: it takes the write lock before reading, so a
 * check-then-write (a one-time token, a duplicate snapshot id) is atomic across processes too.
 */
import { randomBytes, timingSafeEqual } from "node:crypto";
import Sqlite, { type Database, type Statement } from "better-sqlite3";
import { RempartError } from "../errors.js";
import { OBJECT_KINDS, type ObjectKind, type PutOutcome } from "../storage/object-store.js";
import {
  type Agent,
  type AgentCheckIn,
  type AuditEntry,
  type AuditNote,
  type AuditQuery,
  type Catalog,
  DEFAULT_IMMUTABLE_DAYS,
  type EnrollmentToken,
  type ForgetOutcome,
  type KindUsage,
  MAX_LOOKUP,
  type NewAgent,
  type NewAuditEntry,
  type NewEnrollmentToken,
  type NewObject,
  type NewOperator,
  type NewSession,
  type NewSnapshot,
  type NewTenant,
  type NewTenantDeletion,
  type ObjectUsage,
  type Operator,
  type PackUsage,
  type Page,
  type PolicyRecord,
  type Quarantine,
  type RetentionRules,
  type Session,
  type SnapshotRecord,
  type SnapshotState,
  type StoredObject,
  type Tenant,
  type TenantChanges,
  type TenantDeletion,
  type TenantStatus,
  type UnreferencedPackQuery,
  type ValidSession,
} from "./catalog.js";
import {
  AGENT_COLUMNS,
  type AgentRow,
  AUDIT_COLUMNS,
  type AuditRow,
  DELETION_COLUMNS,
  type DeletionRow,
  encodeScopes,
  OBJECT_COLUMNS,
  type ObjectRow,
  OPERATOR_COLUMNS,
  type OperatorRow,
  POLICY_COLUMNS,
  type PolicyRow,
  QUARANTINE_COLUMNS,
  type QuarantineRow,
  SESSION_COLUMNS,
  type SessionRow,
  SNAPSHOT_COLUMNS,
  type SnapshotRow,
  TENANT_COLUMNS,
  type TenantRow,
  TOKEN_COLUMNS,
  type TokenRow,
  toAgent,
  toAuditEntry,
  toEnrollmentToken,
  toOperator,
  toPolicy,
  toQuarantine,
  toSession,
  toSnapshot,
  toStoredObject,
  toTenant,
  toTenantDeletion,
} from "./sqlite-rows.js";
import { migrate } from "./sqlite-schema.js";
import {
  checkActor,
  checkAuditAction,
  checkBackupError,
  checkBackupOutcome,
  checkDays,
  checkDeletionReason,
  checkExpiry,
  checkHostname,
  checkLimit,
  checkObjectKind,
  checkObjectName,
  checkPage,
  checkPasswordHash,
  checkQuota,
  checkRetentionRules,
  checkRole,
  checkSecretHash,
  checkSize,
  checkSnapshotState,
  checkTenantName,
  checkTenantStatus,
  checkTime,
  checkUsername,
  checkVersion,
  DAY_MS,
  normalizePacks,
  normalizeScopes,
  serializeAuditDetails,
} from "./validation.js";

export const BUSY_TIMEOUT_MS = 5000;

/** SQL condition on a pack row `o`: no active or held snapshot references it. */
const UNREFERENCED = `NOT EXISTS (
  SELECT 1 FROM snapshot_packs sp
    JOIN snapshots s ON s.tenant_id = sp.tenant_id AND s.id = sp.snapshot_id
    WHERE sp.tenant_id = o.tenant_id AND sp.pack = o.name AND s.state <> 'deleted')`;

/**
 * SQL condition on an object row `o`: an active quarantine of its uploader covers it. Never the
 * repository's config, nor the key slots recorded up to it (the enrollment that created the
 * repository): without them no machine opens the repository, and once the config exists the
 * server lets no agent add either, so these were not written by whoever took the machine later.
 */
const HIDDEN = `(o.kind <> 'config' AND NOT (o.kind = 'keys' AND o.created_at <= ifnull((
    SELECT c.created_at FROM objects c
      WHERE c.tenant_id = o.tenant_id AND c.kind = 'config' AND c.name = 'config'), -1))
  AND EXISTS (
    SELECT 1 FROM quarantines q
      WHERE q.tenant_id = o.tenant_id AND q.agent_id = o.created_by_agent
        AND q.released_at IS NULL AND o.created_at >= q.since))`;

/** SQL condition on an object row `o`: what an agent sees (not hidden; snapshots committed). */
const VISIBLE = `NOT ${HIDDEN} AND (o.kind <> 'snapshots' OR EXISTS (
  SELECT 1 FROM snapshots s
    WHERE s.tenant_id = o.tenant_id AND s.id = o.name AND s.state <> 'deleted'))`;

/** Which tenant status may follow which: offboarding can be cancelled, deletion cannot. */
const TENANT_TRANSITIONS: Readonly<Record<TenantStatus, readonly TenantStatus[]>> = {
  active: ["offboarding"],
  offboarding: ["active", "deleted"],
  deleted: [],
};

export class SqliteCatalog implements Catalog {
  readonly path: string;
  private readonly db: Database;
  private readonly statements = new Map<string, Statement<unknown[], unknown>>();

  private constructor(path: string, db: Database) {
    this.path = path;
    this.db = db;
  }

  /** Opens the catalog at path, creating the file and bringing its schema up to date. */
  static open(path: string): SqliteCatalog {
    let db: Database | undefined;
    try {
      db = new Sqlite(path, { timeout: BUSY_TIMEOUT_MS });
      db.pragma("journal_mode = WAL");
      // FULL, not WAL's usual NORMAL: a snapshot the server acknowledged must survive power loss.
      db.pragma("synchronous = FULL");
      db.pragma("foreign_keys = ON");
      db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      migrate(db);
      return new SqliteCatalog(path, db);
    } catch (error) {
      db?.close();
      const translated = translate(error);
      if (translated instanceof RempartError) throw translated;
      throw new RempartError("Io", `cannot open the catalog at ${path}: ${String(error)}`, {
        path,
      });
    }
  }

  async close(): Promise<void> {
    this.db.close();
  }

  async createTenant(tenant: NewTenant, now: Date): Promise<Tenant> {
    const row: TenantRow = {
      id: newId(),
      name: checkTenantName(tenant.name),
      created_at: checkTime("now", now),
      retention_days: checkDays("retentionDays", tenant.retentionDays, 1),
      immutable_days: checkDays("immutableDays", tenant.immutableDays ?? DEFAULT_IMMUTABLE_DAYS, 0),
      quota_bytes: checkQuota(tenant.quotaBytes ?? null),
      status: "active",
    };
    return this.write(() => {
      if (this.tenantByName(row.name) !== undefined) {
        throw new RempartError("ObjectConflict", `a tenant named ${row.name} already exists`, {
          name: row.name,
        });
      }
      this.statement(
        `INSERT INTO tenants (${TENANT_COLUMNS}) VALUES (@id, @name, @created_at,
          @retention_days, @immutable_days, @quota_bytes, @status)`,
      ).run(row);
      return toTenant(row);
    });
  }

  async getTenant(id: string): Promise<Tenant | undefined> {
    const row = this.tenantRow(id);
    return row && toTenant(row);
  }

  async getTenantByName(name: string): Promise<Tenant | undefined> {
    const row = this.tenantByName(name);
    return row && toTenant(row);
  }

  async listTenants(): Promise<Tenant[]> {
    return this.statement<TenantRow>(`SELECT ${TENANT_COLUMNS} FROM tenants ORDER BY name`)
      .all()
      .map(toTenant);
  }

  async updateTenant(id: string, changes: TenantChanges): Promise<Tenant> {
    const retention = changes.retentionDays;
    const immutable = changes.immutableDays;
    const status = changes.status === undefined ? undefined : checkTenantStatus(changes.status);
    if (retention !== undefined) checkDays("retentionDays", retention, 1);
    if (immutable !== undefined) checkDays("immutableDays", immutable, 0);
    if (changes.quotaBytes !== undefined) checkQuota(changes.quotaBytes);
    return this.write(() => {
      const row = this.tenantRow(id) ?? notFound("tenant", id);
      const from = row.status as TenantStatus;
      if (status !== undefined && status !== from && this.pendingDeletion(id) !== undefined) {
        throw new RempartError(
          "ObjectConflict",
          `tenant ${row.name} has a scheduled deletion: cancel it (another admin) or let it run`,
          { reason: "deletion-scheduled", from, to: status },
        );
      }
      if (status !== undefined && status !== from && !TENANT_TRANSITIONS[from].includes(status)) {
        throw new RempartError(
          "ObjectConflict",
          `tenant ${row.name} cannot go from ${from} to ${status}`,
          { reason: "status-transition", from, to: status },
        );
      }
      const updated: TenantRow = {
        ...row,
        retention_days: retention ?? row.retention_days,
        immutable_days: immutable ?? row.immutable_days,
        quota_bytes: changes.quotaBytes === undefined ? row.quota_bytes : changes.quotaBytes,
        status: status ?? row.status,
      };
      this.statement(
        `UPDATE tenants SET retention_days = @retention_days, immutable_days = @immutable_days,
          quota_bytes = @quota_bytes, status = @status WHERE id = @id`,
      ).run(updated);
      return toTenant(updated);
    });
  }

  async createOperator(operator: NewOperator, now: Date): Promise<Operator> {
    const row: OperatorRow = {
      id: newId(),
      username: checkUsername(operator.username),
      password_hash: checkPasswordHash(operator.passwordHash),
      role: checkRole(operator.role),
      created_at: checkTime("now", now),
      disabled: 0,
    };
    return this.write(() => {
      if (this.operatorByUsername(row.username) !== undefined) {
        throw new RempartError(
          "ObjectConflict",
          `an operator named ${row.username} already exists`,
          { username: row.username },
        );
      }
      this.statement(
        `INSERT INTO operators (${OPERATOR_COLUMNS})
          VALUES (@id, @username, @password_hash, @role, @created_at, @disabled)`,
      ).run(row);
      return toOperator(row);
    });
  }

  async getOperator(id: string): Promise<Operator | undefined> {
    const row = this.operatorRow(id);
    return row && toOperator(row);
  }

  async getOperatorByUsername(username: string): Promise<Operator | undefined> {
    const row = this.operatorByUsername(username);
    return row && toOperator(row);
  }

  async listOperators(): Promise<Operator[]> {
    return this.statement<OperatorRow>(
      `SELECT ${OPERATOR_COLUMNS} FROM operators ORDER BY username`,
    )
      .all()
      .map(toOperator);
  }

  async setOperatorPasswordHash(id: string, passwordHash: string): Promise<void> {
    checkPasswordHash(passwordHash);
    this.write(() => {
      this.operatorRow(id) ?? notFound("operator", id);
      this.statement("UPDATE operators SET password_hash = ? WHERE id = ?").run(passwordHash, id);
      this.revokeSessionsOf(id);
    });
  }

  async disableOperator(id: string): Promise<void> {
    this.write(() => {
      this.operatorRow(id) ?? notFound("operator", id);
      this.statement("UPDATE operators SET disabled = 1 WHERE id = ?").run(id);
      this.revokeSessionsOf(id);
    });
  }

  async createSession(session: NewSession, now: Date): Promise<Session> {
    const times = checkExpiry(session.expiresAt, now);
    const row: SessionRow = {
      token_hash: checkSecretHash("tokenHash", session.tokenHash),
      operator_id: session.operatorId,
      created_at: times.now,
      expires_at: times.expiresAt,
      revoked: 0,
    };
    return this.write(() => {
      const operator = this.operatorRow(row.operator_id) ?? notFound("operator", row.operator_id);
      if (operator.disabled === 1) {
        throw new RempartError("InvalidArgument", `operator ${operator.username} is disabled`, {
          reason: "operator-disabled",
        });
      }
      this.statement(
        `INSERT INTO sessions (${SESSION_COLUMNS})
          VALUES (@token_hash, @operator_id, @created_at, @expires_at, @revoked)`,
      ).run(row);
      return toSession(row);
    });
  }

  async findValidSession(tokenHash: string, now: Date): Promise<ValidSession | undefined> {
    checkSecretHash("tokenHash", tokenHash);
    const at = checkTime("now", now);
    const row = this.statement<SessionRow>(
      `SELECT ${SESSION_COLUMNS} FROM sessions
        WHERE token_hash = ? AND revoked = 0 AND expires_at > ?`,
    ).get(tokenHash, at);
    if (row === undefined) return undefined;
    const operator = this.operatorRow(row.operator_id);
    if (operator === undefined || operator.disabled === 1) return undefined;
    return { session: toSession(row), operator: toOperator(operator) };
  }

  async revokeSession(tokenHash: string): Promise<void> {
    checkSecretHash("tokenHash", tokenHash);
    this.write(() => {
      this.statement("UPDATE sessions SET revoked = 1 WHERE token_hash = ?").run(tokenHash);
    });
  }

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
    return this.write(() => {
      this.activeTenant(row.tenant_id);
      const operator = this.operatorRow(row.created_by) ?? notFound("operator", row.created_by);
      if (operator.disabled === 1) {
        throw new RempartError("InvalidArgument", `operator ${operator.username} is disabled`, {
          reason: "operator-disabled",
        });
      }
      this.statement(
        `INSERT INTO enrollment_tokens (${TOKEN_COLUMNS}) VALUES (@token_hash, @tenant_id,
          @created_by, @created_at, @expires_at, @used_at, @scopes)`,
      ).run(row);
      return toEnrollmentToken(row);
    });
  }

  async consumeEnrollmentToken(tokenHash: string, now: Date): Promise<EnrollmentToken> {
    checkSecretHash("tokenHash", tokenHash);
    const at = checkTime("now", now);
    return this.write(() => {
      const row = this.statement<TokenRow & { tenant_status: string }>(
        `SELECT ${TOKEN_COLUMNS},
          (SELECT status FROM tenants WHERE tenants.id = enrollment_tokens.tenant_id) AS tenant_status
          FROM enrollment_tokens WHERE token_hash = ?`,
      ).get(tokenHash);
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
      const offboarded = this.statement<number | null>(
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
      this.statement("UPDATE enrollment_tokens SET used_at = ? WHERE token_hash = ?").run(
        at,
        tokenHash,
      );
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
    };
    return this.write(() => {
      this.activeTenant(row.tenant_id);
      this.statement(
        `INSERT INTO agents (${AGENT_COLUMNS}, secret_hash) VALUES (@id, @tenant_id, @hostname,
          @scopes, @created_at, @expires_at, @revoked_at, @last_seen_at, @version,
          @last_backup_at, @last_backup_status, @last_error, @last_backup_snapshot,
          @last_backup_verified, @secret_hash)`,
      ).run({ ...row, secret_hash: secretHash });
      return toAgent(row);
    });
  }

  async getAgent(id: string): Promise<Agent | undefined> {
    const row = this.agentRow(id);
    return row && toAgent(row);
  }

  async listAgents(tenantId: string): Promise<Agent[]> {
    return this.statement<AgentRow>(
      `SELECT ${AGENT_COLUMNS} FROM agents WHERE tenant_id = ? ORDER BY hostname, id`,
    )
      .all(tenantId)
      .map(toAgent);
  }

  async revokeAgent(id: string, now: Date): Promise<void> {
    const at = checkTime("now", now);
    this.write(() => {
      this.agentRow(id) ?? notFound("agent", id);
      this.statement("UPDATE agents SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL").run(
        at,
        id,
      );
    });
  }

  async revokeTenantAgents(tenantId: string, now: Date): Promise<number> {
    const at = checkTime("now", now);
    return this.write(() => {
      this.tenantRow(tenantId) ?? notFound("tenant", tenantId);
      return this.statement(
        "UPDATE agents SET revoked_at = ? WHERE tenant_id = ? AND revoked_at IS NULL",
      ).run(at, tenantId).changes;
    });
  }

  async authenticateAgent(id: string, secretHash: string, now: Date): Promise<Agent | undefined> {
    const offered = Buffer.from(checkSecretHash("secretHash", secretHash), "hex");
    const at = checkTime("now", now);
    const row = this.statement<AgentRow & { secret_hash: string }>(
      `SELECT ${AGENT_COLUMNS}, secret_hash FROM agents
        WHERE id = ? AND revoked_at IS NULL AND expires_at > ?
          AND tenant_id IN (SELECT id FROM tenants WHERE status = 'active')`,
    ).get(id, at);
    if (row === undefined) return undefined;
    const { secret_hash, ...agent } = row;
    return timingSafeEqual(Buffer.from(secret_hash, "hex"), offered) ? toAgent(agent) : undefined;
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
    this.write(() => {
      const agent = this.agentRow(id) ?? notFound("agent", id);
      this.statement("UPDATE agents SET last_seen_at = ?, version = ? WHERE id = ?").run(
        at,
        version,
        id,
      );
      if (report !== undefined) {
        // A backup that says it produced something is believed only for a snapshot this very
        // agent committed: a stolen credential cannot make a machine look backed up.
        const verified =
          report.status === "failure"
            ? null
            : report.snapshot !== null &&
                this.statement(
                  "SELECT 1 FROM snapshots WHERE tenant_id = ? AND id = ? AND agent_id = ?",
                ).get(agent.tenant_id, report.snapshot, id) !== undefined
              ? 1
              : 0;
        this.statement(
          `UPDATE agents SET last_backup_at = ?, last_backup_status = ?, last_error = ?,
            last_backup_snapshot = ?, last_backup_verified = ? WHERE id = ?`,
        ).run(report.at, report.status, report.error, report.snapshot, verified, id);
      }
    });
  }

  async recordObject(object: NewObject, now: Date): Promise<PutOutcome> {
    const kind = checkObjectKind(object.kind);
    const row = {
      tenant_id: object.tenantId,
      kind,
      name: checkObjectName(kind, object.name),
      size: checkSize(object.size),
      created_at: checkTime("now", now),
      created_by_agent: object.createdByAgent ?? null,
    };
    return this.write(() => {
      this.tenantRow(row.tenant_id) ?? notFound("tenant", row.tenant_id);
      const agent = row.created_by_agent;
      if (agent !== null && this.agentRow(agent)?.tenant_id !== row.tenant_id) {
        notFound("agent of this tenant", agent);
      }
      const existing = this.statement<{ size: number }>(
        "SELECT size FROM objects WHERE tenant_id = ? AND kind = ? AND name = ?",
      ).get(row.tenant_id, row.kind, row.name);
      if (existing === undefined) {
        this.statement(
          `INSERT INTO objects (tenant_id, kind, name, size, created_at, created_by_agent)
            VALUES (@tenant_id, @kind, @name, @size, @created_at, @created_by_agent)`,
        ).run(row);
        return "created";
      }
      if (existing.size !== row.size) {
        throw new RempartError(
          "ObjectConflict",
          `${kind}/${row.name} is recorded with ${existing.size} bytes, not ${row.size}`,
          { kind, name: row.name, recorded: existing.size, offered: row.size },
        );
      }
      return "exists";
    });
  }

  async objectExists(tenantId: string, kind: ObjectKind, name: string): Promise<boolean> {
    return (
      this.statement("SELECT 1 FROM objects WHERE tenant_id = ? AND kind = ? AND name = ?").get(
        tenantId,
        kind,
        name,
      ) !== undefined
    );
  }

  async listObjectNames(tenantId: string, kind: ObjectKind, page: Page): Promise<string[]> {
    const { after, limit } = checkPage(page);
    return this.statement<string>(
      `SELECT name FROM objects WHERE tenant_id = ? AND kind = ? AND name > ?
        ORDER BY name LIMIT ?`,
    )
      .pluck()
      .all(tenantId, checkObjectKind(kind), after, limit);
  }

  async objectUsage(tenantId: string): Promise<ObjectUsage> {
    // A deleted snapshot keeps its object's row (its record refers to it) but not its bytes.
    const rows = this.statement<{ kind: ObjectKind; count: number; bytes: number }>(
      `SELECT kind, count(*) AS count, sum(size) AS bytes FROM objects o
        WHERE tenant_id = ? AND NOT (kind = 'snapshots' AND EXISTS (
          SELECT 1 FROM snapshots s
            WHERE s.tenant_id = o.tenant_id AND s.id = o.name AND s.state = 'deleted'))
        GROUP BY kind`,
    ).all(tenantId);
    const byKind = Object.fromEntries(
      OBJECT_KINDS.map((kind) => [kind, { count: 0, bytes: 0 }]),
    ) as Record<ObjectKind, KindUsage>;
    for (const { kind, count, bytes } of rows) byKind[kind] = { count, bytes };
    return {
      totalBytes: rows.reduce((sum, row) => sum + row.bytes, 0),
      totalCount: rows.reduce((sum, row) => sum + row.count, 0),
      byKind,
    };
  }

  async recordSnapshot(snapshot: NewSnapshot, now: Date): Promise<SnapshotRecord> {
    const id = checkObjectName("snapshots", snapshot.id);
    const packs = normalizePacks(snapshot.packs);
    const committedAt = checkTime("now", now);
    const claimedTime = checkTime("claimedTime", snapshot.claimedTime);
    const recordedBy =
      snapshot.packsRecordedBy === undefined
        ? Number.MAX_SAFE_INTEGER
        : checkTime("packsRecordedBy", snapshot.packsRecordedBy);
    const tenantId = snapshot.tenantId;
    return this.write(() => {
      const tenant = this.activeTenant(tenantId);
      if (this.agentRow(snapshot.agentId)?.tenant_id !== tenantId) {
        notFound("agent of this tenant", snapshot.agentId);
      }
      if (this.snapshotRow(tenantId, id) !== undefined) {
        throw new RempartError("ObjectConflict", `snapshot ${id} is already recorded`, { id });
      }
      const exists = this.statement(
        `SELECT 1 FROM objects o WHERE tenant_id = ? AND kind = ? AND name = ? AND created_at <= ?
          AND NOT ${HIDDEN}`,
      );
      const missing = [
        ...(exists.get(tenantId, "snapshots", id, Number.MAX_SAFE_INTEGER) === undefined
          ? [`snapshots/${id}`]
          : []),
        ...packs
          .filter((pack) => exists.get(tenantId, "data", pack, recordedBy) === undefined)
          .map((pack) => `data/${pack}`),
      ];
      if (missing.length > 0) {
        throw new RempartError(
          "NotFound",
          `snapshot ${id} refers to ${missing.length} object(s) this tenant does not have`,
          { missing: missing.slice(0, 100), missingCount: missing.length },
        );
      }
      const row: SnapshotRow = {
        tenant_id: tenantId,
        id,
        agent_id: snapshot.agentId,
        committed_at: committedAt,
        claimed_time: claimedTime,
        immutable_until: committedAt + tenant.immutable_days * DAY_MS,
        state: "active",
        known_good: 0,
        logical_bytes: snapshot.logicalBytes ?? null,
      };
      this.statement(
        `INSERT INTO snapshots (${SNAPSHOT_COLUMNS}) VALUES (@tenant_id, @id, @agent_id,
          @committed_at, @claimed_time, @immutable_until, @state, @known_good, @logical_bytes)`,
      ).run(row);
      const addPack = this.statement(
        "INSERT INTO snapshot_packs (tenant_id, snapshot_id, pack) VALUES (?, ?, ?)",
      );
      for (const pack of packs) addPack.run(tenantId, id, pack);
      return toSnapshot(row);
    });
  }

  async getSnapshot(tenantId: string, id: string): Promise<SnapshotRecord | undefined> {
    const row = this.snapshotRow(tenantId, id);
    return row && toSnapshot(row);
  }

  async listSnapshots(tenantId: string): Promise<SnapshotRecord[]> {
    return this.statement<SnapshotRow>(
      `SELECT ${SNAPSHOT_COLUMNS} FROM snapshots WHERE tenant_id = ? ORDER BY committed_at, id`,
    )
      .all(tenantId)
      .map(toSnapshot);
  }

  async listSnapshotPacks(tenantId: string, id: string): Promise<string[]> {
    return this.read(() => {
      this.snapshotRow(tenantId, id) ?? notFound("snapshot", id);
      return this.statement<string>(
        "SELECT pack FROM snapshot_packs WHERE tenant_id = ? AND snapshot_id = ? ORDER BY pack",
      )
        .pluck()
        .all(tenantId, id);
    });
  }

  async setSnapshotState(
    tenantId: string,
    id: string,
    state: SnapshotState,
    now: Date,
  ): Promise<SnapshotRecord> {
    const to = checkSnapshotState(state);
    const at = checkTime("now", now);
    return this.write(() => {
      const row = this.snapshotRow(tenantId, id) ?? notFound("snapshot", id);
      const refuse = (reason: string, message: string): never => {
        throw new RempartError("ObjectConflict", message, { reason, id, from: row.state, to });
      };
      if (row.state === to) return toSnapshot(row);
      if (row.state === "deleted") refuse("deleted-is-final", `snapshot ${id} is deleted`);
      if (to === "deleted" && row.state === "held") {
        refuse("held", `snapshot ${id} is held; release the hold before deleting it`);
      }
      if (to === "deleted" && at < row.immutable_until) {
        refuse(
          "immutable",
          `snapshot ${id} is immutable until ${new Date(row.immutable_until).toISOString()}`,
        );
      }
      this.statement("UPDATE snapshots SET state = ? WHERE tenant_id = ? AND id = ?").run(
        to,
        tenantId,
        id,
      );
      return toSnapshot({ ...row, state: to });
    });
  }

  async listUnreferencedPacks(tenantId: string, query: UnreferencedPackQuery): Promise<string[]> {
    const { after, limit } = checkPage(query);
    const before = checkTime("createdBefore", query.createdBefore);
    return this.statement<string>(
      `SELECT o.name FROM objects o
        WHERE o.tenant_id = ? AND o.kind = 'data' AND o.created_at < ? AND o.name > ?
          AND ${UNREFERENCED}
        ORDER BY o.name LIMIT ?`,
    )
      .pluck()
      .all(tenantId, before, after, limit);
  }

  async unreferencedPackUsage(tenantId: string, createdBefore: Date): Promise<PackUsage> {
    const before = checkTime("createdBefore", createdBefore);
    const row = this.statement<{ count: number; bytes: number | null }>(
      `SELECT count(*) AS count, sum(o.size) AS bytes FROM objects o
        WHERE o.tenant_id = ? AND o.kind = 'data' AND o.created_at < ? AND ${UNREFERENCED}`,
    ).get(tenantId, before);
    return { count: row?.count ?? 0, bytes: row?.bytes ?? 0 };
  }

  async forgetPack(
    tenantId: string,
    name: string,
    createdBefore: Date,
  ): Promise<{ outcome: ForgetOutcome; size: number }> {
    const pack = checkObjectName("data", name);
    const before = checkTime("createdBefore", createdBefore);
    return this.write(() => {
      const row = this.statement<{ size: number; created_at: number; unreferenced: number }>(
        `SELECT size, created_at, ${UNREFERENCED} AS unreferenced FROM objects o
          WHERE o.tenant_id = ? AND o.kind = 'data' AND o.name = ?`,
      ).get(tenantId, pack);
      if (row === undefined) return { outcome: "absent", size: 0 };
      if (row.created_at >= before) return { outcome: "recent", size: row.size };
      if (row.unreferenced !== 1) return { outcome: "referenced", size: row.size };
      // Only deleted snapshots still list it; their lists go with it (the foreign key wants so).
      this.statement("DELETE FROM snapshot_packs WHERE tenant_id = ? AND pack = ?").run(
        tenantId,
        pack,
      );
      this.statement("DELETE FROM objects WHERE tenant_id = ? AND kind = 'data' AND name = ?").run(
        tenantId,
        pack,
      );
      return { outcome: "forgotten", size: row.size };
    });
  }

  async markSnapshotKnownGood(tenantId: string, id: string): Promise<SnapshotRecord> {
    return this.write(() => {
      const row = this.snapshotRow(tenantId, id) ?? notFound("snapshot", id);
      if (row.state === "deleted")
        throw new RempartError("ObjectConflict", `snapshot ${id} is deleted`, {
          reason: "deleted-is-final",
          id,
        });
      this.statement("UPDATE snapshots SET known_good = 1 WHERE tenant_id = ? AND id = ?").run(
        tenantId,
        id,
      );
      return toSnapshot({ ...row, known_good: 1 });
    });
  }

  async setRetentionPolicy(
    tenantId: string,
    agentId: string | null,
    rules: RetentionRules,
    now: Date,
  ): Promise<PolicyRecord> {
    const checked = checkRetentionRules(rules);
    const row: PolicyRow = {
      tenant_id: tenantId,
      agent_id: agentId,
      keep_within_days: checked.keepWithinDays,
      keep_daily: checked.keepDaily,
      keep_weekly: checked.keepWeekly,
      keep_monthly: checked.keepMonthly,
      keep_yearly: checked.keepYearly,
      known_good_after_days: checked.knownGoodAfterDays,
      updated_at: checkTime("now", now),
    };
    return this.write(() => {
      this.tenantRow(tenantId) ?? notFound("tenant", tenantId);
      if (agentId !== null && this.agentRow(agentId)?.tenant_id !== tenantId)
        notFound("agent of this tenant", agentId);
      this.statement(
        "DELETE FROM retention_policies WHERE tenant_id = ? AND ifnull(agent_id, '') = ?",
      ).run(tenantId, agentId ?? "");
      this.statement(
        `INSERT INTO retention_policies (${POLICY_COLUMNS}) VALUES (@tenant_id, @agent_id,
          @keep_within_days, @keep_daily, @keep_weekly, @keep_monthly, @keep_yearly,
          @known_good_after_days, @updated_at)`,
      ).run(row);
      return toPolicy(row);
    });
  }

  async listRetentionPolicies(tenantId: string): Promise<PolicyRecord[]> {
    return this.statement<PolicyRow>(
      `SELECT ${POLICY_COLUMNS} FROM retention_policies WHERE tenant_id = ?
        ORDER BY agent_id IS NOT NULL, agent_id`,
    )
      .all(tenantId)
      .map(toPolicy);
  }

  async identifyAgent(id: string, secretHash: string): Promise<Agent | undefined> {
    const offered = Buffer.from(checkSecretHash("secretHash", secretHash), "hex");
    const row = this.statement<AgentRow & { secret_hash: string }>(
      `SELECT ${AGENT_COLUMNS}, secret_hash FROM agents WHERE id = ?`,
    ).get(id);
    if (row === undefined) return undefined;
    const { secret_hash, ...agent } = row;
    return timingSafeEqual(Buffer.from(secret_hash, "hex"), offered) ? toAgent(agent) : undefined;
  }

  async listVisibleObjects(
    tenantId: string,
    kind: ObjectKind,
    page: Page,
  ): Promise<StoredObject[]> {
    const { after, limit } = checkPage(page);
    return this.statement<ObjectRow>(
      `SELECT ${OBJECT_COLUMNS} FROM objects o
        WHERE o.tenant_id = ? AND o.kind = ? AND o.name > ? AND ${VISIBLE}
        ORDER BY o.name LIMIT ?`,
    )
      .all(tenantId, checkObjectKind(kind), after, limit)
      .map(toStoredObject);
  }

  async getVisibleObject(
    tenantId: string,
    kind: ObjectKind,
    name: string,
  ): Promise<StoredObject | undefined> {
    const row = this.statement<ObjectRow>(
      `SELECT ${OBJECT_COLUMNS} FROM objects o
        WHERE o.tenant_id = ? AND o.kind = ? AND o.name = ? AND ${VISIBLE}`,
    ).get(tenantId, checkObjectKind(kind), name);
    return row && toStoredObject(row);
  }

  async quarantineAgent(
    tenantId: string,
    agentId: string,
    since: Date,
    audit: AuditNote,
    now: Date,
  ): Promise<Quarantine> {
    const at = checkTime("now", now);
    const from = checkTime("since", since);
    const note = checkAuditNote(audit);
    return this.write(() => {
      const tenant = this.tenantRow(tenantId) ?? notFound("tenant", tenantId);
      const agent = this.agentRow(agentId);
      if (agent?.tenant_id !== tenantId) notFound("agent of this tenant", agentId);
      if (this.activeQuarantine(tenantId, agentId) !== undefined)
        throw new RempartError(
          "ObjectConflict",
          `agent ${agentId} is already quarantined: release it first to quarantine it from another time`,
          { reason: "already-quarantined", agent_id: agentId },
        );
      const row: Omit<QuarantineRow, "id"> = {
        tenant_id: tenantId,
        agent_id: agentId,
        since: from,
        created_at: at,
        released_at: null,
      };
      const id = this.statement<number>(
        `INSERT INTO quarantines (${QUARANTINE_COLUMNS}) VALUES (NULL, @tenant_id, @agent_id,
          @since, @created_at, @released_at) RETURNING id`,
      )
        .pluck()
        .get(row) as number;
      const quarantine = this.withImpact({ id, ...row });
      this.logStep(
        note,
        "agent.quarantine",
        tenantId,
        {
          quarantine_id: id,
          tenant: tenant.name,
          agent_id: agentId,
          hostname: agent?.hostname ?? null,
          since: iso(from),
          hidden_objects: quarantine.hidden.objects,
          hidden_bytes: quarantine.hidden.bytes,
          affected_snapshots: quarantine.affectedSnapshots,
        },
        at,
      );
      return quarantine;
    });
  }

  async releaseQuarantine(
    tenantId: string,
    agentId: string,
    audit: AuditNote,
    now: Date,
  ): Promise<Quarantine> {
    const at = checkTime("now", now);
    const note = checkAuditNote(audit);
    return this.write(() => {
      const tenant = this.tenantRow(tenantId) ?? notFound("tenant", tenantId);
      const row = this.activeQuarantine(tenantId, agentId);
      if (row === undefined)
        throw new RempartError("NotFound", `agent ${agentId} is not quarantined`, {
          reason: "not-quarantined",
          agent_id: agentId,
        });
      const before = this.withImpact(row);
      this.statement("UPDATE quarantines SET released_at = ? WHERE id = ?").run(at, row.id);
      this.logStep(
        note,
        "agent.quarantine.release",
        tenantId,
        {
          quarantine_id: row.id,
          tenant: tenant.name,
          agent_id: agentId,
          since: iso(row.since),
          shown_objects: before.hidden.objects,
        },
        at,
      );
      return this.withImpact({ ...row, released_at: at });
    });
  }

  async listQuarantines(tenantId: string): Promise<Quarantine[]> {
    return this.read(() =>
      this.statement<QuarantineRow>(
        `SELECT ${QUARANTINE_COLUMNS} FROM quarantines WHERE tenant_id = ? ORDER BY id`,
      )
        .all(tenantId)
        .map((row) => this.withImpact(row)),
    );
  }

  private activeQuarantine(tenantId: string, agentId: string): QuarantineRow | undefined {
    return this.statement<QuarantineRow>(
      `SELECT ${QUARANTINE_COLUMNS} FROM quarantines
        WHERE tenant_id = ? AND agent_id = ? AND released_at IS NULL`,
    ).get(tenantId, agentId);
  }

  /** A quarantine with what it hides now (nothing once released) and whom that hurts. */
  private withImpact(row: QuarantineRow): Quarantine {
    if (row.released_at !== null) return toQuarantine(row, { objects: 0, bytes: 0 }, 0);
    const hidden = this.statement<{ objects: number; bytes: number | null }>(
      `SELECT count(*) AS objects, sum(o.size) AS bytes FROM objects o
        WHERE o.tenant_id = ? AND o.created_by_agent = ? AND ${HIDDEN}`,
    ).get(row.tenant_id, row.agent_id);
    const affected = this.statement<number>(
      `SELECT count(DISTINCT s.id) FROM snapshots s
        JOIN snapshot_packs sp ON sp.tenant_id = s.tenant_id AND sp.snapshot_id = s.id
        JOIN objects o ON o.tenant_id = sp.tenant_id AND o.kind = 'data' AND o.name = sp.pack
        WHERE s.tenant_id = ? AND s.agent_id <> ? AND s.state <> 'deleted'
          AND o.created_by_agent = ? AND o.created_at >= ?`,
    )
      .pluck()
      .get(row.tenant_id, row.agent_id, row.agent_id, row.since) as number;
    return toQuarantine(
      row,
      { objects: hidden?.objects ?? 0, bytes: hidden?.bytes ?? 0 },
      affected,
    );
  }

  async appendAudit(entry: NewAuditEntry, now: Date): Promise<AuditEntry> {
    const actor = checkActor(entry.actor);
    const row: Omit<AuditRow, "id"> = {
      at: checkTime("now", now),
      actor_kind: actor.kind,
      actor_id: actor.id,
      action: checkAuditAction(entry.action),
      tenant_id: entry.tenantId ?? null,
      details: serializeAuditDetails(entry.details ?? {}),
    };
    return this.write(() => this.insertLogEntry(row));
  }

  private insertLogEntry(row: Omit<AuditRow, "id">): AuditEntry {
    const id = this.statement<number>(
      `INSERT INTO audit_log (at, actor_kind, actor_id, action, tenant_id, details)
        VALUES (@at, @actor_kind, @actor_id, @action, @tenant_id, @details) RETURNING id`,
    )
      .pluck()
      .get(row) as number;
    return toAuditEntry({ id, ...row });
  }

  /** Inside a write: the entry of a deletion step, with the catalog's facts over the caller's. */
  private logStep(
    note: AuditNote,
    action: string,
    tenantId: string,
    facts: Record<string, unknown>,
    at: number,
  ): void {
    this.insertLogEntry({
      at,
      actor_kind: note.actor.kind,
      actor_id: note.actor.id,
      action,
      tenant_id: tenantId,
      details: serializeAuditDetails({ ...note.details, ...facts }),
    });
  }

  async scheduleTenantDeletion(
    deletion: NewTenantDeletion,
    audit: AuditNote,
    now: Date,
  ): Promise<TenantDeletion> {
    const at = checkTime("now", now);
    const dueAt = checkTime("dueAt", deletion.dueAt);
    const reason = checkDeletionReason(deletion.reason);
    const note = checkAuditNote(audit);
    if (dueAt <= at)
      throw new RempartError("InvalidArgument", "a deletion must be due after it is requested", {
        field: "dueAt",
        reason: "not-delayed",
      });
    return this.write(() => {
      const tenant = this.tenantRow(deletion.tenantId) ?? notFound("tenant", deletion.tenantId);
      if (tenant.status !== "active") {
        const pending = this.pendingDeletion(tenant.id);
        throw new RempartError(
          "ObjectConflict",
          pending === undefined
            ? `tenant ${tenant.name} is ${tenant.status}`
            : `the deletion of tenant ${tenant.name} is already scheduled, due at ${iso(pending.due_at)}`,
          { reason: "tenant-not-active", status: tenant.status },
        );
      }
      const requester = this.enabledAdmin(deletion.requestedBy, "requesting a deletion");
      const latest = this.statement<number | null>(
        "SELECT max(immutable_until) FROM snapshots WHERE tenant_id = ? AND state <> 'deleted'",
      )
        .pluck()
        .get(tenant.id);
      if (latest != null && dueAt < latest) {
        throw new RempartError(
          "InvalidArgument",
          `tenant ${tenant.name} has snapshots immutable until ${iso(latest)}: its deletion cannot be due before then`,
          { reason: "before-immutability", until: iso(latest) },
        );
      }
      this.statement("UPDATE tenants SET status = 'offboarding' WHERE id = ?").run(tenant.id);
      const revoked = this.statement(
        "UPDATE agents SET revoked_at = ? WHERE tenant_id = ? AND revoked_at IS NULL",
      ).run(at, tenant.id).changes;
      const row: Omit<DeletionRow, "id"> = {
        tenant_id: tenant.id,
        requested_by: requester.id,
        requested_at: at,
        due_at: dueAt,
        reason,
        cancelled_by: null,
        cancelled_at: null,
        started_at: null,
        completed_at: null,
      };
      const id = this.statement<number>(
        `INSERT INTO tenant_deletions (${DELETION_COLUMNS}) VALUES (NULL, @tenant_id,
          @requested_by, @requested_at, @due_at, @reason, @cancelled_by, @cancelled_at,
          @started_at, @completed_at) RETURNING id`,
      )
        .pluck()
        .get(row) as number;
      this.logStep(
        note,
        "tenant.delete.schedule",
        tenant.id,
        {
          deletion_id: id,
          tenant: tenant.name,
          requested_by: requester.username,
          requested_by_id: requester.id,
          due_at: iso(dueAt),
          reason,
          agents_revoked: revoked,
        },
        at,
      );
      return toTenantDeletion({ id, ...row });
    });
  }

  async cancelTenantDeletion(
    tenantId: string,
    cancelledBy: string,
    audit: AuditNote,
    now: Date,
  ): Promise<TenantDeletion> {
    const at = checkTime("now", now);
    const note = checkAuditNote(audit);
    return this.write(() => {
      const tenant = this.tenantRow(tenantId) ?? notFound("tenant", tenantId);
      const row = this.pendingDeletion(tenantId);
      if (row === undefined)
        throw new RempartError(
          "NotFound",
          `tenant ${tenant.name} has no scheduled deletion to cancel`,
          { reason: "no-deletion" },
        );
      const canceller = this.enabledAdmin(cancelledBy, "cancelling a deletion");
      if (canceller.id === row.requested_by)
        throw new RempartError(
          "InvalidArgument",
          `${canceller.username} requested this deletion, so another admin must cancel it (two-person rule)`,
          { reason: "same-operator", operator: canceller.username },
        );
      if (row.started_at !== null || at >= row.due_at)
        throw new RempartError(
          "ObjectConflict",
          row.started_at !== null
            ? `the deletion of tenant ${tenant.name} started at ${iso(row.started_at)}; it can no longer be cancelled`
            : `the deletion of tenant ${tenant.name} was due at ${iso(row.due_at)}; it can no longer be cancelled`,
          { reason: "not-cancellable", due_at: iso(row.due_at) },
        );
      this.statement(
        "UPDATE tenant_deletions SET cancelled_by = ?, cancelled_at = ? WHERE id = ?",
      ).run(canceller.id, at, row.id);
      this.statement("UPDATE tenants SET status = 'active' WHERE id = ?").run(tenant.id);
      this.logStep(
        note,
        "tenant.delete.cancel",
        tenant.id,
        {
          deletion_id: row.id,
          tenant: tenant.name,
          cancelled_by: canceller.username,
          cancelled_by_id: canceller.id,
          requested_by: this.operatorRow(row.requested_by)?.username ?? null,
          requested_by_id: row.requested_by,
          due_at: iso(row.due_at),
        },
        at,
      );
      return toTenantDeletion({ ...row, cancelled_by: canceller.id, cancelled_at: at });
    });
  }

  async listTenantDeletions(tenantId: string): Promise<TenantDeletion[]> {
    return this.statement<DeletionRow>(
      `SELECT ${DELETION_COLUMNS} FROM tenant_deletions WHERE tenant_id = ? ORDER BY id`,
    )
      .all(tenantId)
      .map(toTenantDeletion);
  }

  async listPendingTenantDeletions(): Promise<TenantDeletion[]> {
    return this.statement<DeletionRow>(
      `SELECT ${DELETION_COLUMNS} FROM tenant_deletions
        WHERE cancelled_at IS NULL AND completed_at IS NULL ORDER BY due_at, id`,
    )
      .all()
      .map(toTenantDeletion);
  }

  async startTenantDeletion(id: number, audit: AuditNote, now: Date): Promise<TenantDeletion> {
    const at = checkTime("now", now);
    const note = checkAuditNote(audit);
    return this.write(() => {
      const row = this.deletionRow(id);
      const tenant = this.tenantRow(row.tenant_id) ?? notFound("tenant", row.tenant_id);
      const refuse = (reason: string, message: string, more: object = {}): never => {
        throw new RempartError("ObjectConflict", message, { reason, deletion_id: id, ...more });
      };
      if (row.cancelled_at !== null || row.completed_at !== null)
        refuse(
          "not-pending",
          `the deletion of tenant ${tenant.name} was ${row.cancelled_at !== null ? "cancelled" : "completed"}`,
        );
      if (at < row.due_at)
        refuse("not-due", `the deletion of tenant ${tenant.name} is due at ${iso(row.due_at)}`, {
          due_at: iso(row.due_at),
        });
      const blocking = this.statement<{ id: string; state: string; immutable_until: number }>(
        `SELECT id, state, immutable_until FROM snapshots
          WHERE tenant_id = ? AND state <> 'deleted' AND (state = 'held' OR immutable_until > ?)
          ORDER BY immutable_until DESC, id`,
      ).all(tenant.id, at);
      const held = blocking.filter((s) => s.state === "held");
      if (held.length > 0)
        refuse(
          "held",
          `${held.length} snapshot(s) of tenant ${tenant.name} are held: release them before its deletion can run`,
          { snapshots: held.slice(0, 100).map((s) => s.id), count: held.length },
        );
      const [latest] = blocking;
      if (latest !== undefined)
        refuse(
          "immutable",
          `${blocking.length} snapshot(s) of tenant ${tenant.name} are immutable until ${iso(latest.immutable_until)}: nothing was deleted`,
          {
            snapshots: blocking.slice(0, 100).map((s) => s.id),
            count: blocking.length,
            until: iso(latest.immutable_until),
          },
        );
      const marked = this.statement(
        "UPDATE snapshots SET state = 'deleted' WHERE tenant_id = ? AND state <> 'deleted'",
      ).run(tenant.id).changes;
      const startedAt = row.started_at ?? at;
      if (row.started_at === null)
        this.statement("UPDATE tenant_deletions SET started_at = ? WHERE id = ?").run(at, id);
      this.logStep(
        note,
        "tenant.delete.start",
        tenant.id,
        {
          deletion_id: id,
          tenant: tenant.name,
          snapshots_deleted: marked,
          resumed: row.started_at !== null,
        },
        at,
      );
      return toTenantDeletion({ ...row, started_at: startedAt });
    });
  }

  async completeTenantDeletion(id: number, audit: AuditNote, now: Date): Promise<TenantDeletion> {
    const at = checkTime("now", now);
    const note = checkAuditNote(audit);
    return this.write(() => {
      const row = this.deletionRow(id);
      if (row.completed_at !== null) return toTenantDeletion(row);
      const tenant = this.tenantRow(row.tenant_id) ?? notFound("tenant", row.tenant_id);
      if (row.cancelled_at !== null || row.started_at === null)
        throw new RempartError(
          "ObjectConflict",
          row.cancelled_at !== null
            ? `the deletion of tenant ${tenant.name} was cancelled`
            : `the deletion of tenant ${tenant.name} has not started`,
          { reason: row.cancelled_at !== null ? "not-pending" : "not-started", deletion_id: id },
        );
      // The snapshot rows (deleted) stay as history with their objects' rows; the packs, indexes
      // and keys are gone from the disk, so their records go.
      this.statement("DELETE FROM snapshot_packs WHERE tenant_id = ?").run(tenant.id);
      const forgotten = this.statement(
        "DELETE FROM objects WHERE tenant_id = ? AND kind <> 'snapshots'",
      ).run(tenant.id).changes;
      this.statement("UPDATE tenant_deletions SET completed_at = ? WHERE id = ?").run(at, id);
      this.statement("UPDATE tenants SET status = 'deleted' WHERE id = ?").run(tenant.id);
      this.logStep(
        note,
        "tenant.delete.complete",
        tenant.id,
        { deletion_id: id, tenant: tenant.name, objects_forgotten: forgotten },
        at,
      );
      return toTenantDeletion({ ...row, completed_at: at });
    });
  }

  async listAudit(query: AuditQuery): Promise<AuditEntry[]> {
    const beforeId = query.beforeId ?? Number.MAX_SAFE_INTEGER;
    if (!Number.isSafeInteger(beforeId)) {
      throw new RempartError("InvalidArgument", "beforeId must be a whole number", {
        field: "beforeId",
        value: beforeId,
      });
    }
    const params = {
      since: query.since === undefined ? Number.MIN_SAFE_INTEGER : checkTime("since", query.since),
      before_id: beforeId,
      limit: checkLimit(query.limit),
    };
    const select = `SELECT ${AUDIT_COLUMNS} FROM audit_log WHERE at >= @since AND id < @before_id`;
    const order = "ORDER BY id DESC LIMIT @limit";
    // Two statements rather than `(@tenant_id IS NULL OR tenant_id = @tenant_id)`, which would
    // keep SQLite from using the (tenant_id, id) index.
    const rows =
      query.tenantId === undefined
        ? this.statement<AuditRow>(`${select} ${order}`).all(params)
        : this.statement<AuditRow>(`${select} AND tenant_id = @tenant_id ${order}`).all({
            ...params,
            tenant_id: query.tenantId,
          });
    return rows.map(toAuditEntry);
  }

  private tenantRow(id: string): TenantRow | undefined {
    return this.statement<TenantRow>(`SELECT ${TENANT_COLUMNS} FROM tenants WHERE id = ?`).get(id);
  }

  private tenantByName(name: string): TenantRow | undefined {
    return this.statement<TenantRow>(`SELECT ${TENANT_COLUMNS} FROM tenants WHERE name = ?`).get(
      name,
    );
  }

  private activeTenant(id: string): TenantRow {
    const row = this.tenantRow(id) ?? notFound("tenant", id);
    if (row.status !== "active") {
      throw new RempartError("InvalidArgument", `tenant ${row.name} is ${row.status}`, {
        reason: "tenant-inactive",
        tenantId: id,
      });
    }
    return row;
  }

  private pendingDeletion(tenantId: string): DeletionRow | undefined {
    return this.statement<DeletionRow>(
      `SELECT ${DELETION_COLUMNS} FROM tenant_deletions
        WHERE tenant_id = ? AND cancelled_at IS NULL AND completed_at IS NULL`,
    ).get(tenantId);
  }

  private deletionRow(id: number): DeletionRow {
    return (
      this.statement<DeletionRow>(
        `SELECT ${DELETION_COLUMNS} FROM tenant_deletions WHERE id = ?`,
      ).get(id) ?? notFound("tenant deletion", String(id))
    );
  }

  /** An operator who may take part in a deletion: enabled, with the role admin. */
  private enabledAdmin(id: string, what: string): OperatorRow {
    const operator = this.operatorRow(id) ?? notFound("operator", id);
    if (operator.disabled === 1 || operator.role !== "admin")
      throw new RempartError(
        "InvalidArgument",
        `${what} needs an enabled operator with the role admin; ${operator.username} ${operator.disabled === 1 ? "is disabled" : `is a ${operator.role}`}`,
        { reason: "not-admin", operator: operator.username },
      );
    return operator;
  }

  private operatorRow(id: string): OperatorRow | undefined {
    return this.statement<OperatorRow>(
      `SELECT ${OPERATOR_COLUMNS} FROM operators WHERE id = ?`,
    ).get(id);
  }

  private operatorByUsername(username: string): OperatorRow | undefined {
    return this.statement<OperatorRow>(
      `SELECT ${OPERATOR_COLUMNS} FROM operators WHERE username = ?`,
    ).get(username);
  }

  private revokeSessionsOf(operatorId: string): void {
    this.statement("UPDATE sessions SET revoked = 1 WHERE operator_id = ?").run(operatorId);
  }

  private agentRow(id: string): AgentRow | undefined {
    return this.statement<AgentRow>(`SELECT ${AGENT_COLUMNS} FROM agents WHERE id = ?`).get(id);
  }

  private snapshotRow(tenantId: string, id: string): SnapshotRow | undefined {
    return this.statement<SnapshotRow>(
      `SELECT ${SNAPSHOT_COLUMNS} FROM snapshots WHERE tenant_id = ? AND id = ?`,
    ).get(tenantId, id);
  }

  /** Prepared once per connection and reused; the SQL text is the key. */
  private statement<Row = unknown>(sql: string): Statement<unknown[], Row> {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare<unknown[], unknown>(sql);
      this.statements.set(sql, statement);
    }
    return statement as Statement<unknown[], Row>;
  }

  private write<T>(work: () => T): T {
    try {
      return this.db.transaction(work).immediate();
    } catch (error) {
      throw translate(error);
    }
  }

  /** Several reads that must see one state of the database. */
  private read<T>(work: () => T): T {
    return this.db.transaction(work).deferred();
  }

  async visibleObjects(
    tenantId: string,
    kind: ObjectKind,
    names: readonly string[],
  ): Promise<string[]> {
    if (
      !Array.isArray(names) ||
      names.length > MAX_LOOKUP ||
      !names.every((n) => typeof n === "string")
    ) {
      throw new RempartError(
        "InvalidArgument",
        `visibleObjects takes at most ${MAX_LOOKUP} names, as strings`,
        { field: "names", count: Array.isArray(names) ? names.length : null },
      );
    }
    if (names.length === 0) return [];
    // One statement for any number of names: the list travels as one JSON array parameter.
    return this.statement<string>(
      `SELECT o.name FROM objects o WHERE o.tenant_id = ? AND o.kind = ?
        AND o.name IN (SELECT value FROM json_each(?)) AND ${VISIBLE}`,
    )
      .pluck()
      .all(tenantId, checkObjectKind(kind), JSON.stringify(names));
  }
}

function newId(): string {
  return randomBytes(8).toString("hex");
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** Checked before a write: a malformed note must not abort the step half-way, or at all. */
function checkAuditNote(note: AuditNote): AuditNote {
  const actor = checkActor(note.actor);
  serializeAuditDetails(note.details ?? {});
  return { actor, details: note.details ?? {} };
}

function notFound(what: string, id: string): never {
  throw new RempartError("NotFound", `no ${what} with id ${id}`, { id });
}

/** SQLite's refusals as RempartErrors; a constraint firing here means a check above was missed. */
function translate(error: unknown): unknown {
  if (!(error instanceof Sqlite.SqliteError)) return error;
  const details = { sqlite: error.code };
  switch (error.code) {
    case "SQLITE_CONSTRAINT_UNIQUE":
    case "SQLITE_CONSTRAINT_PRIMARYKEY":
      return new RempartError("ObjectConflict", `the catalog already holds this record`, details);
    case "SQLITE_CONSTRAINT_FOREIGNKEY":
      return new RempartError("NotFound", "a record this one refers to does not exist", details);
    case "SQLITE_CONSTRAINT_CHECK":
    case "SQLITE_CONSTRAINT_NOTNULL":
      return new RempartError("InvalidArgument", `the catalog refused: ${error.message}`, details);
    case "SQLITE_FULL":
      return new RempartError("StorageFull", "the disk holding the catalog is full", details);
    default:
      return new RempartError("Io", `the catalog database failed: ${error.message}`, details);
  }
}
