/**
 * The verdict on one backup: a pure function of its signals and the baseline of its series (the
 * same host and paths), with the reasons in words. No I/O, no clock.
 *
 * Threat model: a cryptolocker, a wiper, or a slow attack that encrypts a few percent of the files
 * each night. Volumes alone cannot separate those from a photo import or a deleted project, so
 * the score rests on what benign work does not produce: existing files whose content stops being
 * their type (signature or structure lost, text turned to noise or base64, zero-filled). Names
 * (ransom notes, new extensions, known ransomware extensions) and churn add weight but are capped
 * below the `suspicious` line on their own, as an attacker controls names and a user churns files.
 */

import { median } from "./median.js";
import {
  DETECTION_LIMITS,
  type DetectionSignals,
  type DetectionSummary,
  type Verdict,
} from "./summary.js";

export interface Baseline {
  /** earlier ok snapshots it was learnt from */
  readonly snapshots: number;
  /** damaged files per new, changed or renamed file on a normal day */
  readonly damageRate: number;
  /** changed, deleted or renamed files per file of the parent on a normal day */
  readonly churnRate: number;
  /** renames to another extension on a normal day */
  readonly extensionChanges: number;
}

export const EMPTY_BASELINE: Baseline = {
  snapshots: 0,
  damageRate: 0,
  churnRate: 0,
  extensionChanges: 0,
};

export const SUSPICIOUS_SCORE = 40;
export const RANSOMWARE_SCORE = 70;
/** Names and churn together never reach `suspicious` without a ransom note or damaged content. */
const NAMES_AND_CHURN_CAP = 35;
const NOTES_CAP = 35;
/** The last normal days a baseline is learnt from. */
const BASELINE_DAYS = 14;

const touched = (s: DetectionSignals): number => s.files_added + s.files_changed + s.files_renamed;
const damaged = (s: DetectionSignals): number => s.type_mismatches + s.high_entropy_changes;
const parentFiles = (s: DetectionSignals): number =>
  Math.max(1, s.files_total - s.files_added + s.files_deleted);
const churn = (s: DetectionSignals): number =>
  (s.files_changed + s.files_deleted + s.files_renamed) / parentFiles(s);

/**
 * The series' normal day, from the summaries of its earlier snapshots (oldest first): medians of
 * the last ok days that changed something and had a parent, so that an attack's own nights (not ok)
 * and first backups (everything new) never become normal.
 */
export function baselineOf(history: readonly DetectionSummary[]): Baseline {
  const days = history
    .filter(
      (d) =>
        d.verdict === "ok" &&
        touched(d.signals) > 0 &&
        d.signals.files_added < d.signals.files_total,
    )
    .slice(-BASELINE_DAYS)
    .map((d) => d.signals);
  if (days.length === 0) return EMPTY_BASELINE;
  return {
    snapshots: days.length,
    damageRate: median(days.map((s) => damaged(s) / touched(s))),
    churnRate: median(days.map(churn)),
    extensionChanges: median(days.map((s) => s.extension_changes)),
  };
}

export function score(signals: DetectionSignals, baseline: Baseline): DetectionSummary {
  const reasons: string[] = [];
  const damage = damagePoints(signals, baseline, reasons);
  const notes = notePoints(signals, reasons);
  const names =
    extensionPoints(signals, baseline, reasons) + churnPoints(signals, baseline, reasons);
  const total = Math.min(100, Math.round(damage + notes + Math.min(NAMES_AND_CHURN_CAP, names)));
  return {
    verdict: verdictOf(total),
    score: total,
    reasons: reasons
      .slice(0, DETECTION_LIMITS.reasons)
      .map((r) => r.slice(0, DETECTION_LIMITS.reasonChars)),
    signals,
  };
}

function verdictOf(total: number): Verdict {
  if (total >= RANSOMWARE_SCORE) return "ransomware";
  return total >= SUSPICIOUS_SCORE ? "suspicious" : "ok";
}

/**
 * Damaged files beyond what the series normally shows, weighed by count (one corrupt download is
 * not an attack; twenty files are) and by share of the files touched (a slow attack is most of a
 * quiet night's changes). Four of forty changed files reach `suspicious`.
 */
function damagePoints(s: DetectionSignals, baseline: Baseline, reasons: string[]): number {
  const n = touched(s);
  const excess = damaged(s) - baseline.damageRate * n;
  if (s.type_mismatches > 0)
    reasons.push(
      `${count(s.type_mismatches)} of ${count(n)} new, changed or renamed files no longer match their file type (signature or structure lost, text turned to noise or base64, emptied or zero-filled)`,
    );
  if (s.high_entropy_changes > 0)
    reasons.push(
      `${count(s.high_entropy_changes)} files turned to noise where their type has none (dense blocks in text or databases, or unrecognisable new files replacing deleted ones)`,
    );
  if (excess < 1) return 0;
  if (baseline.damageRate > 0)
    reasons.push(`usually ${percent(baseline.damageRate)} of the files touched look damaged`);
  const byCount = Math.min(1, Math.log10(1 + excess) / Math.log10(21));
  const byShare = Math.min(1, excess / Math.max(1, n) / 0.25);
  return 100 * (0.55 * byCount + 0.45 * byShare);
}

function notePoints(s: DetectionSignals, reasons: string[]): number {
  if (s.ransom_notes === 0) return 0;
  reasons.push(`${count(s.ransom_notes)} new files are named like ransom notes`);
  return Math.min(NOTES_CAP, 10 + 10 * Math.log2(s.ransom_notes));
}

function extensionPoints(s: DetectionSignals, baseline: Baseline, reasons: string[]): number {
  let points = 0;
  if (s.extension_changes > 0) {
    const shown = s.new_extensions.slice(0, 3).join(", ");
    reasons.push(
      `${count(s.extension_changes)} files renamed to another extension${shown ? ` (new: ${shown})` : ""}`,
    );
    const excess = s.extension_changes - baseline.extensionChanges;
    if (excess > 0) points += Math.min(25, 8 * Math.log2(1 + excess));
  }
  if (s.known_ransom_extensions > 0) {
    reasons.push(
      `${count(s.known_ransom_extensions)} files carry an extension ransomware is known to use`,
    );
    points += Math.min(10, 5 * Math.log2(1 + s.known_ransom_extensions));
  }
  return points;
}

function churnPoints(s: DetectionSignals, baseline: Baseline, reasons: string[]): number {
  const rate = churn(s);
  const excess = rate - baseline.churnRate;
  if (excess <= 0.05) return 0;
  reasons.push(
    `${percent(rate)} of the files were changed, deleted or renamed (usually ${percent(baseline.churnRate)})`,
  );
  return Math.min(15, 30 * excess);
}

const count = (n: number): string => n.toLocaleString("en-US");
const percent = (rate: number): string => `${(rate * 100).toFixed(rate < 0.1 ? 1 : 0)} %`;
