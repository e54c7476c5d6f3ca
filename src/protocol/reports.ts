/**
 * The messages of restore drills (agent → server) and of the coverage report (server → operator).
 * Kept apart from messages.ts, which lists them among its OpenAPI components.
 */
import Type, { type Static } from "#typebox";
import {
  BACKUP_OUTCOMES,
  DETECTION_VERDICTS,
  MAX_CHECKIN_ERROR_LENGTH,
  MAX_RPO_SECONDS,
  MIN_RPO_SECONDS,
  TENANT_STATUSES,
} from "./constants.js";
import { message } from "./message.js";
import { Bytes, Count, Label, Nullable, Sha256, UtcTime } from "./patterns.js";

/** Worst first: the order of the coverage report (src/server/reports/status.ts decides). */
export const COVERAGE_STATUSES = [
  "unprotected",
  "failing",
  "stale",
  "at-risk",
  "protected",
  "offboarding",
  "former",
] as const;
export type CoverageStatus = (typeof COVERAGE_STATUSES)[number];

const NullableTime = Nullable(UtcTime);

/** What an agent found restoring a sample of its latest snapshot. */
export const DrillRequest = message(
  "DrillRequest",
  Type.Object(
    {
      snapshot_id: Nullable(Sha256),
      ok: Type.Boolean(),
      files: Count,
      bytes: Bytes,
      duration_ms: Count,
      error: Type.Optional(Label(MAX_CHECKIN_ERROR_LENGTH, "the first failure")),
    },
    { additionalProperties: false },
  ),
);
export type DrillRequest = Static<typeof DrillRequest.schema>;

export const Drill = message(
  "Drill",
  Type.Object({
    id: Count,
    at: UtcTime,
    snapshot_id: Nullable(Type.String()),
    ok: Type.Boolean(),
    files: Count,
    bytes: Bytes,
    duration_ms: Count,
    rate_mb_s: Nullable(
      Type.Number({
        description:
          "bytes restored and verified per second, in MB (10^6); null for a failed drill",
      }),
    ),
    error: Nullable(Type.String()),
  }),
);
export type Drill = Static<typeof Drill.schema>;

const Status = Type.Enum(COVERAGE_STATUSES);

export const CoverageMachine = message(
  "CoverageMachine",
  Type.Object({
    agent_id: Type.String(),
    hostname: Type.String(),
    status: Status,
    reason: Type.String(),
    last_seen_at: NullableTime,
    last_backup_at: Type.Union([UtcTime, Type.Null()], {
      description: "the server's receipt time of the machine's newest committed snapshot",
    }),
    age_seconds: Nullable(Count),
    last_outcome: Nullable(Type.Enum(BACKUP_OUTCOMES)),
    last_error: Nullable(Type.String()),
    detection_verdict: Nullable(Type.Enum(DETECTION_VERDICTS)),
    open_alerts: Count,
    last_drill: Nullable(Drill.schema),
  }),
);
export type CoverageMachine = Static<typeof CoverageMachine.schema>;

export const CoverageClient = message(
  "CoverageClient",
  Type.Object({
    tenant_id: Type.String(),
    tenant: Type.String(),
    tenant_status: Type.Enum(TENANT_STATUSES),
    rpo_seconds: Count,
    status: Status,
    reason: Type.String(),
    machines: Type.Array(CoverageMachine.schema),
  }),
);
export type CoverageClient = Static<typeof CoverageClient.schema>;

export const CoverageReport = message(
  "CoverageReport",
  Type.Object({
    generated_at: UtcTime,
    summary: Type.String({ description: "41 of 44 clients protected, 93 % (not counted: …)" }),
    totals: Type.Object({
      clients: Type.Integer({
        ...Count,
        description: "active tenants; offboarding and former are not counted",
      }),
      protected: Count,
      percent: Nullable(Count),
      offboarding: Count,
      former: Count,
      by_status: Type.Object(Object.fromEntries(COVERAGE_STATUSES.map((s) => [s, Count]))),
    }),
    clients: Type.Array(CoverageClient.schema, { description: "worst first" }),
  }),
);
export type CoverageReport = Static<typeof CoverageReport.schema>;

export const RpoRequest = message(
  "RpoRequest",
  Type.Object(
    { rpo_seconds: Type.Integer({ minimum: MIN_RPO_SECONDS, maximum: MAX_RPO_SECONDS }) },
    { additionalProperties: false },
  ),
);
export type RpoRequest = Static<typeof RpoRequest.schema>;
