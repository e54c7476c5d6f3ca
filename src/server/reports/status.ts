/**
 * Whether a client's machines are protected, as a pure function of what the catalog knows and the
 * time (like retention/policy.ts): every machine comes back with its status and the reason, and
 * the report is sorted worst first. The clients who lose everything are the ones never backed up,
 * so `unprotected` comes first.
 *
 * Trust: the last *successful* backup is the newest snapshot the server committed for the agent,
 * at the server's receipt time, never the agent's own claim (a stolen credential can claim
 * successes). The agent's report only makes things look worse: a reported failure is `failing`.
 */
import type { BackupOutcome, TenantStatus } from "../../protocol/constants.js";
import { COVERAGE_STATUSES, type CoverageStatus } from "../../protocol/reports.js";

export { COVERAGE_STATUSES, type CoverageStatus };

export interface MachineFacts {
  /** Revoked, or its credential expired: it can no longer back up. */
  readonly retired: boolean;
  /** The server's receipt time of its newest committed snapshot. */
  readonly lastSuccessAt: Date | null;
  /** What its last check-in said about its last backup. */
  readonly lastOutcome: BackupOutcome | null;
  readonly lastError: string | null;
  /** Open alerts (neither acknowledged nor resolved) about this machine or about its tenant as a whole. */
  readonly openAlerts: number;
}

export interface ClientFacts {
  readonly status: TenantStatus;
  readonly rpoSeconds: number;
}

export interface CoverageJudgement {
  readonly status: CoverageStatus;
  /** Why, in words, for the operator. */
  readonly reason: string;
  /** Seconds since the last successful backup; null when there was none. */
  readonly ageSeconds: number | null;
}

export function statusRank(status: CoverageStatus): number {
  return COVERAGE_STATUSES.indexOf(status);
}

export function worstStatus(statuses: readonly CoverageStatus[]): CoverageStatus | undefined {
  let worst: CoverageStatus | undefined;
  for (const status of statuses)
    if (worst === undefined || statusRank(status) < statusRank(worst)) worst = status;
  return worst;
}

/** "26 h", "3 d": an age as an operator reads it. */
export function formatAge(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 2 * 3600) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 2 * 86_400) return `${Math.floor(seconds / 3600)} h`;
  return `${Math.floor(seconds / 86_400)} d`;
}

/**
 * A machine of the client (`undefined`: a client without any machine). Rules in order: a client
 * leaving or gone is `offboarding` or `former` whatever its machines do; then no working agent or
 * no backup ever; a failure reported; a backup older than the RPO; an open alert; else protected.
 */
export function judgeMachine(
  client: ClientFacts,
  machine: MachineFacts | undefined,
  now: Date,
): CoverageJudgement {
  const ageSeconds =
    machine?.lastSuccessAt == null
      ? null
      : Math.max(0, Math.floor((now.getTime() - machine.lastSuccessAt.getTime()) / 1000));
  const judged = (status: CoverageStatus, reason: string) => ({ status, reason, ageSeconds });
  if (client.status === "deleted") return judged("former", "former client: its data is deleted");
  if (client.status === "offboarding")
    return judged("offboarding", "client is offboarding: its agents are revoked");
  if (machine === undefined) return judged("unprotected", "no agent enrolled");
  if (machine.retired) return judged("unprotected", "agent revoked or its credential expired");
  if (ageSeconds === null)
    return judged(
      "unprotected",
      machine.lastOutcome === "failure"
        ? `never backed up: ${machine.lastError ?? "the last backup failed"}`
        : "never backed up",
    );
  if (machine.lastOutcome === "failure")
    return judged("failing", `last backup failed: ${machine.lastError ?? "no error given"}`);
  if (ageSeconds > client.rpoSeconds)
    return judged(
      "stale",
      `last backup ${formatAge(ageSeconds)} ago, older than the RPO of ${formatAge(client.rpoSeconds)}`,
    );
  if (machine.openAlerts > 0) return judged("at-risk", `${machine.openAlerts} open alert(s)`);
  return judged(
    "protected",
    `last backup ${formatAge(ageSeconds)} ago${machine.lastOutcome === "partial" ? " (partial: some files unreadable)" : ""}`,
  );
}

export interface CoverageTotals {
  /** Current clients: active tenants. Offboarding and former clients are listed, not counted. */
  readonly clients: number;
  readonly protected: number;
  /** Rounded down, so one unprotected client never shows as 100 %; null without clients. */
  readonly percent: number | null;
  readonly offboarding: number;
  readonly former: number;
  /** Clients by their worst machine's status. */
  readonly byStatus: Readonly<Record<CoverageStatus, number>>;
}

/** Totals over each client's status (the worst of its machines). */
export function coverageTotals(clientStatuses: readonly CoverageStatus[]): CoverageTotals {
  const byStatus = Object.fromEntries(COVERAGE_STATUSES.map((s) => [s, 0])) as Record<
    CoverageStatus,
    number
  >;
  for (const status of clientStatuses) byStatus[status] += 1;
  const clients = clientStatuses.length - byStatus.offboarding - byStatus.former;
  return {
    clients,
    protected: byStatus.protected,
    percent: clients === 0 ? null : Math.floor((100 * byStatus.protected) / clients),
    offboarding: byStatus.offboarding,
    former: byStatus.former,
    byStatus,
  };
}

/** "41 of 44 clients protected, 93 % (not counted: 2 offboarding, 1 former)". */
export function totalsSentence(totals: CoverageTotals): string {
  const percent = totals.percent === null ? "" : `, ${totals.percent} %`;
  const aside =
    totals.offboarding + totals.former === 0
      ? ""
      : ` (not counted: ${totals.offboarding} offboarding, ${totals.former} former)`;
  return `${totals.protected} of ${totals.clients} clients protected${percent}${aside}`;
}
