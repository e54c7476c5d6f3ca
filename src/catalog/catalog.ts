/**
 * The server's metadata: tenants, operators and their sessions, enrollment tokens, agents, the
 * objects and snapshots each tenant holds, and the audit log. SQLite implements it now and
 * PostgreSQL later; both must pass `describeCatalogConformance` (catalog-suite.ts), which is the
 * behaviour the server may rely on.
 *
 * Rules every implementation keeps:
 * - The catalog never reads the clock: every time is a `now` from the caller, so expiry, retention
 *   and immutability are decided by code a test can drive to any instant.
 * - The catalog never sees a secret: it stores and compares only hashes the caller computed
 *   (lowercase hex SHA-256 for tokens and agent secrets, an opaque KDF string for passwords).
 * - Lookups answer `undefined` for an absent record; changing an absent record fails `NotFound`;
 *   malformed input fails `InvalidArgument` and changes nothing.
 * - Anything an agent can reach only adds: no method deletes a snapshot record or an audit entry.
 *   Snapshots leave only by state `deleted`, and never before `immutableUntil`, which is fixed at
 *   commit from the server's receipt time. The one removal is `forgetPack`, for the server's GC:
 *   it refuses a pack any active or held snapshot references, or one recorded within the grace.
 *   Completing a tenant's deletion forgets the records of the objects it removed the same way.
 * - A tenant is deleted only through a `TenantDeletion`: scheduled by one admin, cancellable by
 *   another during its delay, never due before the immutability window of its snapshots.
 */
import type { ObjectKind, PutOutcome } from "../storage/object-store.js";

export const TENANT_STATUSES = ["active", "offboarding", "deleted"] as const;
export type TenantStatus = (typeof TENANT_STATUSES)[number];

/** The client company. `name` is a slug (`^[a-z0-9][a-z0-9-]{0,62}$`) used on command lines. */
export interface Tenant {
  readonly id: string;
  readonly name: string;
  readonly createdAt: Date;
  readonly retentionDays: number;
  /** Applied to snapshots committed from now on; earlier snapshots keep the window they got. */
  readonly immutableDays: number;
  /** `null`: unlimited. */
  readonly quotaBytes: number | null;
  /** `active` → `offboarding` → `deleted`; offboarding can be cancelled, deleted is final. */
  readonly status: TenantStatus;
}

export const DEFAULT_IMMUTABLE_DAYS = 14;

export interface NewTenant {
  readonly name: string;
  readonly retentionDays: number;
  /** Default `DEFAULT_IMMUTABLE_DAYS`. */
  readonly immutableDays?: number;
  /** Default `null` (unlimited). */
  readonly quotaBytes?: number | null;
}

/** Only the fields given change. */
export interface TenantChanges {
  readonly retentionDays?: number;
  readonly immutableDays?: number;
  readonly quotaBytes?: number | null;
  /** Refused (`ObjectConflict`, `deletion-scheduled`) while a deletion is pending: see below. */
  readonly status?: TenantStatus;
}

export const OPERATOR_ROLES = ["admin", "technician"] as const;
export type OperatorRole = (typeof OPERATOR_ROLES)[number];

/** MSP staff. `passwordHash` is what the caller's KDF produced; the server must never send it out. */
export interface Operator {
  readonly id: string;
  /** Lowercase, `^[a-z0-9][a-z0-9._@-]{0,127}$`, so that two spellings never name one person. */
  readonly username: string;
  readonly passwordHash: string;
  readonly role: OperatorRole;
  readonly createdAt: Date;
  readonly disabled: boolean;
}

export interface NewOperator {
  readonly username: string;
  readonly passwordHash: string;
  readonly role: OperatorRole;
}

export interface Session {
  readonly tokenHash: string;
  readonly operatorId: string;
  readonly createdAt: Date;
  readonly expiresAt: Date;
  readonly revoked: boolean;
}

export interface NewSession {
  readonly tokenHash: string;
  readonly operatorId: string;
  readonly expiresAt: Date;
}

export interface ValidSession {
  readonly session: Session;
  readonly operator: Operator;
}

/** Every agent may back up; `restore` is the one optional extra. Nothing grants deletion. */
export const AGENT_SCOPES = ["backup", "restore"] as const;
export type AgentScope = (typeof AGENT_SCOPES)[number];

export interface EnrollmentToken {
  readonly tokenHash: string;
  readonly tenantId: string;
  /** The operator who issued it. */
  readonly createdBy: string;
  readonly createdAt: Date;
  readonly expiresAt: Date;
  readonly usedAt: Date | null;
  /** Sorted, without repeats, always containing `backup`. */
  readonly scopes: readonly AgentScope[];
}

export interface NewEnrollmentToken {
  readonly tokenHash: string;
  readonly tenantId: string;
  readonly createdBy: string;
  readonly expiresAt: Date;
  readonly scopes: readonly AgentScope[];
}

export const BACKUP_OUTCOMES = ["success", "partial", "failure"] as const;
export type BackupOutcome = (typeof BACKUP_OUTCOMES)[number];

/**
 * A machine of a tenant. The secret's hash stays inside the catalog (`authenticateAgent` compares
 * it), so an agent record can be shown or serialized without leaking a credential.
 */
export interface Agent {
  readonly id: string;
  readonly tenantId: string;
  readonly hostname: string;
  readonly scopes: readonly AgentScope[];
  readonly createdAt: Date;
  readonly expiresAt: Date;
  readonly revokedAt: Date | null;
  readonly lastSeenAt: Date | null;
  readonly version: string | null;
  readonly lastBackupAt: Date | null;
  readonly lastBackupStatus: BackupOutcome | null;
  readonly lastError: string | null;
  /** The snapshot the last report named, as the agent said it. */
  readonly lastBackupSnapshotId: string | null;
  /**
   * Whether the last report's snapshot is one the catalog holds, committed by this agent: `false`
   * for a success or partial backup naming none, or a snapshot it did not commit (a stolen
   * credential claiming backups that never happened); `null` for a failure or no report.
   */
  readonly lastBackupVerified: boolean | null;
}

export interface NewAgent {
  readonly tenantId: string;
  readonly hostname: string;
  readonly secretHash: string;
  readonly scopes: readonly AgentScope[];
  readonly expiresAt: Date;
  readonly version?: string | null;
}

export interface BackupReport {
  readonly at: Date;
  readonly status: BackupOutcome;
  /** At most `MAX_ERROR_LENGTH` characters; `null` when the backup succeeded. */
  readonly error: string | null;
  /** The snapshot the backup committed, by the agent's account; checked against the catalog. */
  readonly snapshotId?: string | null;
}

export interface AgentCheckIn {
  readonly version: string;
  /** Absent: the agent has no new result since its last check-in, and the last one is kept. */
  readonly lastBackup?: BackupReport;
}

/** An object as the catalog accounts for it: one row per tenant, kind and name (first write wins). */
export interface StoredObject {
  readonly tenantId: string;
  readonly kind: ObjectKind;
  readonly name: string;
  readonly size: number;
  readonly createdAt: Date;
  /** `null` when the server itself or an operator stored it. */
  readonly createdByAgent: string | null;
}

export interface NewObject {
  readonly tenantId: string;
  readonly kind: ObjectKind;
  readonly name: string;
  readonly size: number;
  readonly createdByAgent: string | null;
}

export interface KindUsage {
  readonly count: number;
  readonly bytes: number;
}

export interface ObjectUsage {
  readonly totalBytes: number;
  readonly totalCount: number;
  readonly byKind: Readonly<Record<ObjectKind, KindUsage>>;
}

/** Keyset paging: names strictly after `after` (byte order), at most `limit` (1 to `MAX_PAGE`). */
export interface Page {
  readonly after?: string;
  readonly limit: number;
}

export const MAX_PAGE = 10_000;

export const SNAPSHOT_STATES = ["active", "held", "deleted"] as const;
export type SnapshotState = (typeof SNAPSHOT_STATES)[number];

/** The server's record of a committed snapshot; `id` is the name of its `snapshots` object. */
export interface SnapshotRecord {
  readonly tenantId: string;
  readonly id: string;
  readonly agentId: string;
  /** The server's receipt time: the only time retention and immutability are computed from. */
  readonly committedAt: Date;
  /** What the agent says; kept to show and to flag skew, never trusted. */
  readonly claimedTime: Date;
  /** `committedAt + immutableDays` of the tenant at commit; nobody can delete it before then. */
  readonly immutableUntil: Date;
  /** `active` ⇄ `held`; `active` → `deleted` (final). A held snapshot must be released first. */
  readonly state: SnapshotState;
  /** Marked by an operator or a detection as a clean restore point (retention's known-good rule). */
  readonly knownGood: boolean;
  /** Size of the snapshot's files as its agent reported it: accounting only, never trusted. */
  readonly logicalBytes: number | null;
}

export interface NewSnapshot {
  readonly tenantId: string;
  readonly id: string;
  readonly agentId: string;
  readonly claimedTime: Date;
  /** Names of the `data` objects (packs) the snapshot needs; each must be recorded already. */
  readonly packs: readonly string[];
  /**
   * When given, a pack recorded after this time counts as missing: the caller checked the packs'
   * files before then, and a record made since may be a re-upload of a pack GC was removing at
   * that moment (docs/GC.md). The commit route passes the time it started checking.
   */
  readonly packsRecordedBy?: Date;
  readonly logicalBytes?: number;
}

/** What retention keeps (evaluated by src/server/retention/policy.ts). */
export interface RetentionRules {
  /** keep every snapshot committed within this many days */
  readonly keepWithinDays: number;
  readonly keepDaily: number;
  readonly keepWeekly: number;
  readonly keepMonthly: number;
  readonly keepYearly: number;
  /** keep the newest known-good snapshot committed at least this many days ago (0: off) */
  readonly knownGoodAfterDays: number;
}

/** A tenant's policy (`agentId` null) or one agent's override of it. */
export interface PolicyRecord {
  readonly tenantId: string;
  readonly agentId: string | null;
  readonly rules: RetentionRules;
  readonly updatedAt: Date;
}

export const FORGET_OUTCOMES = ["forgotten", "referenced", "recent", "absent"] as const;
export type ForgetOutcome = (typeof FORGET_OUTCOMES)[number];

export interface PackUsage {
  readonly count: number;
  readonly bytes: number;
}

/** Packs no `active` or `held` snapshot references and recorded before `createdBefore`. */
export interface UnreferencedPackQuery extends Page {
  /** The grace period's start: packs of backups still in flight are newer and never listed. */
  readonly createdBefore: Date;
}

export const ACTOR_KINDS = ["operator", "agent", "system"] as const;
export type ActorKind = (typeof ACTOR_KINDS)[number];

/** `id` is required for operators and agents; the system may name a job (`"gc"`) or give `null`. */
export interface AuditActor {
  readonly kind: ActorKind;
  readonly id: string | null;
}

export interface AuditEntry {
  /** Increasing in append order, never reused. */
  readonly id: number;
  readonly at: Date;
  readonly actor: AuditActor;
  /** Dotted lowercase, e.g. `tenant.create`, `snapshot.hold.release`. */
  readonly action: string;
  readonly tenantId: string | null;
  readonly details: Readonly<Record<string, unknown>>;
}

export interface NewAuditEntry {
  readonly actor: AuditActor;
  readonly action: string;
  readonly tenantId: string | null;
  /** A JSON object of at most `MAX_AUDIT_DETAILS_BYTES` once serialized. Default `{}`. */
  readonly details?: Readonly<Record<string, unknown>>;
}

/** Entries matching every given filter, newest first. */
export interface AuditQuery {
  readonly tenantId?: string;
  /** Entries at or after this time. */
  readonly since?: Date;
  /** Entries with a smaller id: the cursor for the next (older) page. */
  readonly beforeId?: number;
  readonly limit: number;
}

/**
 * An operator's answer to a compromised machine: every object the agent uploaded at or after
 * `since` is hidden from every agent's listings and reads, and commits that need such a pack are
 * refused as missing. Nothing is deleted: retention, immutability and GC treat the objects as
 * before, and releasing the quarantine shows them again. Rows are history: never removed.
 * Never hidden: the repository's config and the key slots recorded up to it (the enrollment that
 * created the repository; agents can add neither afterwards), without which nothing opens.
 */
export interface Quarantine {
  /** Increasing, never reused. */
  readonly id: number;
  readonly tenantId: string;
  readonly agentId: string;
  readonly since: Date;
  readonly createdAt: Date;
  readonly releasedAt: Date | null;
  /** What it hides now (nothing once released): objects and their recorded bytes. */
  readonly hidden: { readonly objects: number; readonly bytes: number };
  /**
   * Snapshots of other agents, not deleted, that list a pack it hides: they lost those packs
   * (a machine that deduplicated against the quarantined one's uploads). `since` set to the
   * compromise, not earlier, keeps this at zero.
   */
  readonly affectedSnapshots: number;
}

export const DELETION_REASONS = ["delay", "immutability"] as const;
/** What fixed `dueAt`: the requested delay, or a snapshot's immutability window ending later. */
export type DeletionReason = (typeof DELETION_REASONS)[number];

/**
 * The deletion of all of a tenant's data (offboarding, contract end). Scheduled by one admin,
 * cancellable by another until `dueAt`, run by the server's deletion job. Never removed: a
 * cancelled or completed deletion stays as history and never changes again.
 */
export interface TenantDeletion {
  /** Increasing, never reused. */
  readonly id: number;
  readonly tenantId: string;
  /** The operator (id) who asked for it. */
  readonly requestedBy: string;
  readonly requestedAt: Date;
  /** Not before: the end of the delay, or the latest `immutableUntil` of the snapshots if later. */
  readonly dueAt: Date;
  readonly reason: DeletionReason;
  /** The second operator (id) who cancelled it; never `requestedBy`. */
  readonly cancelledBy: string | null;
  readonly cancelledAt: Date | null;
  /** When the job marked every snapshot deleted: from then on it cannot be cancelled. */
  readonly startedAt: Date | null;
  /** When the tenant became `deleted`: the end. */
  readonly completedAt: Date | null;
}

export interface NewTenantDeletion {
  readonly tenantId: string;
  readonly requestedBy: string;
  readonly dueAt: Date;
  readonly reason: DeletionReason;
}

/**
 * Who does a change that the catalog audits itself, in the change's own transaction (the deletion
 * steps: an entry can never be missing for a step that happened). The catalog adds its facts
 * to `details`, which obeys the rules of `NewAuditEntry.details`.
 */
export interface AuditNote {
  readonly actor: AuditActor;
  readonly details?: Readonly<Record<string, unknown>>;
}

export interface Catalog {
  createTenant(tenant: NewTenant, now: Date): Promise<Tenant>;
  getTenant(id: string): Promise<Tenant | undefined>;
  getTenantByName(name: string): Promise<Tenant | undefined>;
  /** Every tenant, whatever its status, by name. */
  listTenants(): Promise<Tenant[]>;
  updateTenant(id: string, changes: TenantChanges): Promise<Tenant>;

  createOperator(operator: NewOperator, now: Date): Promise<Operator>;
  getOperator(id: string): Promise<Operator | undefined>;
  getOperatorByUsername(username: string): Promise<Operator | undefined>;
  /** By username. */
  listOperators(): Promise<Operator[]>;
  /** Also ends every session of the operator: a new password means the old ones are suspect. */
  setOperatorPasswordHash(id: string, passwordHash: string): Promise<void>;
  /** Also ends every session of the operator. */
  disableOperator(id: string): Promise<void>;

  /** For an enabled operator; `expiresAt` must be after `now`. */
  createSession(session: NewSession, now: Date): Promise<Session>;
  /** The session and its operator while unrevoked, `now < expiresAt` and the operator is enabled. */
  findValidSession(tokenHash: string, now: Date): Promise<ValidSession | undefined>;
  /** Idempotent; an unknown token is not an error (logging out twice is fine). */
  revokeSession(tokenHash: string): Promise<void>;

  /** For an active tenant, by an enabled operator. */
  createEnrollmentToken(token: NewEnrollmentToken, now: Date): Promise<EnrollmentToken>;
  /**
   * Marks the token used and returns it, atomically: of any number of concurrent calls exactly one
   * succeeds. Refusals change nothing: unknown → `NotFound`; used → `ObjectConflict` (reason
   * `used`); `now >= expiresAt` → `InvalidArgument` (reason `expired`); tenant no longer active →
   * `InvalidArgument` (reason `tenant-inactive`). The reason is in `error.details.reason`.
   */
  consumeEnrollmentToken(tokenHash: string, now: Date): Promise<EnrollmentToken>;

  /** For an active tenant; `expiresAt` must be after `now`. */
  createAgent(agent: NewAgent, now: Date): Promise<Agent>;
  getAgent(id: string): Promise<Agent | undefined>;
  /** The tenant's agents, revoked ones included, by hostname. */
  listAgents(tenantId: string): Promise<Agent[]>;
  /** Idempotent: a second revocation keeps the first `revokedAt`. */
  revokeAgent(id: string, now: Date): Promise<void>;
  /** Revokes every unrevoked agent of the tenant at once (offboarding); returns how many. */
  revokeTenantAgents(tenantId: string, now: Date): Promise<number>;
  /**
   * The agent when `secretHash` matches, it is unrevoked, `now < expiresAt` and its tenant is
   * active; otherwise `undefined`, without saying which check failed.
   */
  authenticateAgent(id: string, secretHash: string, now: Date): Promise<Agent | undefined>;
  /** Records `now` as last seen, the agent's version and, when given, its last backup result. */
  recordAgentCheckIn(id: string, checkIn: AgentCheckIn, now: Date): Promise<void>;

  /**
   * `created` for a new name; `exists` when the name is recorded with the same size (the first
   * record is kept); a different size fails `ObjectConflict`. `createdByAgent` must be an agent
   * of the same tenant.
   */
  recordObject(object: NewObject, now: Date): Promise<PutOutcome>;
  /** Only ever about this tenant's objects: another tenant's object of that name does not count. */
  objectExists(tenantId: string, kind: ObjectKind, name: string): Promise<boolean>;
  listObjectNames(tenantId: string, kind: ObjectKind, page: Page): Promise<string[]>;
  objectUsage(tenantId: string): Promise<ObjectUsage>;

  /**
   * Records a committed snapshot at `now`. Refused with `NotFound` (and `details.missing`) unless
   * its `snapshots` object and every pack are recorded for the tenant (a pack a quarantine hides
   * counts as missing), and the agent belongs to
   * the tenant; an id already recorded for the tenant fails `ObjectConflict`; a tenant no longer
   * active fails `InvalidArgument` (reason `tenant-inactive`), so that a commit racing an
   * offboarding cannot add a snapshot to a deletion in progress.
   */
  recordSnapshot(snapshot: NewSnapshot, now: Date): Promise<SnapshotRecord>;
  getSnapshot(tenantId: string, id: string): Promise<SnapshotRecord | undefined>;
  /** Every state, by `committedAt` then id. */
  listSnapshots(tenantId: string): Promise<SnapshotRecord[]>;
  /** Sorted; `NotFound` for an unknown snapshot. */
  listSnapshotPacks(tenantId: string, id: string): Promise<string[]>;
  /**
   * Moves a snapshot between states. Refused (`ObjectConflict`, `details.reason`): leaving
   * `deleted` (`deleted-is-final`), deleting a held snapshot (`held`), deleting before
   * `immutableUntil` (`immutable`).
   */
  setSnapshotState(
    tenantId: string,
    id: string,
    state: SnapshotState,
    now: Date,
  ): Promise<SnapshotRecord>;
  /** Pack names, sorted, for GC: referenced by no `active` or `held` snapshot. */
  listUnreferencedPacks(tenantId: string, query: UnreferencedPackQuery): Promise<string[]>;
  /** How many packs `listUnreferencedPacks` would list in all, and their recorded bytes. */
  unreferencedPackUsage(tenantId: string, createdBefore: Date): Promise<PackUsage>;
  /**
   * GC's only removal, atomic with commits: removes the pack's record (and the pack lists of
   * deleted snapshots that name it) unless an active or held snapshot references it
   * (`referenced`) or it was recorded at or after `createdBefore` (`recent`); `absent` when there
   * is no record. `size` is the recorded size (0 when absent).
   */
  forgetPack(
    tenantId: string,
    name: string,
    createdBefore: Date,
  ): Promise<{ outcome: ForgetOutcome; size: number }>;
  /** Idempotent; `ObjectConflict` (reason `deleted-is-final`) for a deleted snapshot. */
  markSnapshotKnownGood(tenantId: string, id: string): Promise<SnapshotRecord>;

  /**
   * Sets the tenant's policy (`agentId` null) or an agent's override, replacing the one there.
   * `NotFound` for an unknown tenant or an agent of another tenant; `InvalidArgument` for counts
   * that are not whole numbers in range, or rules that keep nothing.
   */
  setRetentionPolicy(
    tenantId: string,
    agentId: string | null,
    rules: RetentionRules,
    now: Date,
  ): Promise<PolicyRecord>;
  /** The tenant's policy first (if set), then agent overrides by agent id. */
  listRetentionPolicies(tenantId: string): Promise<PolicyRecord[]>;

  /**
   * Schedules the deletion of an active tenant's data and, in the same transaction: the tenant
   * becomes `offboarding`, every agent is revoked, enrollment tokens issued until now stop
   * working for good, and `tenant.delete.schedule` is audited. Refused, changing nothing: tenant
   * not active (`ObjectConflict`, reason `tenant-not-active`); requester not an enabled admin
   * (`InvalidArgument`, `not-admin`); `dueAt` not after `now` (`InvalidArgument`, `not-delayed`)
   * or before the `immutableUntil` of a snapshot not deleted (`InvalidArgument`,
   * `before-immutability`, with `details.until`). The minimum delay is the caller's policy.
   */
  scheduleTenantDeletion(
    deletion: NewTenantDeletion,
    audit: AuditNote,
    now: Date,
  ): Promise<TenantDeletion>;
  /**
   * Cancels the tenant's pending deletion (two-person rule) and makes the tenant `active` again;
   * its agents stay revoked. Audited as `tenant.delete.cancel`. Refused, changing nothing: no
   * pending deletion (`NotFound`, `no-deletion`); `cancelledBy` not an enabled admin
   * (`InvalidArgument`, `not-admin`) or the requester (`InvalidArgument`, `same-operator`);
   * started, or `now >= dueAt` (`ObjectConflict`, `not-cancellable`).
   */
  cancelTenantDeletion(
    tenantId: string,
    cancelledBy: string,
    audit: AuditNote,
    now: Date,
  ): Promise<TenantDeletion>;
  /** The tenant's deletions, cancelled and completed ones included, oldest first. */
  listTenantDeletions(tenantId: string): Promise<TenantDeletion[]>;
  /** Every deletion neither cancelled nor completed, of any tenant, by `dueAt` then id. */
  listPendingTenantDeletions(): Promise<TenantDeletion[]>;
  /**
   * The irreversible step, all at once: marks every snapshot of the tenant deleted and the
   * deletion started; audited as `tenant.delete.start`. Refused with nothing changed
   * (`ObjectConflict`): cancelled or completed (`not-pending`), `now < dueAt` (`not-due`), a
   * snapshot held (`held`) or still immutable (`immutable`, with `details.until`);
   * `details.snapshots` names the snapshots in the way. Again on a started deletion: audited as
   * resumed, nothing else to mark.
   */
  startTenantDeletion(id: number, audit: AuditNote, now: Date): Promise<TenantDeletion>;
  /**
   * The last step, once the caller has removed the tenant's files: forgets the records of its
   * objects (those of its deleted snapshots stay with them), sets the tenant `deleted` and the
   * deletion completed; audited as `tenant.delete.complete`. Refused unless started
   * (`ObjectConflict`, `not-started` or `not-pending` when cancelled). A completed deletion is
   * answered as it is, without a second entry.
   */
  completeTenantDeletion(id: number, audit: AuditNote, now: Date): Promise<TenantDeletion>;

  /**
   * The agent when `secretHash` is its secret, whatever its state (revoked, expired, tenant not
   * active); otherwise `undefined`. Lets the server tell a real credential why it is refused
   * while telling a wrong secret nothing.
   */
  identifyAgent(id: string, secretHash: string): Promise<Agent | undefined>;
  /**
   * The objects of a kind an agent may see: recorded, not hidden by an active quarantine, and
   * for `snapshots` only those of a recorded snapshot not deleted. Paged by name.
   */
  listVisibleObjects(tenantId: string, kind: ObjectKind, page: Page): Promise<StoredObject[]>;
  /** One object, under the rules of `listVisibleObjects`; undefined when absent or hidden. */
  getVisibleObject(
    tenantId: string,
    kind: ObjectKind,
    name: string,
  ): Promise<StoredObject | undefined>;
  /**
   * Hides what the agent uploaded at or after `since` (see `Quarantine`); audited as
   * `agent.quarantine` in the same transaction. Refused: an agent of another tenant (`NotFound`);
   * one already quarantined (`ObjectConflict`, reason `already-quarantined`).
   */
  quarantineAgent(
    tenantId: string,
    agentId: string,
    since: Date,
    audit: AuditNote,
    now: Date,
  ): Promise<Quarantine>;
  /** Ends the agent's active quarantine (`NotFound`, reason `not-quarantined`, without one). */
  releaseQuarantine(
    tenantId: string,
    agentId: string,
    audit: AuditNote,
    now: Date,
  ): Promise<Quarantine>;
  /** The tenant's quarantines, released ones included, oldest first. */
  listQuarantines(tenantId: string): Promise<Quarantine[]>;

  /** There is deliberately no way to change or remove an entry. */
  appendAudit(entry: NewAuditEntry, now: Date): Promise<AuditEntry>;
  listAudit(query: AuditQuery): Promise<AuditEntry[]>;

  close(): Promise<void>;

  /**
   * Which of `names` (at most `MAX_LOOKUP`) the tenant has of `kind`, as `getVisibleObject` would
   * answer for each (a quarantine hides objects), in no particular order: one query for many names, so that a caller checking
   * thousands (a commit's packs) can let others in between batches.
   */
  visibleObjects(tenantId: string, kind: ObjectKind, names: readonly string[]): Promise<string[]>;
}

/** Most names one `visibleObjects` call takes. */
export const MAX_LOOKUP = 1000;
