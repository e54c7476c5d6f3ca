/** Committing a snapshot, and an agent's check-in. */
import { setImmediate as yieldToOthers } from "node:timers/promises";
import type { SnapshotRecord } from "../../catalog/catalog.js";
import { isRempartError } from "../../errors.js";
import { ApiErrorBody, CheckinRequest, CommitRequest, CommitResponse } from "../../protocol/api.js";
import { CheckedCommitter } from "../../storage/snapshot-commit.js";
import { misuseRefusal } from "../agents/misuse.js";
import { ApiError } from "../api-error.js";
import type { AgentPrincipal } from "../auth.js";
import type { ServerContext } from "../context.js";
import { judgeIncomingCommit, respondToVerdict } from "../detection/response.js";
import { sendEmpty, sendJson, tooManyRequests } from "../http.js";
import { sizeProblem } from "../object-shape.js";
import { checkDiskReserve, reserveQuota } from "../quota.js";
import type { Route } from "../router.js";
import { sha256Hex } from "../tokens.js";

/** How many missing pack names a refusal lists (the count is always complete). */
const MISSING_SHOWN = 1000;

function missingPacks(missing: readonly string[]): ApiError {
  return new ApiError(
    "MissingPacks",
    `${missing.length} pack(s) the snapshot needs are not stored for this tenant: upload them, then commit again`,
    { missing: missing.slice(0, MISSING_SHOWN), missing_count: missing.length },
  );
}

function committed(record: SnapshotRecord, outcome: CommitResponse["outcome"]): CommitResponse {
  return { snapshot_id: record.id, committed_at: record.committedAt.toISOString(), outcome };
}

/** A commit already recorded (a retry after a lost answer, or a concurrent twin) is answered as such. */
function alreadyCommitted(record: SnapshotRecord): CommitResponse {
  if (record.state === "deleted")
    throw new ApiError(
      "Conflict",
      `snapshot ${record.id} was committed at ${record.committedAt.toISOString()} and has since been deleted by retention`,
      { snapshot_id: record.id },
    );
  return committed(record, "exists");
}

/**
 * Names looked up per catalog query in a commit's pack check. SQLite answers synchronously, so a
 * snapshot's 15,000 packs checked in one go would hold the event loop (every other tenant's
 * requests) for the whole check; in batches, with a turn of the event loop between two, others
 * wait for one batch at most.
 */
const PACK_CHECK_BATCH = 500;

/** The packs the catalog does not record for the tenant, checked batch by batch. */
async function packsNotRecorded(
  ctx: ServerContext,
  tenantId: string,
  packs: readonly string[],
): Promise<string[]> {
  const missing: string[] = [];
  for (let start = 0; start < packs.length; start += PACK_CHECK_BATCH) {
    if (start > 0) await yieldToOthers();
    const batch = packs.slice(start, start + PACK_CHECK_BATCH);
    const found = new Set(await ctx.catalog.visibleObjects(tenantId, "data", batch));
    for (const pack of batch) if (!found.has(pack)) missing.push(pack);
  }
  return missing;
}

async function commit(
  ctx: ServerContext,
  who: AgentPrincipal,
  request: CommitRequest,
): Promise<{ status: number; answer: CommitResponse }> {
  const tenantId = who.tenant.id;
  const bytes = Buffer.from(request.snapshot, "base64");
  const actual = sha256Hex(bytes);
  if (actual !== request.name)
    throw misuseRefusal(
      "forged-bytes",
      `snapshots/${request.name}`,
      new ApiError(
        "HashMismatch",
        `the snapshot's SHA-256 is ${actual}, not its name ${request.name}: nothing was committed`,
        { expected: request.name, actual },
      ),
    );
  const tooSmall = sizeProblem("snapshots", bytes.length);
  if (tooSmall !== undefined)
    throw new ApiError("BadRequest", `snapshot ${request.name} was refused: ${tooSmall.message}`, {
      reason: tooSmall.reason,
      size: bytes.length,
    });
  const claimedTime = new Date(request.claimed_time);
  if (Number.isNaN(claimedTime.getTime()))
    throw new ApiError("BadRequest", `"claimed_time" is not a valid time`);
  const existing = await ctx.catalog.getSnapshot(tenantId, request.name);
  if (existing !== undefined) return { status: 200, answer: alreadyCommitted(existing) };
  // The catalog is what listings show, so it decides what is missing; the store checks again.
  // Packs re-recorded after this instant (GC collected them while this commit was checked, and an
  // agent uploaded them again) count as missing: the catalog then refuses the commit. So do packs
  // a quarantine hides: a listing does not show them, a commit cannot lean on them.
  const checkedAt = ctx.now();
  const missing = await packsNotRecorded(ctx, tenantId, request.packs);
  if (missing.length > 0) throw missingPacks(missing);

  const recorded = await ctx.catalog.objectExists(tenantId, "snapshots", request.name);
  // Judged before it is recorded, so that the verdict is stored with the record, in its
  // transaction; the volume is what the agent uploaded since its previous commit.
  const { detection, earlier } = await judgeIncomingCommit(
    ctx.catalog,
    tenantId,
    who.agent.id,
    request.detection,
    ctx.now(),
  );
  const release = recorded ? () => {} : await reserveQuota(ctx, who.tenant, bytes.length);
  let record: SnapshotRecord;
  try {
    if (!recorded) await checkDiskReserve(ctx, bytes.length);
    const store = await ctx.stores.get(tenantId);
    await new CheckedCommitter(store)
      .commitSnapshot({
        name: request.name,
        bytes,
        packs: request.packs,
        claimedTime: request.claimed_time,
      })
      .catch((error: unknown) => {
        if (isRempartError(error, "NotFound") && Array.isArray(error.details.missing))
          throw missingPacks(error.details.missing as string[]);
        throw error;
      });
    // One synchronous catalog transaction each (the packs checked again and inserted): commits
    // record one at a time, each in its own turn of the event loop, so that commits finishing
    // together do not add their transactions up into one stall that other tenants wait behind.
    record = await ctx.commitRecording.with(1, async () => {
      await yieldToOthers();
      // The receipt time is the server's clock, read now: retention never trusts the agent's. The
      // object's record gets the same instant, so listings show it as the snapshot's receipt time.
      const receivedAt = ctx.now();
      await ctx.catalog.recordObject(
        {
          tenantId,
          kind: "snapshots",
          name: request.name,
          size: bytes.length,
          createdByAgent: who.agent.id,
        },
        receivedAt,
      );
      return ctx.catalog.recordSnapshot(
        {
          tenantId,
          id: request.name,
          agentId: who.agent.id,
          claimedTime,
          packs: request.packs,
          packsRecordedBy: checkedAt,
          ...(request.logical_bytes === undefined ? {} : { logicalBytes: request.logical_bytes }),
          detection,
        },
        receivedAt,
      );
    });
  } catch (error) {
    if (isRempartError(error, "ObjectConflict")) {
      const twin = await ctx.catalog.getSnapshot(tenantId, request.name);
      if (twin !== undefined) return { status: 200, answer: alreadyCommitted(twin) };
    }
    if (isRempartError(error, "NotFound") && Array.isArray(error.details.missing))
      throw missingPacks(
        (error.details.missing as string[]).map((name) => name.replace(/^data\//, "")),
      );
    throw error;
  } finally {
    release();
  }
  await ctx.catalog.appendAudit(
    {
      actor: { kind: "agent", id: who.agent.id },
      action: "snapshot.commit",
      tenantId,
      details: {
        snapshot_id: record.id,
        packs: request.packs.length,
        claimed_time: record.claimedTime.toISOString(),
        // Far from zero: the agent's clock is off, or it is lying about when it ran.
        skew_seconds: Math.round(
          (record.claimedTime.getTime() - record.committedAt.getTime()) / 1000,
        ),
        verdict: detection.verdict,
        score: detection.score,
      },
    },
    record.committedAt,
  );
  await respondToVerdict(ctx, who.tenant, who.agent, record, earlier);
  return { status: 201, answer: committed(record, "created") };
}

export const commitSnapshot: Route<CommitRequest> = {
  method: "POST",
  path: "/v1/repo/snapshots",
  auth: "agent",
  scope: "backup",
  summary: "Commit a snapshot once every pack it needs is stored",
  body: { contentType: "application/json", message: CommitRequest },
  responses: {
    200: { description: "this snapshot was already committed", schema: CommitResponse.schema },
    201: { description: "committed", schema: CommitResponse.schema },
    429: {
      description:
        "this agent commits too often (code RateLimited): nothing was read or committed; try again after Retry-After seconds",
      schema: ApiErrorBody.schema,
      headers: ["Retry-After"],
    },
  },
  errors: [
    "HashMismatch",
    "MissingPacks",
    "Conflict",
    "QuotaExceeded",
    "StorageFull",
    "UnsupportedMediaType",
    "PayloadTooLarge",
  ],
  async handle({ res, who, ctx, body }) {
    // Before the body is read: a refused commit costs the server nothing but this answer.
    const decision = ctx.commitRate.check(who.agent.id, ctx.now().getTime());
    if (!decision.allowed) {
      const { burst, intervalMs } = ctx.commitRate.rule;
      if (decision.record !== undefined)
        await ctx.catalog.appendAudit(
          {
            actor: { kind: "agent", id: who.agent.id },
            action: "commit-rate-limited",
            tenantId: who.tenant.id,
            details: {
              agent_id: who.agent.id,
              hostname: who.agent.hostname,
              refused: decision.record.refusedSinceLast,
              burst,
              interval_seconds: intervalMs / 1000,
            },
          },
          ctx.now(),
        );
      throw tooManyRequests(
        `this agent commits more often than ${burst} at once and one every ${intervalMs / 1000} s: try again later`,
        decision.retryAfterMs,
      );
    }
    const request = await body();
    // A pack listed twice is needed once.
    const packs = [...new Set(request.packs)];
    const { status, answer } = await commit(ctx, who, { ...request, packs });
    sendJson(res, status, answer);
  },
};

export const checkin: Route<CheckinRequest> = {
  method: "POST",
  path: "/v1/agent/checkin",
  auth: "agent",
  scope: "backup",
  summary:
    "Report the agent's version and last backup result (a success is verified against the snapshots this agent committed)",
  body: { contentType: "application/json", message: CheckinRequest },
  responses: { 204: { description: "recorded" } },
  errors: ["UnsupportedMediaType", "PayloadTooLarge"],
  async handle({ res, who, ctx, body }) {
    const request = await body();
    const last = request.last_backup;
    await ctx.catalog.recordAgentCheckIn(
      who.agent.id,
      {
        version: request.version,
        ...(last === undefined
          ? {}
          : {
              lastBackup: {
                at: new Date(last.at),
                status: last.outcome,
                error: last.error ?? null,
                snapshotId: last.snapshot_id ?? null,
              },
            }),
      },
      ctx.now(),
    );
    sendEmpty(res, 204);
  },
};
