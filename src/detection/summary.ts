/**
 * The detection summary: what an agent's backup concluded about the changes since its parent
 * snapshot. It is sealed inside the snapshot (the local baseline of later backups) and sent in
 * clear with the snapshot commit, so it carries counts, a score, words and extensions only —
 * never a file name or a path (docs/DETECTION.md, "What the server learns"). The server checks
 * the same shape with its own schema (src/protocol/messages.ts); the limits below are shared.
 */

import {
  DETECTION_VERDICTS,
  type DetectionVerdict,
  MAX_DETECTION_REASON_LENGTH,
  MAX_DETECTION_REASONS,
  MAX_EXTENSION_LENGTH,
  MAX_NEW_EXTENSIONS,
} from "../protocol/constants.js";

export type Verdict = DetectionVerdict;

export const VERDICTS: readonly Verdict[] = DETECTION_VERDICTS;

export const DETECTION_LIMITS = {
  reasons: MAX_DETECTION_REASONS,
  reasonChars: MAX_DETECTION_REASON_LENGTH,
  newExtensions: MAX_NEW_EXTENSIONS,
  extensionChars: MAX_EXTENSION_LENGTH,
} as const;

export interface DetectionSignals {
  readonly files_total: number;
  readonly files_added: number;
  readonly files_changed: number;
  readonly files_deleted: number;
  readonly files_renamed: number;
  /** renames whose extension changed */
  readonly extension_changes: number;
  /** changed files whose content no longer matches their type */
  readonly type_mismatches: number;
  /** changed files whose content became dense against their type's baseline */
  readonly high_entropy_changes: number;
  /** new files named like ransom notes */
  readonly ransom_notes: number;
  /** files with a known ransomware extension (a weak signal) */
  readonly known_ransom_extensions: number;
  /** extensions of added or renamed files that the parent snapshot did not have, most used first */
  readonly new_extensions: readonly string[];
}

export interface DetectionSummary {
  readonly verdict: Verdict;
  /** 0..100 */
  readonly score: number;
  readonly reasons: readonly string[];
  readonly signals: DetectionSignals;
}

export const COUNT_SIGNALS = [
  "files_total",
  "files_added",
  "files_changed",
  "files_deleted",
  "files_renamed",
  "extension_changes",
  "type_mismatches",
  "high_entropy_changes",
  "ransom_notes",
  "known_ransom_extensions",
] as const satisfies readonly (keyof DetectionSignals)[];

/** A lowercase extension with its dot, as `new_extensions` lists them. */
export const EXTENSION_PATTERN = /^\.[a-z0-9_~-]{1,15}$/;

/**
 * Why `value` is not a detection summary, or undefined when it is one. A snapshot is sealed by
 * whoever holds the repository password, so a reader checks this before trusting the baseline.
 */
export function detectionProblem(value: unknown): string | undefined {
  if (!isRecord(value)) return "not an object";
  if (!VERDICTS.includes(value.verdict as Verdict))
    return "verdict is not ok|suspicious|ransomware";
  if (!isCount(value.score) || (value.score as number) > 100) return "score is not 0..100";
  const { reasons, signals } = value;
  if (
    !Array.isArray(reasons) ||
    reasons.length > DETECTION_LIMITS.reasons ||
    !reasons.every((r) => typeof r === "string" && r.length <= DETECTION_LIMITS.reasonChars)
  )
    return `reasons is not a list of at most ${DETECTION_LIMITS.reasons} short strings`;
  if (!isRecord(signals)) return "signals is not an object";
  for (const field of COUNT_SIGNALS)
    if (!isCount(signals[field])) return `signals.${field} is not a count`;
  const extensions = signals.new_extensions;
  if (
    !Array.isArray(extensions) ||
    extensions.length > DETECTION_LIMITS.newExtensions ||
    !extensions.every((e) => typeof e === "string" && EXTENSION_PATTERN.test(e))
  )
    return "signals.new_extensions is not a list of extensions";
  return undefined;
}

function isCount(value: unknown): boolean {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
