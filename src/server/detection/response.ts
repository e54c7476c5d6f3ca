/**
 * What the server does with a commit's verdict (verdict.ts decides it): measure the commit, store
 * the verdict with the snapshot record, and on `suspicious` or `ransomware` hold the last restore
 * point of that machine from before the anomaly, raise an alert (the tenant turns red until it is
 * acknowledged) and audit both.
 *
 * A series is one agent's snapshots: the server cannot see which paths a snapshot holds (they are
 * sealed), so the agent stands for its paths, as for retention (retention/prune.ts). The restore
 * point is the newest of them not deleted whose own verdict was `ok` (or that predates detection),
 * so that on the second night of a slow attack the hold stays on the snapshot before the first.
 * Held, no retention rule removes it (retention/policy.ts), nor can a tenant deletion until an
 * admin releases it; acknowledging the alert leaves the hold in place.
 *
 * The hold comes before the alert: a crash between the two leaves a held snapshot without its
 * alert (over-protective), never an alert that claims a hold that is not there. A crash after the
 * commit is recorded and before the alert leaves the verdict on the record: the alert job makes
 * the lost response on its next run (missed-responses.ts).
 */
import type {
  Alert,
  Catalog,
  SnapshotDetection,
  SnapshotRecord,
  Tenant,
} from "../../catalog/catalog.js";
import { isRempartError } from "../../errors.js";
import type { DetectionSummary } from "../../protocol/api.js";
import { type EarlierCommit, judgeCommit, type ServerMeasures, type Verdict } from "./verdict.js";

/**
 * Earlier snapshots a commit is judged against: a month of hourly backups, enough for the volume
 * baseline (30 commits) and the rate (30 days) of any schedule that backs up at most hourly.
 */
export const HISTORY = 1000;

/** The detection job as audit entries and alerts name it. */
const ACTOR = { kind: "system", id: "detection" } as const;

/** How a snapshot's `detection.signals` is laid out: what each side contributed. */
interface StoredSignals {
  /** The agent's summary as it sent it; null when it sent none. */
  readonly agent: DetectionSummary | null;
  readonly server: {
    readonly verdict: Verdict["server"]["verdict"];
    readonly score: number;
    readonly new_packs: number;
    readonly new_pack_bytes: number;
    readonly bytes_added: number;
  };
}

/** What the catalog remembers of an earlier commit of the agent, for its baseline. */
export function earlierCommit(record: SnapshotRecord): EarlierCommit {
  const signals = record.detection?.signals as Partial<StoredSignals> | undefined;
  const bytes = signals?.server?.new_pack_bytes;
  return {
    committedAt: record.committedAt,
    newPackBytes: typeof bytes === "number" ? bytes : null,
    hadSummary:
      signals === undefined ? null : signals.agent !== null && signals.agent !== undefined,
  };
}

export interface JudgedCommit {
  readonly detection: SnapshotDetection;
  /** The agent's newest earlier snapshots, every state, oldest first. */
  readonly earlier: readonly SnapshotRecord[];
}

/** Measures what the agent uploaded since its previous commit and judges the commit at `now`. */
export async function judgeIncomingCommit(
  catalog: Catalog,
  tenantId: string,
  agentId: string,
  summary: DetectionSummary | undefined,
  now: Date,
): Promise<JudgedCommit> {
  const earlier = await catalog.listAgentSnapshots(tenantId, agentId, HISTORY);
  const since = earlier.at(-1)?.committedAt ?? new Date(0);
  const uploads = await catalog.uploadsByAgent(tenantId, agentId, since);
  const measures: ServerMeasures = {
    newPacks: uploads.packs,
    newPackBytes: uploads.packBytes,
    bytesAdded: uploads.bytes,
  };
  const verdict = judgeCommit({
    agent: summary,
    measures,
    history: earlier.map(earlierCommit),
    now,
  });
  const signals: StoredSignals = {
    agent: summary ?? null,
    server: {
      verdict: verdict.server.verdict,
      score: verdict.server.score,
      new_packs: measures.newPacks,
      new_pack_bytes: measures.newPackBytes,
      bytes_added: measures.bytesAdded,
    },
  };
  return {
    detection: {
      verdict: verdict.verdict,
      score: verdict.score,
      reasons: verdict.reasons,
      signals: signals as unknown as Record<string, unknown>,
    },
    earlier,
  };
}

/** The newest snapshot of `earlier` that is not deleted and was not itself flagged. */
export function restorePointBefore(earlier: readonly SnapshotRecord[]): SnapshotRecord | undefined {
  return earlier
    .filter((s) => s.state !== "deleted" && (s.detection?.verdict ?? "ok") === "ok")
    .at(-1);
}

export interface Responder {
  readonly catalog: Catalog;
  readonly now: () => Date;
}

/**
 * For a flagged commit: holds the restore point and raises the alert. Undefined (nothing done)
 * for a commit judged `ok`.
 */
export async function respondToVerdict(
  ctx: Responder,
  tenant: Tenant,
  agent: { readonly id: string; readonly hostname: string },
  record: SnapshotRecord,
  earlier: readonly SnapshotRecord[],
): Promise<Alert | undefined> {
  const detection = record.detection;
  if (detection === null || detection.verdict === "ok") return undefined;
  const now = ctx.now();
  const point = restorePointBefore(earlier);
  const held =
    point === undefined ? undefined : await hold(ctx.catalog, tenant, point, record, now);
  const what = detection.verdict === "ransomware" ? "Ransomware suspected" : "Suspicious backup";
  const kept =
    point === undefined
      ? "There is no earlier snapshot of this machine to hold."
      : held
        ? `Snapshot ${point.id.slice(0, 12)} of ${point.committedAt.toISOString()} is held as the last restore point before it.`
        : `Snapshot ${point.id.slice(0, 12)}, the last restore point before it, could not be held (it was deleted meanwhile).`;
  return ctx.catalog.raiseAlert(
    {
      tenantId: tenant.id,
      agentId: agent.id,
      snapshotId: record.id,
      kind: "detection",
      severity: detection.verdict === "ransomware" ? "critical" : "warning",
      message: [
        `${what} on ${agent.hostname} (tenant ${tenant.name}): snapshot ${record.id.slice(0, 12)} of ${record.committedAt.toISOString()} scored ${detection.score}/100.`,
        kept,
        ...detection.reasons.map((reason) => `- ${reason}`),
      ].join("\n"),
      details: {
        verdict: detection.verdict,
        score: detection.score,
        reasons: detection.reasons,
        held_snapshot_id: held ? (point?.id ?? null) : null,
      },
    },
    { actor: ACTOR },
    now,
  );
}

/** Holds `point` (audited as `snapshot.hold` by detection); false if it was deleted meanwhile. */
async function hold(
  catalog: Catalog,
  tenant: Tenant,
  point: SnapshotRecord,
  flagged: SnapshotRecord,
  now: Date,
): Promise<boolean> {
  try {
    const after = await catalog.setSnapshotState(tenant.id, point.id, "held", now);
    if (point.state !== after.state)
      await catalog.appendAudit(
        {
          actor: ACTOR,
          action: "snapshot.hold",
          tenantId: tenant.id,
          details: {
            snapshot_id: point.id,
            from: point.state,
            to: after.state,
            flagged_snapshot_id: flagged.id,
            verdict: flagged.detection?.verdict ?? null,
          },
        },
        now,
      );
    return true;
  } catch (error) {
    if (isRempartError(error, "ObjectConflict")) return false;
    throw error;
  }
}
