/** The wire's fixed numbers and names: prefixes, limits and the status of every error code. */
import { MAX_LIST_PAGE } from "../storage/object-store.js";

export const API_PREFIX = "/v1";

/** Credentials travel as bearer tokens with a type prefix, so a leaked one is recognisable. */
export const AGENT_TOKEN_PREFIX = "rmpa_";
export const SESSION_TOKEN_PREFIX = "rmps_";
export const ENROLL_TOKEN_PREFIX = "rmpe_";
export const API_TOKEN_PREFIX = "rmpt_";

/**
 * Request headers an agent sends with every request: the machine's host name and the program's
 * version, recorded as its check-in (a request without them still counts, without them).
 */
export const AGENT_HOST_HEADER = "rempart-agent-host";
export const AGENT_VERSION_HEADER = "rempart-agent-version";

/** Largest object body accepted (packs are 16 MiB; a large chunk adds at most 1 MiB). */
export const MAX_OBJECT_BYTES = 64 * 1024 * 1024;
/** Largest JSON body accepted. */
export const MAX_JSON_BYTES = 1024 * 1024;
/** Largest number of packs a snapshot commit may list. */
export const MAX_COMMIT_PACKS = 1_000_000;
/** Largest page of a listing, and the page a listing without `limit` gets (as S3 pages). */
export const MAX_LISTING_PAGE = MAX_LIST_PAGE;
/** What an agent may say about itself: host name, version, and a failed backup's error. */
export const MAX_HOSTNAME_LENGTH = 255;
export const MAX_VERSION_LENGTH = 64;
export const MAX_CHECKIN_ERROR_LENGTH = 2000;
/** Retention is counted in days, up to a century. */
export const MAX_DAYS = 36_500;

/**
 * The names both ends agree on, each list written once: the catalog stores them and the
 * messages carry them.
 */
/** Every agent may back up; `restore` is the one optional extra. Nothing grants deletion. */
export const AGENT_SCOPES = ["backup", "restore"] as const;
export type AgentScope = (typeof AGENT_SCOPES)[number];
export const BACKUP_OUTCOMES = ["success", "partial", "failure"] as const;
export type BackupOutcome = (typeof BACKUP_OUTCOMES)[number];
export const TENANT_STATUSES = ["active", "offboarding", "deleted"] as const;
export type TenantStatus = (typeof TENANT_STATUSES)[number];
/** What fixed a deletion's due time: the requested delay, or an immutability window ending later. */
export const DELETION_REASONS = ["delay", "immutability"] as const;
export type DeletionReason = (typeof DELETION_REASONS)[number];
export const ACTOR_KINDS = ["operator", "agent", "system"] as const;
export type ActorKind = (typeof ACTOR_KINDS)[number];

/** Machine-readable error codes; the HTTP status is fixed per code. */
export const ERROR_STATUS = {
  BadRequest: 400,
  Unauthorized: 401,
  CredentialExpired: 401,
  CredentialRevoked: 401,
  Forbidden: 403,
  AppendOnly: 403,
  NotFound: 404,
  MethodNotAllowed: 405,
  Conflict: 409,
  TokenUsed: 409,
  TokenExpired: 410,
  /** a body that came too slowly; the connection is then closed */
  RequestTimeout: 408,
  PayloadTooLarge: 413,
  UnsupportedMediaType: 415,
  RangeNotSatisfiable: 416,
  HashMismatch: 422,
  MissingPacks: 422,
  /** too many requests (commits) from one agent; `Retry-After` says when to try again */
  RateLimited: 429,
  QuotaExceeded: 507,
  StorageFull: 507,
  Internal: 500,
} as const;
export type ApiErrorCode = keyof typeof ERROR_STATUS;

/**
 * The detection summary an agent sends with a commit (issue 10): counts, scores and extensions,
 * never a file name or path. Its limits bound what the server stores per snapshot.
 */
export const DETECTION_VERDICTS = ["ok", "suspicious", "ransomware"] as const;
export type DetectionVerdict = (typeof DETECTION_VERDICTS)[number];
export const MAX_DETECTION_SCORE = 100;
export const MAX_DETECTION_REASONS = 20;
export const MAX_DETECTION_REASON_LENGTH = 300;
export const MAX_NEW_EXTENSIONS = 20;
export const MAX_EXTENSION_LENGTH = 16;

/**
 * Alerts the server raises for operators. `detection`: a commit judged suspicious or ransomware;
 * `restore-drill`: an agent's restore drill failed (src/server/drills/). Issue 11 adds its other
 * kinds (leftover agents, coverage, quota) to this list.
 */
export const ALERT_KINDS = [
  "detection",
  // a revoked, expired or offboarded agent still calling in: an admin tool left on a former client
  "leftover-agent",
  // an authenticated agent doing what the agent never does (delete, overwrite, forged bytes, paths
  // outside its tenant): its credential is in someone else's hands
  "agent-misuse",
  // backups that stop arriving or keep failing, and a tenant near its quota (server jobs)
  "backup-stale",
  "backup-failing",
  "quota",
  // a restore drill on an agent failed: the backups may not come back
  "restore-drill",
] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];
export const ALERT_SEVERITIES = ["warning", "high", "critical"] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];
/**
 * A tenant's recovery point objective: the most time its machines may go without a successful
 * backup before coverage calls them stale. From a minute to a year; a day by default.
 */
export const DEFAULT_RPO_SECONDS = 24 * 3600;
export const MIN_RPO_SECONDS = 60;
export const MAX_RPO_SECONDS = 365 * 24 * 3600;
/** An alert's message, and an operator's reason for acknowledging it. */
export const MAX_ALERT_MESSAGE_LENGTH = 4000;
export const MAX_ALERT_REASON_LENGTH = 1000;
