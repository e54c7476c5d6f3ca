/**
 * The shapes many messages share, each written once: names, ids, times, durations. Their
 * `description` is what a refusal tells the client ("is malformed: a tenant name is …").
 */
import Type, { type TSchema } from "#typebox";
import { AGENT_SCOPES, BACKUP_OUTCOMES, MAX_DAYS } from "./constants.js";

export const TENANT_NAME_PATTERN = "^[a-z0-9][a-z0-9-]{0,62}$";
export const SHA256_PATTERN = "^[0-9a-f]{64}$";
export const OBJECT_NAME_PATTERN = "^(config|[0-9a-f]{64})$";
/** UTC with a Z, as `Date.prototype.toISOString` writes it (fractions optional). */
export const UTC_TIME_PATTERN = "^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?Z$";

export const TENANT_NAME_RULE =
  "1 to 63 lowercase letters, digits and dashes, starting with a letter or digit";

export const TenantName = Type.String({
  pattern: TENANT_NAME_PATTERN,
  description: `a tenant name is ${TENANT_NAME_RULE}`,
});

export const Sha256 = Type.String({
  pattern: SHA256_PATTERN,
  description: "a SHA-256 in 64 lowercase hex digits",
});

export const ObjectName = Type.String({
  pattern: OBJECT_NAME_PATTERN,
  description:
    '"config" for the config object; otherwise the SHA-256 of the bytes, 64 lowercase hex digits',
});

export const AgentId = Type.String({
  pattern: "^[A-Za-z0-9-]{1,64}$",
  description: "an agent id is 1 to 64 letters, digits and dashes",
});

export const UtcTime = Type.String({
  format: "date-time",
  pattern: UTC_TIME_PATTERN,
  description: "a time is ISO 8601 in UTC, such as 2026-11-30T10:00:00Z",
});

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/** Text an agent reports about itself: bounded, one line, printable (it lands in the audit log). */
export const Label = (maxLength: number, what: string) =>
  Type.String({
    minLength: 1,
    maxLength,
    pattern: "^[^\\u0000-\\u001f\\u007f]*$",
    description: `${what} is 1 to ${maxLength} characters without control characters`,
  });

export const Count = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
export const Bytes = Count;
/** A tenant's quota: a positive byte count, or null for unlimited. */
export const Quota = Nullable(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }));

export const Days = (minimum: number, maximum = MAX_DAYS) => Type.Integer({ minimum, maximum });

/** A lifetime in seconds. */
export const Seconds = (minimum: number, maximum: number) => Type.Integer({ minimum, maximum });

export const Outcome = Type.Enum(["created", "exists"]);
export const AgentScopes = Type.Immutable(Type.Array(Type.Enum(AGENT_SCOPES)));
export const BackupOutcome = Type.Enum(BACKUP_OUTCOMES);
