/**
 * The server's verdict on a commit, as a pure function of what the agent reported, what the server
 * measured itself, that agent's earlier commits and the time (like retention/policy.ts).
 *
 * Threat model: whoever controls the machine controls the agent, so its detection summary can lie
 * ("ok") or be missing. The server therefore judges from what it sees without the agent's help:
 * - volume: the new packs the agent uploaded since its previous commit, against the median of
 *   that agent's own earlier commits (encrypting files makes all of them new content, which
 *   deduplication cannot absorb; an office day changes a few percent). A per-agent baseline
 *   keeps a media agency's normal day from being an alarm; the first commits, which upload
 *   everything, are never judged by volume;
 * - contradiction: an agent that reports no new or changed file while uploading a pack's worth
 *   of new data is lying, or broken;
 * - silence: an agent whose previous commit carried a summary and this one none (downgraded,
 *   patched out);
 * - rate: many more commits in a day than the agent's usual (a flood; retention already keeps
 *   the first snapshot of each period, so this is a sign, not a danger to the data).
 * The verdict is the worse of the agent's and the server's own: a lying agent cannot lower it,
 * and an agent crying wolf only makes the server keep more.
 *
 * Backups that stop arriving are judged elsewhere, by coverage (issue 11): they are the absence
 * of a commit, and this function judges commits.
 */

import { median } from "../../detection/median.js";
import type { DetectionSummary } from "../../protocol/api.js";
import type { DetectionVerdict } from "../../protocol/constants.js";

/** What the server measured of this commit, without the agent's word. */
export interface ServerMeasures {
  /** Packs the agent uploaded since its previous commit, and their bytes. */
  readonly newPacks: number;
  readonly newPackBytes: number;
  /** Every object it uploaded since its previous commit, packs included. */
  readonly bytesAdded: number;
}

/** One earlier commit of the same agent, as the catalog recorded it. */
export interface EarlierCommit {
  readonly committedAt: Date;
  /** null when not measured (committed before the server judged commits). */
  readonly newPackBytes: number | null;
  /** Whether it carried the agent's summary; null when not recorded. */
  readonly hadSummary: boolean | null;
}

export interface Judgement {
  readonly verdict: DetectionVerdict;
  /** 0 to 100 */
  readonly score: number;
  readonly reasons: readonly string[];
}

export interface Rules {
  /** Earlier measured commits needed before volume is judged (the first upload is everything). */
  readonly minHistory: number;
  /** Earlier commits the volume baseline is the median of, newest first. */
  readonly historyWindow: number;
  /** New data at least this many times the agent's usual… */
  readonly volumeRatio: number;
  /** …and at least this much (one full pack: below it, volume is noise). */
  readonly volumeMinBytes: number;
  /** Commits in the last 24 h at least this many… */
  readonly rateMin: number;
  /** …and this many times the agent's usual per day… */
  readonly rateRatio: number;
  /** …measured over at least this many days of its history. */
  readonly rateMinHistoryDays: number;
}

export const DEFAULT_RULES: Rules = {
  minHistory: 3,
  historyWindow: 30,
  volumeRatio: 8,
  volumeMinBytes: 16 * 1024 * 1024,
  rateMin: 24,
  rateRatio: 4,
  rateMinHistoryDays: 2,
};

const DAY_MS = 86_400_000;
const RATE_WINDOW_DAYS = 30;
const SEVERITY: readonly DetectionVerdict[] = ["ok", "suspicious", "ransomware"];

export interface VerdictInput {
  /** The agent's summary, if it sent one. */
  readonly agent: DetectionSummary | undefined;
  readonly measures: ServerMeasures;
  /** The agent's earlier commits, any order. */
  readonly history: readonly EarlierCommit[];
  /** The server's receipt time of this commit. */
  readonly now: Date;
}

export interface Verdict extends Judgement {
  /** The server's own judgement, before the agent's is added. */
  readonly server: Judgement;
}

/** The commit's verdict: the worse of the agent's and the server's, with both sets of reasons. */
export function judgeCommit(input: VerdictInput, rules: Rules = DEFAULT_RULES): Verdict {
  const server = judgeByServer(input, rules);
  const agent = input.agent;
  if (agent === undefined) return { ...server, server };
  const worse =
    SEVERITY.indexOf(agent.verdict) >= SEVERITY.indexOf(server.verdict)
      ? agent.verdict
      : server.verdict;
  return {
    verdict: worse,
    score: Math.max(agent.score, server.score),
    reasons: [...agent.reasons, ...server.reasons],
    server,
  };
}

/** A rule that fired: its score and its reason in words. */
interface Finding {
  readonly score: number;
  readonly reason: string;
}

function judgeByServer(input: VerdictInput, rules: Rules): Judgement {
  const findings = [volume, contradiction, silence, rate]
    .map((rule) => rule(input, rules))
    .filter((finding): finding is Finding => finding !== undefined);
  if (findings.length === 0) return { verdict: "ok", score: 0, reasons: [] };
  // Each further finding adds a little: independent signs agreeing are worth more than one.
  const top = Math.max(...findings.map((f) => f.score));
  return {
    verdict: "suspicious",
    score: Math.min(69, top + 5 * (findings.length - 1)),
    reasons: findings.map((f) => f.reason),
  };
}

function volume({ measures, history }: VerdictInput, rules: Rules): Finding | undefined {
  const measured = history
    .filter((c): c is EarlierCommit & { newPackBytes: number } => c.newPackBytes !== null)
    .sort((a, b) => b.committedAt.getTime() - a.committedAt.getTime())
    .slice(0, rules.historyWindow)
    .map((c) => c.newPackBytes);
  if (measured.length < rules.minHistory || measures.newPackBytes < rules.volumeMinBytes)
    return undefined;
  const usual = median(measured);
  // An agent that usually adds nothing: one byte stands in, so any pack's worth is a change.
  const ratio = measures.newPackBytes / Math.max(usual, 1);
  if (ratio < rules.volumeRatio) return undefined;
  return {
    // 50 at the threshold, 5 more per doubling beyond it.
    score: Math.min(65, 50 + Math.floor(5 * Math.log2(ratio / rules.volumeRatio))),
    reason: `uploaded ${formatBytes(measures.newPackBytes)} of new data (${measures.newPacks} packs), ${formatRatio(ratio)} this machine's usual ${formatBytes(usual)} per backup (median of its last ${measured.length})`,
  };
}

function contradiction({ agent, measures }: VerdictInput, rules: Rules): Finding | undefined {
  if (agent === undefined || measures.newPackBytes < rules.volumeMinBytes) return undefined;
  if (agent.signals.files_added + agent.signals.files_changed > 0) return undefined;
  return {
    score: 60,
    reason: `the agent reports no new or changed file, yet uploaded ${formatBytes(measures.newPackBytes)} of new data`,
  };
}

function silence({ agent, history }: VerdictInput): Finding | undefined {
  if (agent !== undefined) return undefined;
  const previous = newest(history);
  if (previous?.hadSummary !== true) return undefined;
  return {
    score: 45,
    reason:
      "the agent sent no detection summary, though its previous backup did (an older or altered agent)",
  };
}

function rate({ history, now }: VerdictInput, rules: Rules): Finding | undefined {
  const t = now.getTime();
  const lastDay = history.filter((c) => t - c.committedAt.getTime() < DAY_MS).length + 1;
  if (lastDay < rules.rateMin) return undefined;
  const before = history.filter((c) => {
    const age = t - c.committedAt.getTime();
    return age >= DAY_MS && age < RATE_WINDOW_DAYS * DAY_MS;
  });
  const times = before.map((c) => c.committedAt.getTime());
  // Commits per day between the first and the last of them: n commits make n - 1 intervals.
  const days = before.length < 2 ? 0 : (Math.max(...times) - Math.min(...times)) / DAY_MS;
  if (days < rules.rateMinHistoryDays) return undefined;
  const usualPerDay = (before.length - 1) / days;
  if (lastDay < rules.rateRatio * usualPerDay) return undefined;
  return {
    score: 40,
    reason: `${lastDay} backups in the last 24 hours, where this machine usually makes ${usualPerDay.toFixed(1)} a day`,
  };
}

function newest(history: readonly EarlierCommit[]): EarlierCommit | undefined {
  return [...history].sort((a, b) => b.committedAt.getTime() - a.committedAt.getTime())[0];
}

function formatRatio(ratio: number): string {
  return Number.isFinite(ratio) && ratio < 1e6
    ? `${ratio.toFixed(ratio < 100 ? 1 : 0)}×`
    : "far above";
}

/** Sizes in one unit, so that reasons compare at a glance ("1,024 MiB … usual 2.5 MiB"). */
function formatBytes(bytes: number): string {
  return `${(bytes / 2 ** 20).toLocaleString("en-US", { maximumFractionDigits: 1 })} MiB`;
}
