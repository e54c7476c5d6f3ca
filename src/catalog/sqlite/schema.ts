/**
 * The SQLite catalog's schema, as an ordered list of migrations: migration i brings the database
 * to `PRAGMA user_version` i + 1. A released migration is never edited, only followed by another.
 *
 * Times are INTEGER milliseconds since the epoch (UTC); booleans are 0/1; tables are STRICT so a
 * wrong type fails instead of being stored. Foreign keys hold the invariants the server relies on
 * even against a bug in the code above: an object, snapshot or pack reference always points
 * inside its own tenant, and a pack row cannot go while a snapshot still lists it.
 */
import type { Database } from "better-sqlite3";
import { RempartError } from "../../errors.js";
import { auditEntryHash, GENESIS_HASH } from "../audit-chain.js";

const SCOPES_CHECK = "scopes IN ('backup', 'backup,restore')";

const VERSION_1 = `
CREATE TABLE tenants (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  retention_days INTEGER NOT NULL CHECK (retention_days >= 1),
  immutable_days INTEGER NOT NULL DEFAULT 14 CHECK (immutable_days >= 0),
  quota_bytes INTEGER CHECK (quota_bytes IS NULL OR quota_bytes >= 0),
  status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'offboarding', 'deleted'))
) STRICT;

CREATE TABLE operators (
  id TEXT PRIMARY KEY,
  username TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL CHECK (password_hash <> ''),
  role TEXT NOT NULL CHECK (role IN ('admin', 'technician')),
  created_at INTEGER NOT NULL,
  disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1))
) STRICT;

CREATE TABLE sessions (
  token_hash TEXT PRIMARY KEY,
  operator_id TEXT NOT NULL REFERENCES operators (id),
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  revoked INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1))
) STRICT;
CREATE INDEX sessions_by_operator ON sessions (operator_id);

CREATE TABLE enrollment_tokens (
  token_hash TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants (id),
  created_by TEXT NOT NULL REFERENCES operators (id),
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at INTEGER,
  scopes TEXT NOT NULL CHECK (${SCOPES_CHECK})
) STRICT;

CREATE TABLE agents (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants (id),
  hostname TEXT NOT NULL,
  secret_hash TEXT NOT NULL,
  scopes TEXT NOT NULL CHECK (${SCOPES_CHECK}),
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  revoked_at INTEGER,
  last_seen_at INTEGER,
  version TEXT,
  last_backup_at INTEGER,
  last_backup_status TEXT CHECK (last_backup_status IN ('success', 'partial', 'failure')),
  last_error TEXT,
  UNIQUE (tenant_id, id)
) STRICT;
CREATE INDEX agents_by_tenant ON agents (tenant_id, hostname);

CREATE TABLE objects (
  tenant_id TEXT NOT NULL REFERENCES tenants (id),
  kind TEXT NOT NULL CHECK (kind IN ('config', 'keys', 'data', 'index', 'snapshots')),
  name TEXT NOT NULL,
  size INTEGER NOT NULL CHECK (size >= 0),
  created_at INTEGER NOT NULL,
  created_by_agent TEXT,
  PRIMARY KEY (tenant_id, kind, name),
  FOREIGN KEY (tenant_id, created_by_agent) REFERENCES agents (tenant_id, id)
) STRICT, WITHOUT ROWID;

-- object_kind is the constant 'snapshots': it lets the foreign key demand the snapshot's object.
CREATE TABLE snapshots (
  tenant_id TEXT NOT NULL,
  id TEXT NOT NULL,
  object_kind TEXT NOT NULL DEFAULT 'snapshots' CHECK (object_kind = 'snapshots'),
  agent_id TEXT NOT NULL,
  committed_at INTEGER NOT NULL,
  claimed_time INTEGER NOT NULL,
  immutable_until INTEGER NOT NULL,
  state TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'held', 'deleted')),
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, object_kind, id) REFERENCES objects (tenant_id, kind, name),
  FOREIGN KEY (tenant_id, agent_id) REFERENCES agents (tenant_id, id)
) STRICT, WITHOUT ROWID;
CREATE INDEX snapshots_by_commit ON snapshots (tenant_id, committed_at, id);

-- What GC reads without tenant keys. pack_kind is the constant 'data' for the foreign key.
CREATE TABLE snapshot_packs (
  tenant_id TEXT NOT NULL,
  snapshot_id TEXT NOT NULL,
  pack TEXT NOT NULL,
  pack_kind TEXT NOT NULL DEFAULT 'data' CHECK (pack_kind = 'data'),
  PRIMARY KEY (tenant_id, snapshot_id, pack),
  FOREIGN KEY (tenant_id, snapshot_id) REFERENCES snapshots (tenant_id, id),
  FOREIGN KEY (tenant_id, pack_kind, pack) REFERENCES objects (tenant_id, kind, name)
) STRICT, WITHOUT ROWID;
CREATE INDEX snapshot_packs_by_pack ON snapshot_packs (tenant_id, pack);

-- No foreign keys: an audit entry must be written even when what it names is unknown or bogus.
CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  actor_kind TEXT NOT NULL CHECK (actor_kind IN ('operator', 'agent', 'system')),
  actor_id TEXT,
  action TEXT NOT NULL,
  tenant_id TEXT,
  details TEXT NOT NULL CHECK (json_valid(details))
) STRICT;
CREATE INDEX audit_by_tenant ON audit_log (tenant_id, id);

-- Append-only below the application too. INSERT OR REPLACE removes the old row without firing
-- DELETE triggers (unless recursive_triggers is on), hence the INSERT trigger. This stops bugs and
-- injected SQL, not someone who can write the file: they can drop the triggers.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_replace BEFORE INSERT ON audit_log
WHEN EXISTS (SELECT 1 FROM audit_log WHERE id = NEW.id)
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
`;

// Retention policies per tenant (agent_id NULL) and per agent; the known-good mark on snapshots.
const VERSION_2 = `
CREATE TABLE retention_policies (
  tenant_id TEXT NOT NULL REFERENCES tenants (id),
  agent_id TEXT,
  keep_within_days INTEGER NOT NULL CHECK (keep_within_days >= 0),
  keep_daily INTEGER NOT NULL CHECK (keep_daily >= 0),
  keep_weekly INTEGER NOT NULL CHECK (keep_weekly >= 0),
  keep_monthly INTEGER NOT NULL CHECK (keep_monthly >= 0),
  keep_yearly INTEGER NOT NULL CHECK (keep_yearly >= 0),
  known_good_after_days INTEGER NOT NULL CHECK (known_good_after_days >= 0),
  updated_at INTEGER NOT NULL,
  FOREIGN KEY (tenant_id, agent_id) REFERENCES agents (tenant_id, id)
) STRICT;
-- One policy per tenant and one per agent: NULLs are distinct in a plain UNIQUE, hence ifnull.
CREATE UNIQUE INDEX retention_policies_scope ON retention_policies (tenant_id, ifnull(agent_id, ''));

ALTER TABLE snapshots ADD COLUMN known_good INTEGER NOT NULL DEFAULT 0 CHECK (known_good IN (0, 1));
`;

// Scheduled tenant deletions (offboarding). A row is history: never removed, and final once
// cancelled or completed. The schema itself keeps the two-person rule and one pending deletion
// per tenant, even against a bug in the code above.
const VERSION_3 = `
CREATE TABLE tenant_deletions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  tenant_id TEXT NOT NULL REFERENCES tenants (id),
  requested_by TEXT NOT NULL REFERENCES operators (id),
  requested_at INTEGER NOT NULL,
  due_at INTEGER NOT NULL,
  reason TEXT NOT NULL CHECK (reason IN ('delay', 'immutability')),
  cancelled_by TEXT REFERENCES operators (id),
  cancelled_at INTEGER,
  started_at INTEGER,
  completed_at INTEGER,
  CHECK (due_at > requested_at),
  CHECK ((cancelled_by IS NULL) = (cancelled_at IS NULL)),
  CHECK (cancelled_by IS NULL OR cancelled_by <> requested_by),
  CHECK (cancelled_at IS NULL OR started_at IS NULL),
  CHECK (completed_at IS NULL OR started_at IS NOT NULL)
) STRICT;
CREATE UNIQUE INDEX tenant_deletions_pending ON tenant_deletions (tenant_id)
  WHERE cancelled_at IS NULL AND completed_at IS NULL;

CREATE TRIGGER tenant_deletions_no_delete BEFORE DELETE ON tenant_deletions
BEGIN SELECT RAISE(ABORT, 'tenant_deletions keeps its history'); END;
CREATE TRIGGER tenant_deletions_final BEFORE UPDATE ON tenant_deletions
WHEN OLD.cancelled_at IS NOT NULL OR OLD.completed_at IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'a cancelled or completed tenant deletion is final'); END;
`;

/** The agent-reported logical size of each snapshot, for accounting (dedup ratio) only. */
const VERSION_4 = `
ALTER TABLE snapshots ADD COLUMN logical_bytes INTEGER
  CHECK (logical_bytes IS NULL OR logical_bytes >= 0);
`;

// Hostile uploads (issue 8). Quarantines hide what one agent uploaded since a time, without
// deleting anything; rows are history. The index serves the quarantine's "uploaded by this agent
// since" lookups. Check-ins keep the snapshot they name and whether the catalog holds it for that
// agent. (objects.created_at and created_by_agent, the receipt time and uploader, exist since v1.)
const VERSION_5 = `
CREATE TABLE quarantines (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  tenant_id TEXT NOT NULL REFERENCES tenants (id),
  agent_id TEXT NOT NULL,
  since INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  released_at INTEGER,
  CHECK (released_at IS NULL OR released_at >= created_at),
  FOREIGN KEY (tenant_id, agent_id) REFERENCES agents (tenant_id, id)
) STRICT;
CREATE UNIQUE INDEX quarantines_active ON quarantines (tenant_id, agent_id)
  WHERE released_at IS NULL;
CREATE TRIGGER quarantines_no_delete BEFORE DELETE ON quarantines
BEGIN SELECT RAISE(ABORT, 'quarantines keeps its history'); END;
CREATE TRIGGER quarantines_final BEFORE UPDATE ON quarantines
WHEN OLD.released_at IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'a released quarantine is final'); END;

CREATE INDEX objects_by_agent ON objects (tenant_id, created_by_agent, created_at);

ALTER TABLE agents ADD COLUMN last_backup_snapshot TEXT;
ALTER TABLE agents ADD COLUMN last_backup_verified INTEGER
  CHECK (last_backup_verified IS NULL OR last_backup_verified IN (0, 1));
`;

// Ransomware detection (issue 10). Each snapshot keeps the verdict of its commit and what it was
// judged from (counts and extensions as JSON, never names or paths); NULL for snapshots committed
// before. A commit is judged against the agent's own recent snapshots, hence their index. Alerts are history like quarantines: never removed, final once acknowledged. The
// partial index answers "which tenants are red" without reading acknowledged alerts.
const VERSION_6 = `
ALTER TABLE snapshots ADD COLUMN detection_verdict TEXT
  CHECK (detection_verdict IS NULL OR detection_verdict IN ('ok', 'suspicious', 'ransomware'));
ALTER TABLE snapshots ADD COLUMN detection_score INTEGER
  CHECK (detection_score IS NULL OR detection_score BETWEEN 0 AND 100);
ALTER TABLE snapshots ADD COLUMN detection_reasons TEXT
  CHECK (detection_reasons IS NULL OR json_valid(detection_reasons));
ALTER TABLE snapshots ADD COLUMN detection_signals TEXT
  CHECK (detection_signals IS NULL OR json_valid(detection_signals));
CREATE INDEX snapshots_by_agent ON snapshots (tenant_id, agent_id, committed_at, id);

CREATE TABLE alerts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  tenant_id TEXT NOT NULL REFERENCES tenants (id),
  agent_id TEXT,
  snapshot_id TEXT,
  kind TEXT NOT NULL CHECK (kind <> ''),
  severity TEXT NOT NULL CHECK (severity IN ('warning', 'high', 'critical')),
  message TEXT NOT NULL CHECK (message <> ''),
  details TEXT NOT NULL CHECK (json_valid(details)),
  created_at INTEGER NOT NULL,
  acknowledged_by TEXT REFERENCES operators (id),
  acknowledged_at INTEGER,
  acknowledge_reason TEXT,
  CHECK ((acknowledged_by IS NULL) = (acknowledged_at IS NULL)),
  CHECK ((acknowledged_at IS NULL) = (acknowledge_reason IS NULL)),
  FOREIGN KEY (tenant_id, agent_id) REFERENCES agents (tenant_id, id),
  FOREIGN KEY (tenant_id, snapshot_id) REFERENCES snapshots (tenant_id, id)
) STRICT;
CREATE INDEX alerts_by_tenant ON alerts (tenant_id, id);
CREATE INDEX alerts_open ON alerts (tenant_id) WHERE acknowledged_at IS NULL;
CREATE TRIGGER alerts_no_delete BEFORE DELETE ON alerts
BEGIN SELECT RAISE(ABORT, 'alerts keeps its history'); END;
CREATE TRIGGER alerts_final BEFORE UPDATE ON alerts
WHEN OLD.acknowledged_at IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'an acknowledged alert is final'); END;
`;

/**
 * Issue 11, operators: the read-only role (a CHECK constraint, so the table is rebuilt: the rows
 * are kept aside, the table dropped and made anew, the rows put back, with the foreign keys that
 * point at it checked at commit), a TOTP secret sealed by the server's key, the idle time and
 * second factor of sessions, failed-login throttles and API tokens.
 */
export const OPERATOR_SECURITY = `
PRAGMA defer_foreign_keys = ON;
CREATE TEMP TABLE operators_kept AS SELECT * FROM operators;
DROP TABLE operators;
CREATE TABLE operators (
  id TEXT PRIMARY KEY,
  username TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL CHECK (password_hash <> ''),
  role TEXT NOT NULL CHECK (role IN ('read-only', 'technician', 'admin')),
  created_at INTEGER NOT NULL,
  disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
  totp_secret TEXT CHECK (totp_secret <> ''),
  totp_last_step INTEGER,
  totp_pending TEXT CHECK (totp_pending <> ''),
  CHECK ((totp_secret IS NULL) = (totp_last_step IS NULL))
) STRICT;
INSERT INTO operators (id, username, password_hash, role, created_at, disabled)
  SELECT id, username, password_hash, role, created_at, disabled FROM operators_kept;
DROP TABLE temp.operators_kept;

ALTER TABLE sessions ADD COLUMN last_used_at INTEGER;
ALTER TABLE sessions ADD COLUMN mfa INTEGER NOT NULL DEFAULT 0 CHECK (mfa IN (0, 1));

CREATE TABLE login_throttles (
  key TEXT PRIMARY KEY,
  failures INTEGER NOT NULL CHECK (failures >= 1),
  last_failure_at INTEGER NOT NULL,
  locked_until INTEGER
) STRICT;
CREATE INDEX login_throttles_by_time ON login_throttles (last_failure_at);

CREATE TABLE api_tokens (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL CHECK (name <> ''),
  token_hash TEXT NOT NULL UNIQUE,
  operator_id TEXT NOT NULL REFERENCES operators (id),
  scopes TEXT NOT NULL CHECK (scopes <> ''),
  created_at INTEGER NOT NULL,
  expires_at INTEGER,
  revoked_at INTEGER,
  last_used_at INTEGER,
  UNIQUE (operator_id, name)
) STRICT;
`;

// Leftover agents and misuse (issue 11): where and as what each agent last called from (the
// enrolled hostname stays its name), and when each kind of alert about it was last raised, so
// that "at most one a day" holds across restarts and concurrent requests (one UPDATE claims it).
const AGENT_WATCH = `
ALTER TABLE agents ADD COLUMN last_host TEXT;
ALTER TABLE agents ADD COLUMN last_address TEXT;
ALTER TABLE agents ADD COLUMN leftover_alerted_at INTEGER;
ALTER TABLE agents ADD COLUMN misuse_alerted_at INTEGER;
CREATE INDEX agents_by_last_seen ON agents (last_seen_at) WHERE revoked_at IS NULL;
`;

// Coverage and restore drills (issue 11). Each tenant's recovery point objective, and every drill
// an agent reports: history, like alerts, so never changed nor removed. The snapshot a drill
// restored is one of the tenant's (null when the drill failed before choosing one).
const COVERAGE_DRILLS = `
ALTER TABLE tenants ADD COLUMN rpo_seconds INTEGER NOT NULL DEFAULT 86400
  CHECK (rpo_seconds BETWEEN 60 AND 31536000);

CREATE TABLE restore_drills (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  tenant_id TEXT NOT NULL REFERENCES tenants (id),
  agent_id TEXT NOT NULL,
  snapshot_id TEXT,
  at INTEGER NOT NULL,
  ok INTEGER NOT NULL CHECK (ok IN (0, 1)),
  files INTEGER NOT NULL CHECK (files >= 0),
  bytes INTEGER NOT NULL CHECK (bytes >= 0),
  duration_ms INTEGER NOT NULL CHECK (duration_ms >= 0),
  error TEXT,
  CHECK ((ok = 1) = (error IS NULL)),
  FOREIGN KEY (tenant_id, agent_id) REFERENCES agents (tenant_id, id),
  FOREIGN KEY (tenant_id, snapshot_id) REFERENCES snapshots (tenant_id, id)
) STRICT;
CREATE INDEX restore_drills_by_agent ON restore_drills (agent_id, id);
CREATE INDEX restore_drills_by_tenant ON restore_drills (tenant_id, id);
CREATE TRIGGER restore_drills_no_delete BEFORE DELETE ON restore_drills
BEGIN SELECT RAISE(ABORT, 'restore_drills keeps its history'); END;
CREATE TRIGGER restore_drills_no_update BEFORE UPDATE ON restore_drills
BEGIN SELECT RAISE(ABORT, 'restore_drills keeps its history'); END;
`;

// The audit log as a hash chain (issue 11, src/catalog/audit-chain.ts): each entry gets its place
// in the sequence (seq, 1, 2, 3…, in id order), the hash of the entry before it and its own hash.
// The table is rebuilt (its triggers refuse updates) and the existing entries chained in id order
// by a recursive query that steps from one id to the next through the primary key.
// rempart_audit_hash is the SQL face of auditEntryHash, registered by `migrate`. The insert trigger
// keeps the chain linear against a bug above: an entry must take the next number and name the
// current head as its predecessor (its own hash is checked by `audit verify`).
const AUDIT_CHAIN = `
CREATE TABLE audit_log_chained (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  seq INTEGER NOT NULL UNIQUE CHECK (seq >= 1),
  at INTEGER NOT NULL,
  actor_kind TEXT NOT NULL CHECK (actor_kind IN ('operator', 'agent', 'system')),
  actor_id TEXT,
  action TEXT NOT NULL,
  tenant_id TEXT,
  details TEXT NOT NULL CHECK (json_valid(details)),
  prev_hash TEXT NOT NULL CHECK (length(prev_hash) = 64),
  hash TEXT NOT NULL CHECK (length(hash) = 64)
) STRICT;

WITH RECURSIVE chain (id, seq, prev_hash, hash) AS (
  SELECT id, 1, '${GENESIS_HASH}',
    rempart_audit_hash('${GENESIS_HASH}', 1, at, actor_kind, actor_id, action, tenant_id, details)
  FROM audit_log WHERE id = (SELECT min(id) FROM audit_log)
  UNION ALL
  SELECT a.id, c.seq + 1, c.hash,
    rempart_audit_hash(c.hash, c.seq + 1, a.at, a.actor_kind, a.actor_id, a.action, a.tenant_id,
      a.details)
  FROM chain c JOIN audit_log a ON a.id = (SELECT min(id) FROM audit_log WHERE id > c.id)
)
INSERT INTO audit_log_chained
  (id, seq, at, actor_kind, actor_id, action, tenant_id, details, prev_hash, hash)
SELECT a.id, c.seq, a.at, a.actor_kind, a.actor_id, a.action, a.tenant_id, a.details, c.prev_hash,
  c.hash
FROM chain c JOIN audit_log a ON a.id = c.id;

DROP TABLE audit_log;
ALTER TABLE audit_log_chained RENAME TO audit_log;
CREATE INDEX audit_by_tenant ON audit_log (tenant_id, id);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_replace BEFORE INSERT ON audit_log
WHEN EXISTS (SELECT 1 FROM audit_log WHERE id = NEW.id)
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log
WHEN NEW.seq <> ifnull((SELECT max(seq) FROM audit_log), 0) + 1
  OR NEW.prev_hash <> ifnull((SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1), '${GENESIS_HASH}')
BEGIN SELECT RAISE(ABORT, 'audit_log entries must extend the chain'); END;
`;

// Alert delivery (issue 11): where alerts go (per tenant, or every tenant's when tenant_id is NULL;
// origin 'config' for those `rempart server` flags set, replaced at each start) and the outbox,
// one row per alert and destination written in the alert's own transaction, so that an alert is
// never raised without its deliveries. Destinations are history (removed_at, never deleted);
// an outbox row ends delivered or failed, once. The webhook secret is kept in clear: the server
// signs with it (docs/SECURITY.md).
const ALERT_DELIVERY = `
CREATE TABLE alert_destinations (
  id TEXT PRIMARY KEY,
  tenant_id TEXT REFERENCES tenants (id),
  kind TEXT NOT NULL CHECK (kind IN ('webhook', 'email')),
  target TEXT NOT NULL CHECK (target <> ''),
  secret TEXT CHECK ((kind = 'webhook') = (secret IS NOT NULL)),
  origin TEXT NOT NULL CHECK (origin IN ('admin', 'config')),
  created_at INTEGER NOT NULL,
  removed_at INTEGER,
  CHECK (origin = 'admin' OR tenant_id IS NULL)
) STRICT;
CREATE INDEX alert_destinations_active ON alert_destinations (tenant_id) WHERE removed_at IS NULL;
CREATE TRIGGER alert_destinations_no_delete BEFORE DELETE ON alert_destinations
BEGIN SELECT RAISE(ABORT, 'alert_destinations keeps its history'); END;

CREATE TABLE alert_outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  alert_id INTEGER NOT NULL REFERENCES alerts (id),
  destination_id TEXT NOT NULL REFERENCES alert_destinations (id),
  created_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  next_attempt_at INTEGER,
  last_error TEXT,
  delivered_at INTEGER,
  failed_at INTEGER,
  UNIQUE (alert_id, destination_id),
  CHECK (delivered_at IS NULL OR failed_at IS NULL),
  CHECK ((next_attempt_at IS NULL) = (delivered_at IS NOT NULL OR failed_at IS NOT NULL))
) STRICT;
CREATE INDEX alert_outbox_due ON alert_outbox (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
CREATE TRIGGER alert_outbox_no_delete BEFORE DELETE ON alert_outbox
BEGIN SELECT RAISE(ABORT, 'alert_outbox keeps its history'); END;
CREATE TRIGGER alert_outbox_final BEFORE UPDATE ON alert_outbox
WHEN OLD.delivered_at IS NOT NULL OR OLD.failed_at IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'a delivered or failed alert delivery is final'); END;
`;

// Alerts the system resolves (issue 11's leftover): a condition alert closes by itself once its
// condition clears, kept as history with when and why, distinct from an operator's
// acknowledgement; either closes it, never both, and a closed alert is final. The outbox is
// rebuilt (its UNIQUE constraint changes: a resolved notice is a second delivery of one alert to
// one destination), its rows kept with their ids, which receivers hold as idempotency keys.
const ALERT_RESOLUTION = `
ALTER TABLE alerts ADD COLUMN resolved_by TEXT CHECK (resolved_by IS NULL OR resolved_by = 'system');
ALTER TABLE alerts ADD COLUMN resolved_at INTEGER;
ALTER TABLE alerts ADD COLUMN resolve_reason TEXT
  CHECK ((resolved_by IS NULL) = (resolved_at IS NULL)
    AND (resolved_at IS NULL) = (resolve_reason IS NULL)
    AND (resolved_at IS NULL OR acknowledged_at IS NULL));
DROP INDEX alerts_open;
CREATE INDEX alerts_open ON alerts (tenant_id) WHERE acknowledged_at IS NULL AND resolved_at IS NULL;
DROP TRIGGER alerts_final;
CREATE TRIGGER alerts_final BEFORE UPDATE ON alerts
WHEN OLD.acknowledged_at IS NOT NULL OR OLD.resolved_at IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'a closed alert is final'); END;

CREATE TEMP TABLE alert_outbox_kept AS SELECT * FROM alert_outbox;
DROP TABLE alert_outbox;
CREATE TABLE alert_outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  alert_id INTEGER NOT NULL REFERENCES alerts (id),
  destination_id TEXT NOT NULL REFERENCES alert_destinations (id),
  event TEXT NOT NULL DEFAULT 'raise' CHECK (event IN ('raise', 'resolve')),
  created_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  next_attempt_at INTEGER,
  last_error TEXT,
  delivered_at INTEGER,
  failed_at INTEGER,
  UNIQUE (alert_id, destination_id, event),
  CHECK (delivered_at IS NULL OR failed_at IS NULL),
  CHECK ((next_attempt_at IS NULL) = (delivered_at IS NOT NULL OR failed_at IS NOT NULL))
) STRICT;
INSERT INTO alert_outbox (id, alert_id, destination_id, created_at, attempts, next_attempt_at,
  last_error, delivered_at, failed_at)
  SELECT id, alert_id, destination_id, created_at, attempts, next_attempt_at, last_error,
  delivered_at, failed_at FROM alert_outbox_kept;
DROP TABLE temp.alert_outbox_kept;
CREATE INDEX alert_outbox_due ON alert_outbox (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
CREATE TRIGGER alert_outbox_no_delete BEFORE DELETE ON alert_outbox
BEGIN SELECT RAISE(ABORT, 'alert_outbox keeps its history'); END;
CREATE TRIGGER alert_outbox_final BEFORE UPDATE ON alert_outbox
WHEN OLD.delivered_at IS NOT NULL OR OLD.failed_at IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'a delivered or failed alert delivery is final'); END;
`;

export const MIGRATIONS: readonly string[] = [
  VERSION_1,
  VERSION_2,
  VERSION_3,
  VERSION_4,
  VERSION_5,
  VERSION_6,
  OPERATOR_SECURITY,
  AGENT_WATCH,
  COVERAGE_DRILLS,
  AUDIT_CHAIN,
  ALERT_DELIVERY,
  ALERT_RESOLUTION,
];
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Brings the database to `SCHEMA_VERSION`, each step in the same write transaction as its version
 * bump, so a crash leaves the old version or the new one and two processes opening a fresh file
 * at once migrate it once. A newer schema than this code knows is refused, never downgraded.
 * `target` stops earlier: a catalog as an older Rempart left it, for a migration's test.
 */
export function migrate(db: Database, target = SCHEMA_VERSION): void {
  db.function(
    "rempart_audit_hash",
    { deterministic: true },
    (prevHash, seq, at, actorKind, actorId, action, tenantId, details) =>
      auditEntryHash(String(prevHash), {
        seq: Number(seq),
        at: Number(at),
        actorKind: String(actorKind),
        actorId: actorId === null ? null : String(actorId),
        action: String(action),
        tenantId: tenantId === null ? null : String(tenantId),
        details: String(details),
      }),
  );
  db.transaction(() => {
    const current = db.pragma("user_version", { simple: true }) as number;
    if (current > SCHEMA_VERSION) {
      throw new RempartError(
        "Unsupported",
        `the catalog has schema version ${current}, newer than this Rempart knows (${SCHEMA_VERSION}); upgrade Rempart`,
        { version: current, supported: SCHEMA_VERSION },
      );
    }
    for (let version = current + 1; version <= target; version += 1) {
      db.exec(MIGRATIONS[version - 1] ?? "");
      db.pragma(`user_version = ${version}`);
    }
  }).immediate();
}
