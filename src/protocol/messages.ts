/**
 * Every body on the wire, each written once: `X` is the message (schema, checks, OpenAPI name)
 * and `type X` the TypeScript type it yields. Requests are closed (an unknown field is refused,
 * since it is a client's mistake); answers are open, so that an older agent reads a newer
 * server's answer with a field it does not know.
 */
import Type, { type Static, type TSchema } from "#typebox";
import { OBJECT_KINDS } from "../storage/object-store.js";
import {
  ACTOR_KINDS,
  AGENT_TOKEN_PREFIX,
  ALERT_KINDS,
  ALERT_SEVERITIES,
  DELETION_REASONS,
  DETECTION_VERDICTS,
  ERROR_STATUS,
  MAX_ALERT_REASON_LENGTH,
  MAX_CHECKIN_ERROR_LENGTH,
  MAX_COMMIT_PACKS,
  MAX_DETECTION_REASON_LENGTH,
  MAX_DETECTION_REASONS,
  MAX_DETECTION_SCORE,
  MAX_EXTENSION_LENGTH,
  MAX_HOSTNAME_LENGTH,
  MAX_JSON_BYTES,
  MAX_NEW_EXTENSIONS,
  MAX_RPO_SECONDS,
  MAX_VERSION_LENGTH,
  MIN_RPO_SECONDS,
  TENANT_STATUSES,
} from "./constants.js";
import { type Message, message } from "./message.js";
import {
  AgentId,
  AgentScopes,
  BackupOutcome,
  Bytes,
  Count,
  Days,
  Label,
  Nullable,
  ObjectName,
  Outcome,
  Quota,
  Seconds,
  Sha256,
  TenantName,
  UtcTime,
} from "./patterns.js";
import { CoverageReport, Drill, DrillRequest, RpoRequest } from "./reports.js";

type Fields = Parameters<typeof Type.Object>[0];
const request = <F extends Fields>(fields: F) =>
  Type.Object(fields, { additionalProperties: false });
const answer = <F extends Fields>(fields: F) => Type.Object(fields);

const Text = (maxLength: number) => Type.String({ minLength: 1, maxLength });
const Id = Type.String();
const NullableTime = Nullable(UtcTime);

export const ApiErrorBody = message(
  "ApiError",
  answer({
    error: answer({
      code: Type.Enum(Object.keys(ERROR_STATUS) as (keyof typeof ERROR_STATUS)[]),
      message: Type.String(),
      details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    }),
  }),
);
export type ApiErrorBody = Static<typeof ApiErrorBody.schema>;

export const Health = message(
  "Health",
  answer({ status: Type.Literal("ok"), version: Type.String() }),
);
export type Health = Static<typeof Health.schema>;

export const EnrollRequest = message(
  "EnrollRequest",
  request({
    token: Text(256),
    hostname: Label(MAX_HOSTNAME_LENGTH, "a host name"),
    version: Label(MAX_VERSION_LENGTH, "a version"),
  }),
);
export type EnrollRequest = Static<typeof EnrollRequest.schema>;

export const EnrollResponse = message(
  "EnrollResponse",
  answer({
    agent_id: Id,
    credential: Type.String({
      pattern: `^${AGENT_TOKEN_PREFIX}`,
      description: `the bearer token of every later request: ${AGENT_TOKEN_PREFIX}<agent id>_<secret>`,
    }),
    tenant: answer({ id: Id, name: TenantName }),
    scopes: AgentScopes,
    expires_at: UtcTime,
  }),
);
export type EnrollResponse = Static<typeof EnrollResponse.schema>;

export const LoginRequest = message(
  "LoginRequest",
  request({
    username: Text(128),
    password: Text(1024),
    totp: Type.Optional(
      Type.String({
        pattern: "^[0-9]{6}$",
        description: "the current TOTP code, for an operator who enrolled one",
      }),
    ),
  }),
);
export type LoginRequest = Static<typeof LoginRequest.schema>;

export const LoginResponse = message(
  "LoginResponse",
  answer({
    token: Type.String(),
    expires_at: UtcTime,
    idle_timeout_seconds: Type.Integer({
      minimum: 1,
      description: "the session also ends after this long unused",
    }),
    mfa: Type.Boolean({ description: "whether the session was opened with a TOTP code" }),
  }),
);
export type LoginResponse = Static<typeof LoginResponse.schema>;

/** One object of a listing. */
export const ObjectListingEntry = answer({
  name: ObjectName,
  size: Bytes,
  received_at: Type.String({
    ...UtcTime,
    description: "when the server received it: the server's clock, never the agent's",
  }),
  agent: Type.Union([AgentId, Type.Null()], {
    description: "the id of the agent that uploaded it; null for an operator's object (a key slot)",
  }),
});
export type ObjectListingEntry = Static<typeof ObjectListingEntry>;

/**
 * `GET /v1/repo/objects/:kind?limit=N&cursor=C`: a page of at most N objects (default and most
 * MAX_LISTING_PAGE) in name order, after the cursor; `next`, the cursor of the next page, when
 * more follow. Cursors are opaque: a client only sends back the `next` it was given.
 */
export const ObjectListing = message(
  "ObjectListing",
  answer({
    objects: Type.Immutable(Type.Array(ObjectListingEntry)),
    next: Type.Optional(
      Type.String({
        ...ObjectName,
        description: "present when more objects follow: pass it as ?cursor for the next page",
      }),
    ),
  }),
);
export type ObjectListing = Static<typeof ObjectListing.schema>;

export const PutResponse = message("PutResponse", answer({ outcome: Outcome }));
export type PutResponse = Static<typeof PutResponse.schema>;

const SignalCount = (description: string) => Type.Integer({ ...Count, description });

/**
 * What an agent's backup saw, relative to the parent snapshot (issue 10): counts, a score and
 * extensions, never a file name or path, so the server learns no more about the files than how
 * many changed and how. Optional in a commit, so that agents older than detection still commit.
 */
export const DetectionSummary = message(
  "DetectionSummary",
  request({
    verdict: Type.Enum(DETECTION_VERDICTS, { description: "the agent's own verdict" }),
    score: Type.Integer({ minimum: 0, maximum: MAX_DETECTION_SCORE }),
    reasons: Type.Immutable(
      Type.Array(Label(MAX_DETECTION_REASON_LENGTH, "a reason"), {
        maxItems: MAX_DETECTION_REASONS,
        description: "the verdict's reasons, in words; never a path or a file name",
      }),
    ),
    signals: request({
      files_total: SignalCount("files in the snapshot"),
      files_added: SignalCount("files not in the parent snapshot"),
      files_changed: SignalCount("files whose content changed"),
      files_deleted: SignalCount("files of the parent snapshot that are gone"),
      files_renamed: SignalCount("deleted paths whose content reappears under a new path"),
      extension_changes: SignalCount("renames whose extension changed"),
      type_mismatches: SignalCount("changed files whose content no longer matches their type"),
      high_entropy_changes: SignalCount(
        "changed files whose content became dense against their type's baseline",
      ),
      ransom_notes: SignalCount("new files named like ransom notes"),
      known_ransom_extensions: SignalCount(
        "files with a known ransomware extension (a weak signal)",
      ),
      new_extensions: Type.Immutable(
        Type.Array(
          Type.String({
            maxLength: MAX_EXTENSION_LENGTH,
            pattern: "^\\.[^\\sA-Z/\\\\\\u0000-\\u001f\\u007f]+$",
            description: `an extension is a dot and at most ${MAX_EXTENSION_LENGTH - 1} more characters, lowercase, without spaces, slashes or control characters, such as .locked`,
          }),
          { maxItems: MAX_NEW_EXTENSIONS, description: "extensions new in this snapshot" },
        ),
      ),
    }),
  }),
);
export type DetectionSummary = Static<typeof DetectionSummary.schema>;

export const CommitRequest = message(
  "CommitRequest",
  request({
    name: Type.String({ ...Sha256, description: "the SHA-256 of the sealed snapshot bytes" }),
    snapshot: Type.String({
      minLength: 1,
      maxLength: MAX_JSON_BYTES,
      pattern: "^[A-Za-z0-9+/]+={0,2}$",
      contentEncoding: "base64",
      description: "the sealed snapshot, in base64",
    }),
    packs: Type.Immutable(
      Type.Array(Sha256, {
        maxItems: MAX_COMMIT_PACKS,
        description:
          "every pack the snapshot needs; the server refuses the commit unless all exist",
      }),
    ),
    claimed_time: Type.String({
      ...UtcTime,
      description: "the agent's own clock, kept beside the server's; never used for retention",
    }),
    logical_bytes: Type.Optional(
      Type.Integer({
        ...Bytes,
        description:
          "the size of the files in the snapshot, as the agent counted: shown, never trusted",
      }),
    ),
    detection: Type.Optional(DetectionSummary.schema),
  }),
);
export type CommitRequest = Static<typeof CommitRequest.schema>;

export const CommitResponse = message(
  "CommitResponse",
  answer({
    snapshot_id: Sha256,
    committed_at: Type.String({ ...UtcTime, description: "the server's receipt time" }),
    outcome: Outcome,
  }),
);
export type CommitResponse = Static<typeof CommitResponse.schema>;

export const CheckinRequest = message(
  "CheckinRequest",
  request({
    version: Label(MAX_VERSION_LENGTH, "a version"),
    last_backup: Type.Optional(
      request({
        at: UtcTime,
        outcome: BackupOutcome,
        snapshot_id: Type.Optional(Sha256),
        error: Type.Optional(Text(MAX_CHECKIN_ERROR_LENGTH)),
      }),
    ),
  }),
);
export type CheckinRequest = Static<typeof CheckinRequest.schema>;

export const TenantRequest = message(
  "TenantRequest",
  request({
    name: TenantName,
    retention_days: Days(1),
    immutable_days: Type.Optional(Days(0, 3650)),
    quota_bytes: Type.Optional(Quota),
    rpo_seconds: Type.Optional(Seconds(MIN_RPO_SECONDS, MAX_RPO_SECONDS)),
  }),
);
export type TenantRequest = Static<typeof TenantRequest.schema>;

export const EnrollTokenRequest = message(
  "EnrollTokenRequest",
  request({
    expires_in_seconds: Seconds(60, 30 * 24 * 3600),
    scopes: Type.Optional(AgentScopes),
  }),
);
export type EnrollTokenRequest = Static<typeof EnrollTokenRequest.schema>;

export const EnrollTokenResponse = message(
  "EnrollTokenResponse",
  answer({ token: Type.String(), expires_at: UtcTime }),
);
export type EnrollTokenResponse = Static<typeof EnrollTokenResponse.schema>;

/** An operator quarantines an agent: hides what it uploaded at or after `since` (default: all). */
export const QuarantineRequest = message(
  "QuarantineRequest",
  request({
    agent_id: AgentId,
    since: Type.Optional(
      Type.String({ ...UtcTime, description: "hide what the agent uploaded from then on" }),
    ),
  }),
);
export type QuarantineRequest = Static<typeof QuarantineRequest.schema>;

/** An operator sets a tenant's quota; null: unlimited. */
export const QuotaRequest = message("QuotaRequest", request({ quota_bytes: Quota }));
export type QuotaRequest = Static<typeof QuotaRequest.schema>;

/** What an operator's key slot upload stored. */
export const KeySlotResponse = message(
  "KeySlotResponse",
  answer({
    name: Type.String({ ...Sha256, description: "the SHA-256 of the stored bytes: its keys name" }),
    outcome: Outcome,
  }),
);
export type KeySlotResponse = Static<typeof KeySlotResponse.schema>;

export const Tenant = message(
  "Tenant",
  answer({
    id: Id,
    name: TenantName,
    status: Type.Enum(TENANT_STATUSES),
    created_at: UtcTime,
    retention_days: Count,
    immutable_days: Count,
    quota_bytes: Nullable(Count),
    rpo_seconds: Type.Integer({
      ...Count,
      description: "recovery point objective: older backups make a machine stale (coverage)",
    }),
    alert_state: Type.Enum(["green", "red"], {
      description:
        "red while an alert about the tenant is open (neither acknowledged nor resolved)",
    }),
    open_alerts: Type.Integer({
      ...Count,
      description: "open alerts: neither acknowledged nor resolved",
    }),
  }),
);
export type Tenant = Static<typeof Tenant.schema>;

const AGENT_FIELDS = {
  id: Id,
  tenant_id: Id,
  hostname: Type.String(),
  scopes: AgentScopes,
  created_at: UtcTime,
  expires_at: UtcTime,
  revoked_at: NullableTime,
  last_seen_at: NullableTime,
  version: Nullable(Type.String()),
  last_backup_at: NullableTime,
  last_backup_status: Nullable(BackupOutcome),
  last_error: Nullable(Type.String()),
  last_backup_snapshot_id: Nullable(Type.String()),
  last_backup_verified: Type.Union([Type.Boolean(), Type.Null()], {
    description:
      "whether the reported snapshot is one this agent committed; false: claimed, unverified",
  }),
  last_host: Nullable(Type.String({ description: "the host name its last request gave" })),
  last_address: Nullable(Type.String({ description: "the address its last request came from" })),
};

export const Agent = message("Agent", answer(AGENT_FIELDS));
export type Agent = Static<typeof Agent.schema>;

/** An agent not seen for a while, with its tenant's name (`GET /v1/agents`). */
export const StaleAgent = message(
  "StaleAgent",
  answer({ ...AGENT_FIELDS, tenant_name: TenantName }),
);
export type StaleAgent = Static<typeof StaleAgent.schema>;

/** What the server knows of the agent asking (`GET /v1/agent/self`): its enrollment. */
export const AgentIdentity = message(
  "AgentIdentity",
  answer({
    agent_id: AgentId,
    tenant_id: Id,
    tenant_name: TenantName,
    hostname: Type.String(),
    scopes: AgentScopes,
    expires_at: UtcTime,
    server_version: Type.String(),
  }),
);
export type AgentIdentity = Static<typeof AgentIdentity.schema>;

export const Deletion = message(
  "Deletion",
  answer({
    id: Count,
    requested_by: Type.String(),
    requested_at: UtcTime,
    due_at: UtcTime,
    reason: Type.Enum(DELETION_REASONS),
    cancellable_until: NullableTime,
    cancelled_by: Nullable(Type.String()),
    cancelled_at: NullableTime,
    started_at: NullableTime,
    completed_at: NullableTime,
  }),
);
export type Deletion = Static<typeof Deletion.schema>;

const KindUsage = answer({ count: Count, bytes: Bytes });

export const TenantDetails = message(
  "TenantDetails",
  Type.Intersect([
    Tenant.schema,
    answer({
      usage: answer({
        stored_bytes: Bytes,
        object_count: Count,
        by_kind: answer(Object.fromEntries(OBJECT_KINDS.map((kind) => [kind, KindUsage]))),
      }),
      snapshots: answer({
        active: Count,
        held: Count,
        deleted: Count,
        known_good: Count,
        last_committed_at: NullableTime,
      }),
      reclaimable: answer({ packs: Count, bytes: Bytes }),
      logical: answer({ bytes: Bytes, dedup_ratio: Nullable(Type.Number()) }),
      agents: Type.Immutable(Type.Array(Agent.schema)),
      deletion: Nullable(Deletion.schema),
    }),
  ]),
);
export type TenantDetails = Static<typeof TenantDetails.schema>;

export const Quarantine = message(
  "Quarantine",
  answer({
    id: Count,
    tenant_id: Id,
    agent_id: Id,
    hostname: Nullable(Type.String()),
    since: UtcTime,
    created_at: UtcTime,
    released_at: NullableTime,
    hidden_objects: Count,
    hidden_bytes: Bytes,
    affected_snapshots: Type.Integer({
      ...Count,
      description: "snapshots of other agents that list a pack this quarantine hides",
    }),
  }),
);
export type Quarantine = Static<typeof Quarantine.schema>;

export const AuditEntry = message(
  "AuditEntry",
  answer({
    id: Count,
    at: UtcTime,
    actor: answer({ kind: Type.Enum(ACTOR_KINDS), id: Nullable(Id) }),
    action: Type.String(),
    tenant_id: Nullable(Id),
    details: Type.Record(Type.String(), Type.Unknown()),
  }),
);
export type AuditEntry = Static<typeof AuditEntry.schema>;

export const Alert = message(
  "Alert",
  answer({
    id: Count,
    tenant_id: Id,
    tenant: TenantName,
    agent_id: Nullable(Id),
    hostname: Nullable(Type.String()),
    snapshot_id: Nullable(Sha256),
    kind: Type.Enum(ALERT_KINDS),
    severity: Type.Enum(ALERT_SEVERITIES),
    message: Type.String(),
    details: Type.Record(Type.String(), Type.Unknown()),
    created_at: UtcTime,
    acknowledged_by: Type.Union([Type.String(), Type.Null()], {
      description: "the operator who acknowledged it (username); null while it is open",
    }),
    acknowledged_at: NullableTime,
    acknowledge_reason: Nullable(Type.String()),
    resolved_by: Type.Union([Type.Literal("system"), Type.Null()], {
      description:
        "system: the condition cleared (a backup arrived, usage fell) and the server closed it; null otherwise. An alert is acknowledged or resolved, never both",
    }),
    resolved_at: NullableTime,
    resolve_reason: Nullable(Type.String()),
  }),
);
export type Alert = Static<typeof Alert.schema>;

/** An alert listing's cursor: opaque to clients, who only send back a `next` they were given. */
export const AlertCursor = Type.String({
  pattern: "^[1-9][0-9]{0,15}$",
  description: "where the page starts: the `next` of the previous page",
});

/**
 * `GET /v1/alerts?limit=N&cursor=C`: a page of at most N alerts (default and most
 * MAX_LISTING_PAGE), newest first, after the cursor; `next` when older ones follow.
 */
export const AlertPage = message(
  "AlertPage",
  answer({
    alerts: Type.Immutable(Type.Array(Alert.schema)),
    next: Type.Optional(
      Type.String({
        ...AlertCursor,
        description: "present when more alerts follow: pass it as ?cursor for the next page",
      }),
    ),
  }),
);
export type AlertPage = Static<typeof AlertPage.schema>;

/** An operator acknowledges an alert: why it is handled (kept in the alert and the audit log). */
export const AlertAckRequest = message(
  "AlertAckRequest",
  request({ reason: Label(MAX_ALERT_REASON_LENGTH, "a reason") }),
);
export type AlertAckRequest = Static<typeof AlertAckRequest.schema>;

/** Every message, by its OpenAPI component name: a schema met inside another becomes a $ref. */
export const COMPONENTS: readonly Message<TSchema>[] = [
  ApiErrorBody,
  Health,
  EnrollRequest,
  EnrollResponse,
  LoginRequest,
  LoginResponse,
  ObjectListing,
  PutResponse,
  DetectionSummary,
  CommitRequest,
  CommitResponse,
  CheckinRequest,
  TenantRequest,
  Tenant,
  TenantDetails,
  Agent,
  StaleAgent,
  AgentIdentity,
  Deletion,
  QuotaRequest,
  KeySlotResponse,
  QuarantineRequest,
  Quarantine,
  AuditEntry,
  Alert,
  AlertPage,
  AlertAckRequest,
  EnrollTokenRequest,
  EnrollTokenResponse,
  DrillRequest,
  Drill,
  CoverageReport,
  RpoRequest,
];
