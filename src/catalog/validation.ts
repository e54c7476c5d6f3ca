/**
 * The checks every Catalog implementation applies before touching its database, so that SQLite
 * and PostgreSQL refuse exactly the same input with the same error. Each returns the value to
 * store (normalized where there is a canonical form) or throws `InvalidArgument`.
 */
import { RempartError } from "../errors.js";
import {
  ALERT_KINDS,
  ALERT_SEVERITIES,
  DETECTION_VERDICTS,
  MAX_ALERT_MESSAGE_LENGTH,
  MAX_ALERT_REASON_LENGTH,
  MAX_DAYS,
  MAX_DETECTION_SCORE,
  MAX_HOSTNAME_LENGTH,
  MAX_RPO_SECONDS,
  MAX_VERSION_LENGTH,
  MIN_RPO_SECONDS,
} from "../protocol/constants.js";
import { TENANT_NAME_PATTERN, TENANT_NAME_RULE } from "../protocol/patterns.js";
import { isValidRef, OBJECT_KINDS, type ObjectKind } from "../storage/object-store.js";
import {
  ACTOR_KINDS,
  AGENT_SCOPES,
  type AgentScope,
  type AuditActor,
  BACKUP_OUTCOMES,
  DELETION_REASONS,
  MAX_PAGE,
  OPERATOR_ROLES,
  type Page,
  type RetentionRules,
  SNAPSHOT_STATES,
  type SnapshotDetection,
  TENANT_STATUSES,
} from "./catalog.js";

/** The wire's tenant name (src/protocol/patterns.ts): the catalog stores what the API accepts. */
const TENANT_NAME = new RegExp(TENANT_NAME_PATTERN);
export const USERNAME = /^[a-z0-9][a-z0-9._@-]{0,127}$/;
/** Lowercase hex SHA-256: the form of every token and agent-secret hash the catalog accepts. */
const SECRET_HASH = /^[0-9a-f]{64}$/;
const AUDIT_ACTION = /^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)*$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds.
const CONTROL = /[\u0000-\u001f\u007f]/;

export const MAX_ERROR_LENGTH = 4096;
export const MAX_PASSWORD_HASH_LENGTH = 1024;
export const MAX_ACTOR_ID_LENGTH = 128;
export const MAX_AUDIT_ACTION_LENGTH = 64;
export const MAX_AUDIT_DETAILS_BYTES = 64 * 1024;
export const DAY_MS = 86_400_000;

function invalid(message: string, details: Record<string, unknown>): RempartError {
  return new RempartError("InvalidArgument", message, details);
}

export function checkTenantName(name: string): string {
  if (typeof name !== "string" || !TENANT_NAME.test(name)) {
    throw invalid(`${JSON.stringify(name)} is not a tenant name: use ${TENANT_NAME_RULE}`, {
      field: "name",
      value: name,
    });
  }
  return name;
}

export function checkUsername(username: string): string {
  if (typeof username !== "string" || !USERNAME.test(username)) {
    throw invalid(
      `${JSON.stringify(username)} is not a username: use 1 to 128 lowercase letters, digits and . _ @ -, starting with a letter or digit`,
      { field: "username", value: username },
    );
  }
  return username;
}

/** Never echoes the value: a caller that passed the secret itself by mistake must not log it. */
export function checkSecretHash(field: string, hash: string): string {
  if (typeof hash !== "string" || !SECRET_HASH.test(hash)) {
    throw invalid(`${field} must be a lowercase hex SHA-256 (64 characters)`, { field });
  }
  return hash;
}

export function checkPasswordHash(hash: string): string {
  if (typeof hash !== "string" || hash.length === 0 || hash.length > MAX_PASSWORD_HASH_LENGTH) {
    throw invalid(
      `passwordHash must be a non-empty string of at most ${MAX_PASSWORD_HASH_LENGTH} characters`,
      { field: "passwordHash" },
    );
  }
  return hash;
}

export function checkTime(field: string, time: Date): number {
  const ms = time instanceof Date ? time.getTime() : Number.NaN;
  if (!Number.isSafeInteger(ms)) throw invalid(`${field} must be a valid Date`, { field });
  return ms;
}

/** Checks `expiresAt` and `now`, and that the credential is not born expired. */
export function checkExpiry(expiresAt: Date, now: Date): { expiresAt: number; now: number } {
  const times = { expiresAt: checkTime("expiresAt", expiresAt), now: checkTime("now", now) };
  if (times.expiresAt <= times.now) {
    throw invalid("expiresAt must be after now", { field: "expiresAt" });
  }
  return times;
}

export function checkDays(field: string, days: number, min: number): number {
  if (!Number.isInteger(days) || days < min || days > MAX_DAYS) {
    throw invalid(`${field} must be a whole number of days from ${min} to ${MAX_DAYS}`, {
      field,
      value: days,
    });
  }
  return days;
}

export function checkQuota(quotaBytes: number | null): number | null {
  if (quotaBytes !== null && !(Number.isSafeInteger(quotaBytes) && quotaBytes >= 0)) {
    throw invalid("quotaBytes must be a whole number of bytes, or null for unlimited", {
      field: "quotaBytes",
      value: quotaBytes,
    });
  }
  return quotaBytes;
}

export function checkRpo(seconds: number): number {
  if (!Number.isInteger(seconds) || seconds < MIN_RPO_SECONDS || seconds > MAX_RPO_SECONDS) {
    throw invalid(
      `rpoSeconds must be a whole number of seconds from ${MIN_RPO_SECONDS} to ${MAX_RPO_SECONDS}`,
      { field: "rpoSeconds", value: seconds },
    );
  }
  return seconds;
}

export function checkOneOf<T extends string>(
  field: string,
  allowed: readonly T[],
  value: string,
): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw invalid(`${field} must be one of ${allowed.join(", ")}`, { field, value });
  }
  return value as T;
}

export const checkTenantStatus = (value: string) => checkOneOf("status", TENANT_STATUSES, value);
export const checkRole = (value: string) => checkOneOf("role", OPERATOR_ROLES, value);
export const checkSnapshotState = (value: string) => checkOneOf("state", SNAPSHOT_STATES, value);
export const checkBackupOutcome = (value: string) => checkOneOf("status", BACKUP_OUTCOMES, value);
export const checkObjectKind = (value: string) => checkOneOf("kind", OBJECT_KINDS, value);
export const checkDeletionReason = (value: string) => checkOneOf("reason", DELETION_REASONS, value);

/** Sorted and without repeats; `backup` is required, since an agent exists to back up. */
export function normalizeScopes(scopes: readonly AgentScope[]): AgentScope[] {
  if (!Array.isArray(scopes)) throw invalid("scopes must be a list", { field: "scopes" });
  const set = new Set(scopes.map((scope) => checkOneOf("scopes", AGENT_SCOPES, scope)));
  if (!set.has("backup")) {
    throw invalid("scopes must include backup", { field: "scopes", value: scopes });
  }
  return AGENT_SCOPES.filter((scope) => set.has(scope));
}

/** Text an agent reports about itself (host name, version): bounded, one line, printable. */
function checkLabel(field: string, value: string, maxLength: number): string {
  if (
    typeof value !== "string" ||
    value.length === 0 ||
    value.length > maxLength ||
    CONTROL.test(value)
  ) {
    throw invalid(`${field} must be 1 to ${maxLength} characters without control characters`, {
      field,
    });
  }
  return value;
}

export const checkHostname = (hostname: string) =>
  checkLabel("hostname", hostname, MAX_HOSTNAME_LENGTH);
export const checkVersion = (version: string) => checkLabel("version", version, MAX_VERSION_LENGTH);

export function checkBackupError(error: string | null): string | null {
  if (error !== null && (typeof error !== "string" || error.length > MAX_ERROR_LENGTH)) {
    throw invalid(`error must be null or at most ${MAX_ERROR_LENGTH} characters`, {
      field: "error",
    });
  }
  return error;
}

/** A restore drill's error: null exactly when it succeeded, else one line saying what failed. */
export function checkDrillError(ok: boolean, error: string | null): string | null {
  if (typeof ok !== "boolean") throw invalid("ok must be true or false", { field: "ok" });
  if (ok) {
    if (error !== null) throw invalid("a successful drill has no error", { field: "error" });
    return null;
  }
  if (error === null) throw invalid("a failed drill says what failed", { field: "error" });
  return checkLabel("error", error, MAX_ERROR_LENGTH);
}

/** A count or a duration: a whole number, zero or more. */
export function checkCount(field: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0)
    throw invalid(`${field} must be a whole number, zero or more`, { field, value });
  return value;
}

export function checkObjectName(kind: ObjectKind, name: string): string {
  if (!isValidRef({ kind, name })) {
    throw invalid(`${JSON.stringify(name)} is not a valid name for a ${kind} object`, {
      field: "name",
      kind,
      value: name,
    });
  }
  return name;
}

export function checkSize(size: number): number {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw invalid("size must be a whole number of bytes", { field: "size", value: size });
  }
  return size;
}

/** The pack names, each a valid `data` name, without repeats and sorted. */
export function normalizePacks(packs: readonly string[]): string[] {
  if (!Array.isArray(packs)) throw invalid("packs must be a list", { field: "packs" });
  return [...new Set(packs.map((pack) => checkObjectName("data", pack)))].sort();
}

export function checkPage(page: Page): { after: string; limit: number } {
  const after = page.after ?? "";
  if (typeof after !== "string") throw invalid("after must be a string", { field: "after" });
  return { after, limit: checkLimit(page.limit) };
}

export function checkLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
    throw invalid(`limit must be a whole number from 1 to ${MAX_PAGE}`, {
      field: "limit",
      value: limit,
    });
  }
  return limit;
}

export function checkActor(actor: AuditActor): AuditActor {
  if (typeof actor !== "object" || actor === null) {
    throw invalid("actor must be an object with kind and id", { field: "actor" });
  }
  const kind = checkOneOf("actor.kind", ACTOR_KINDS, actor.kind);
  const id = actor.id ?? null;
  const idOk =
    id === null
      ? kind === "system"
      : typeof id === "string" && id.length > 0 && id.length <= MAX_ACTOR_ID_LENGTH;
  if (!idOk) {
    throw invalid(
      `actor.id must be 1 to ${MAX_ACTOR_ID_LENGTH} characters (only the system may have none)`,
      { field: "actor.id" },
    );
  }
  const { credential } = actor;
  if (credential === undefined) return { kind, id };
  const label = (text: unknown) =>
    typeof text === "string" && text.length > 0 && text.length <= MAX_ACTOR_ID_LENGTH;
  if (
    kind !== "operator" ||
    credential.kind !== "api-token" ||
    !label(credential.id) ||
    !label(credential.name)
  )
    throw invalid(
      `actor.credential is an operator's API token: kind api-token, id and name of 1 to ${MAX_ACTOR_ID_LENGTH} characters`,
      { field: "actor.credential" },
    );
  return { kind, id, credential: { kind: "api-token", id: credential.id, name: credential.name } };
}

export function checkAuditAction(action: string): string {
  if (
    typeof action !== "string" ||
    action.length > MAX_AUDIT_ACTION_LENGTH ||
    !AUDIT_ACTION.test(action)
  ) {
    throw invalid("action must be dotted lowercase words, e.g. tenant.create", {
      field: "action",
      value: action,
    });
  }
  return action;
}

/** The JSON text to store: a plain object whose serialization fits the limit. */
export function serializeAuditDetails(details: Readonly<Record<string, unknown>>): string {
  return serializeObject("details", details, MAX_AUDIT_DETAILS_BYTES);
}

/** `value` as JSON text, if it is a plain object whose serialization takes at most `maxBytes`. */
function serializeObject(
  field: string,
  value: Readonly<Record<string, unknown>>,
  maxBytes: number,
): string {
  const isObject = typeof value === "object" && value !== null && !Array.isArray(value);
  let json: string | undefined;
  let problem = "it is not an object";
  try {
    json = isObject ? JSON.stringify(value) : undefined;
  } catch (error) {
    problem = String(error); // a cycle or a BigInt: the caller's bug, reported as such
  }
  if (json !== undefined && Buffer.byteLength(json) > maxBytes) {
    problem = `it takes ${Buffer.byteLength(json)} bytes`;
    json = undefined;
  }
  if (json === undefined) {
    throw invalid(
      `${field} must be a JSON object of at most ${maxBytes} bytes once serialized; ${problem}`,
      { field },
    );
  }
  return json;
}

/** Most periods a calendar rule may keep: 100 years of days. */
export const MAX_KEEP = MAX_DAYS;

/** Whole numbers in range, and rules that keep something: a policy of zeros would empty a tenant. */
export function checkRetentionRules(rules: RetentionRules): RetentionRules {
  if (typeof rules !== "object" || rules === null)
    throw invalid("rules must be an object", { field: "rules" });
  const fields = [
    "keepWithinDays",
    "keepDaily",
    "keepWeekly",
    "keepMonthly",
    "keepYearly",
    "knownGoodAfterDays",
  ] as const;
  for (const field of fields) {
    const value = rules[field];
    if (!Number.isInteger(value) || value < 0 || value > MAX_KEEP)
      throw invalid(`${field} must be a whole number from 0 to ${MAX_KEEP}`, { field, value });
  }
  if (fields.slice(0, 5).every((field) => rules[field] === 0))
    throw invalid(
      "a retention policy must keep something: set keep-within or a daily, weekly, monthly or yearly count",
      { field: "rules", reason: "keeps-nothing" },
    );
  return {
    keepWithinDays: rules.keepWithinDays,
    keepDaily: rules.keepDaily,
    keepWeekly: rules.keepWeekly,
    keepMonthly: rules.keepMonthly,
    keepYearly: rules.keepYearly,
    knownGoodAfterDays: rules.knownGoodAfterDays,
  };
}

/** Most bytes of a snapshot's detection signals (the agent's summary and the server's measures). */
export const MAX_DETECTION_SIGNALS_BYTES = 16 * 1024;
/** Most reasons a stored verdict keeps: the agent's and the server's. */
export const MAX_STORED_REASONS = 40;

/** A verdict to store with a snapshot: the column values, checked. */
export function checkDetection(detection: SnapshotDetection): {
  verdict: string;
  score: number;
  reasons: string;
  signals: string;
} {
  if (typeof detection !== "object" || detection === null)
    throw invalid("detection must be an object", { field: "detection" });
  const verdict = checkOneOf("detection.verdict", DETECTION_VERDICTS, detection.verdict);
  const { score, reasons } = detection;
  if (!Number.isInteger(score) || score < 0 || score > MAX_DETECTION_SCORE)
    throw invalid(`detection.score must be a whole number from 0 to ${MAX_DETECTION_SCORE}`, {
      field: "detection.score",
      value: score,
    });
  if (
    !Array.isArray(reasons) ||
    reasons.length > MAX_STORED_REASONS ||
    !reasons.every((r) => typeof r === "string" && r.length <= MAX_ALERT_MESSAGE_LENGTH)
  )
    throw invalid(`detection.reasons must be at most ${MAX_STORED_REASONS} strings`, {
      field: "detection.reasons",
    });
  return {
    verdict,
    score,
    reasons: JSON.stringify(reasons),
    signals: serializeObject("detection.signals", detection.signals, MAX_DETECTION_SIGNALS_BYTES),
  };
}

export const checkAlertKind = (value: string) => checkOneOf("kind", ALERT_KINDS, value);
export const checkAlertSeverity = (value: string) =>
  checkOneOf("severity", ALERT_SEVERITIES, value);

/** An alert's message: several lines allowed, no other control character. */
export function checkAlertMessage(message: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds.
  const controls = /[\u0000-\u0009\u000b-\u001f\u007f]/;
  if (
    typeof message !== "string" ||
    message.length === 0 ||
    message.length > MAX_ALERT_MESSAGE_LENGTH ||
    controls.test(message)
  )
    throw invalid(
      `message must be 1 to ${MAX_ALERT_MESSAGE_LENGTH} characters without control characters other than new lines`,
      { field: "message" },
    );
  return message;
}

/** Why an operator acknowledged an alert: one line, as the wire's `AlertAckRequest` says. */
export const checkAlertReason = (reason: string) =>
  checkLabel("reason", reason, MAX_ALERT_REASON_LENGTH);
