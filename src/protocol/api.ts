/**
 * The wire contract between agents, operators' CLI and the server, written once and used by both
 * ends (as Proxmox Backup Server does with pbs-api-types). Every request body is validated by the
 * parser below before use; every error answer has the same shape.
 *
 * docs/SERVER.md explains the routes; the server also serves an OpenAPI document built from them.
 */
import { MAX_LIST_PAGE, OBJECT_KINDS, type ObjectKind } from "../storage/object-store.js";

export const API_PREFIX = "/v1";

/** Credentials travel as bearer tokens with a type prefix, so a leaked one is recognisable. */
export const AGENT_TOKEN_PREFIX = "rmpa_";
export const SESSION_TOKEN_PREFIX = "rmps_";
export const ENROLL_TOKEN_PREFIX = "rmpe_";

/** Largest object body accepted (packs are 16 MiB; a large chunk adds at most 1 MiB). */
export const MAX_OBJECT_BYTES = 64 * 1024 * 1024;
/** Largest JSON body accepted. */
export const MAX_JSON_BYTES = 1024 * 1024;
/** Largest number of packs a snapshot commit may list. */
export const MAX_COMMIT_PACKS = 1_000_000;

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

export interface ApiErrorBody {
  readonly error: {
    readonly code: ApiErrorCode;
    readonly message: string;
    readonly details?: Record<string, unknown>;
  };
}

export interface EnrollRequest {
  readonly token: string;
  readonly hostname: string;
  readonly version: string;
}

export interface EnrollResponse {
  readonly agent_id: string;
  /** full bearer token for later requests: AGENT_TOKEN_PREFIX + agent id + "_" + secret */
  readonly credential: string;
  readonly tenant: { readonly id: string; readonly name: string };
  readonly scopes: readonly string[];
  readonly expires_at: string;
}

export interface LoginRequest {
  readonly username: string;
  readonly password: string;
}

export interface LoginResponse {
  readonly token: string;
  readonly expires_at: string;
}

/** One object of a listing. */
export interface ObjectListingEntry {
  readonly name: string;
  readonly size: number;
  /** When the server received it: ISO 8601 UTC, the server's clock (never the agent's). */
  readonly received_at: string;
  /** The id of the agent that uploaded it; null for an operator's object (a key slot). */
  readonly agent: string | null;
}

/**
 * `GET /v1/repo/objects/:kind?limit=N&cursor=C`: a page of at most N objects (default and most
 * MAX_LISTING_PAGE) in name order, after the cursor; `next`, the cursor of the next page, when
 * more follow. Cursors are opaque: a client only sends back the `next` it was given.
 */
export interface ObjectListing {
  readonly objects: readonly ObjectListingEntry[];
  readonly next?: string;
}

/** Largest page of a listing, and the page a listing without `limit` gets. */
export const MAX_LISTING_PAGE = MAX_LIST_PAGE;

export interface CommitRequest {
  /** object name: SHA-256 hex of the sealed snapshot bytes */
  readonly name: string;
  /** the sealed snapshot, base64 */
  readonly snapshot: string;
  /** every pack the snapshot needs (trees and data); the server refuses the commit unless all exist */
  readonly packs: readonly string[];
  /** the agent's own clock, kept beside the server's receipt time, never used for retention */
  readonly claimed_time: string;
  /** total size of the files in the snapshot, as the agent counted it: shown, never trusted */
  readonly logical_bytes?: number;
}

export interface CommitResponse {
  readonly snapshot_id: string;
  readonly committed_at: string;
  readonly outcome: "created" | "exists";
}

export interface CheckinRequest {
  readonly version: string;
  readonly last_backup?: {
    readonly at: string;
    readonly outcome: "success" | "partial" | "failure";
    readonly snapshot_id?: string;
    readonly error?: string;
  };
}

export interface TenantRequest {
  readonly name: string;
  readonly retention_days: number;
  readonly immutable_days?: number;
  readonly quota_bytes?: number | null;
}

export interface EnrollTokenRequest {
  readonly expires_in_seconds: number;
  readonly scopes?: readonly ("backup" | "restore")[];
}

export interface EnrollTokenResponse {
  readonly token: string;
  readonly expires_at: string;
}

/** An operator quarantines an agent: hides what it uploaded at or after `since` (default: all). */
export interface QuarantineRequest {
  readonly agent_id: string;
  readonly since?: string;
}

/** An operator sets a tenant's quota; null: unlimited. */
export interface QuotaRequest {
  readonly quota_bytes: number | null;
}

/** What an operator's key slot upload stored. */
export interface KeySlotResponse {
  /** SHA-256 of the stored bytes: the `keys` object name */
  readonly name: string;
  readonly outcome: "created" | "exists";
}

/** Thrown by the parsers below; the server answers it as 400 BadRequest with the message. */
export class ValidationError extends Error {}

type Shape = Record<string, unknown>;

function object(value: unknown, what: string): Shape {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new ValidationError(`${what} must be a JSON object`);
  return value as Shape;
}

function string(body: Shape, field: string, max = 4096, pattern?: RegExp): string {
  const value = body[field];
  if (typeof value !== "string" || value.length === 0 || value.length > max)
    throw new ValidationError(`"${field}" must be a non-empty string of at most ${max} characters`);
  if (pattern && !pattern.test(value)) throw new ValidationError(`"${field}" is malformed`);
  return value;
}

function integer(body: Shape, field: string, min: number, max: number): number {
  const value = body[field];
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min || value > max)
    throw new ValidationError(`"${field}" must be an integer from ${min} to ${max}`);
  return value;
}

function optional<T>(body: Shape, field: string, parse: () => T): T | undefined {
  return body[field] === undefined ? undefined : parse();
}

const HEX64 = /^[0-9a-f]{64}$/;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const TENANT_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const SCOPES = new Set(["backup", "restore"]);

export function isObjectKind(value: string): value is ObjectKind {
  return (OBJECT_KINDS as readonly string[]).includes(value);
}

export function parseEnrollRequest(value: unknown): EnrollRequest {
  const body = object(value, "enroll request");
  return {
    token: string(body, "token", 256),
    hostname: string(body, "hostname", 255),
    version: string(body, "version", 64),
  };
}

export function parseLoginRequest(value: unknown): LoginRequest {
  const body = object(value, "login request");
  return { username: string(body, "username", 128), password: string(body, "password", 1024) };
}

export function parseCommitRequest(value: unknown): CommitRequest {
  const body = object(value, "commit request");
  const packs = body.packs;
  if (
    !Array.isArray(packs) ||
    packs.length > MAX_COMMIT_PACKS ||
    !packs.every((p) => typeof p === "string" && HEX64.test(p))
  )
    throw new ValidationError(`"packs" must be an array of pack names (64 hex digits)`);
  return {
    name: string(body, "name", 64, HEX64),
    snapshot: string(body, "snapshot", MAX_JSON_BYTES, /^[A-Za-z0-9+/]+={0,2}$/),
    packs: [...new Set(packs as string[])],
    claimed_time: string(body, "claimed_time", 40, ISO_TIME),
    ...(body.logical_bytes === undefined
      ? {}
      : { logical_bytes: integer(body, "logical_bytes", 0, Number.MAX_SAFE_INTEGER) }),
  };
}

export function parseCheckinRequest(value: unknown): CheckinRequest {
  const body = object(value, "check-in");
  const version = string(body, "version", 64);
  const last = optional(body, "last_backup", () => {
    const report = object(body.last_backup, "last_backup");
    const outcome = string(report, "outcome", 16);
    if (outcome !== "success" && outcome !== "partial" && outcome !== "failure")
      throw new ValidationError(`"outcome" must be success, partial or failure`);
    return {
      at: string(report, "at", 40, ISO_TIME),
      outcome,
      ...(report.snapshot_id === undefined
        ? {}
        : { snapshot_id: string(report, "snapshot_id", 64, HEX64) }),
      ...(report.error === undefined ? {} : { error: string(report, "error", 2000) }),
    } as const;
  });
  return { version, ...(last ? { last_backup: last } : {}) };
}

export function parseTenantRequest(value: unknown): TenantRequest {
  const body = object(value, "tenant");
  const quota = body.quota_bytes;
  if (quota !== undefined && quota !== null)
    integer(body, "quota_bytes", 1, Number.MAX_SAFE_INTEGER);
  return {
    name: string(body, "name", 63, TENANT_NAME),
    retention_days: integer(body, "retention_days", 1, 36500),
    ...(body.immutable_days === undefined
      ? {}
      : { immutable_days: integer(body, "immutable_days", 0, 3650) }),
    ...(quota === undefined ? {} : { quota_bytes: quota as number | null }),
  };
}

export function parseEnrollTokenRequest(value: unknown): EnrollTokenRequest {
  const body = object(value, "enroll token request");
  const scopes = body.scopes;
  if (
    scopes !== undefined &&
    (!Array.isArray(scopes) || !scopes.every((s) => typeof s === "string" && SCOPES.has(s)))
  )
    throw new ValidationError(`"scopes" must be a list of "backup" and "restore"`);
  return {
    expires_in_seconds: integer(body, "expires_in_seconds", 60, 30 * 24 * 3600),
    ...(scopes === undefined ? {} : { scopes: scopes as ("backup" | "restore")[] }),
  };
}

const AGENT_ID = /^[A-Za-z0-9-]{1,64}$/;

export function parseQuarantineRequest(value: unknown): QuarantineRequest {
  const body = object(value, "quarantine request");
  return {
    agent_id: string(body, "agent_id", 64, AGENT_ID),
    ...(body.since === undefined ? {} : { since: string(body, "since", 40, ISO_TIME) }),
  };
}

export function parseQuotaRequest(value: unknown): QuotaRequest {
  const body = object(value, "quota request");
  if (body.quota_bytes === null) return { quota_bytes: null };
  return { quota_bytes: integer(body, "quota_bytes", 1, Number.MAX_SAFE_INTEGER) };
}
