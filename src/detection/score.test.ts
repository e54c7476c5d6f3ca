/** The verdict as a table: signals and a baseline in, a verdict with its reasons out. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type Baseline, baselineOf, EMPTY_BASELINE, score } from "./score.js";
import type { DetectionSignals, DetectionSummary, Verdict } from "./summary.js";

const quiet: DetectionSignals = {
  files_total: 1000,
  files_added: 5,
  files_changed: 35,
  files_deleted: 2,
  files_renamed: 0,
  extension_changes: 0,
  type_mismatches: 0,
  high_entropy_changes: 0,
  ransom_notes: 0,
  known_ransom_extensions: 0,
  new_extensions: [],
};
const day = (changes: Partial<DetectionSignals>): DetectionSignals => ({ ...quiet, ...changes });

const cases: { name: string; signals: DetectionSignals; baseline?: Baseline; verdict: Verdict }[] =
  [
    { name: "a quiet office day", signals: quiet, verdict: "ok" },
    {
      name: "one corrupt download among forty changes",
      signals: day({ type_mismatches: 1 }),
      verdict: "ok",
    },
    {
      name: "four of forty changed files lost their type",
      signals: day({ type_mismatches: 4 }),
      verdict: "suspicious",
    },
    {
      name: "a slow attack: 3 % of the files, most of a quiet night's changes",
      signals: day({ files_changed: 50, type_mismatches: 30 }),
      verdict: "ransomware",
    },
    {
      name: "everything encrypted and renamed, with notes",
      signals: day({
        files_added: 40,
        files_changed: 0,
        files_renamed: 900,
        extension_changes: 900,
        type_mismatches: 900,
        ransom_notes: 40,
        known_ransom_extensions: 900,
        new_extensions: [".locked"],
      }),
      verdict: "ransomware",
    },
    {
      name: "a photo import of ten thousand files with five broken ones",
      signals: day({ files_total: 11_000, files_added: 10_000, type_mismatches: 5 }),
      verdict: "ok",
    },
    {
      name: "mass renames and deletions alone (a tidy-up), capped below suspicious",
      signals: day({
        files_deleted: 900,
        files_renamed: 500,
        extension_changes: 500,
        known_ransom_extensions: 3,
        new_extensions: [".jpeg"],
      }),
      verdict: "ok",
    },
    { name: "two note-like names", signals: day({ ransom_notes: 2 }), verdict: "ok" },
    {
      name: "a series whose normal day has damaged-looking files",
      signals: day({ files_changed: 400, type_mismatches: 40 }),
      baseline: { snapshots: 10, damageRate: 0.1, churnRate: 0.4, extensionChanges: 0 },
      verdict: "ok",
    },
    {
      name: "the same day in a series that never has any",
      signals: day({ files_changed: 400, type_mismatches: 40 }),
      verdict: "ransomware",
    },
  ];

describe("detection score", () => {
  for (const c of cases)
    it(`${c.name}: ${c.verdict}`, () => {
      const result = score(c.signals, c.baseline ?? EMPTY_BASELINE);
      assert.equal(
        result.verdict,
        c.verdict,
        `score ${result.score}: ${result.reasons.join("; ")}`,
      );
      assert.ok(Number.isInteger(result.score) && result.score >= 0 && result.score <= 100);
    });

  it("says why in words, with counts", () => {
    const result = score(
      day({
        files_changed: 9870,
        type_mismatches: 4211,
        files_renamed: 3900,
        extension_changes: 3900,
        new_extensions: [".locked"],
      }),
      EMPTY_BASELINE,
    );
    assert.ok(
      result.reasons.some((r) => r.startsWith("4,211 of 13,775 ")),
      result.reasons.join("\n"),
    );
    assert.ok(
      result.reasons.some((r) =>
        r.includes("3,900 files renamed to another extension (new: .locked)"),
      ),
    );
  });

  it("learns the baseline from normal days only, never from flagged ones or first backups", () => {
    const summary = (signals: DetectionSignals, verdict: Verdict): DetectionSummary => ({
      verdict,
      score: 0,
      reasons: [],
      signals,
    });
    const baseline = baselineOf([
      summary(day({ files_added: 1000, files_changed: 0 }), "ok"),
      summary(day({ type_mismatches: 4 }), "ok"),
      summary(day({ type_mismatches: 40 }), "ransomware"),
      summary(day({ type_mismatches: 0 }), "ok"),
    ]);
    assert.equal(baseline.snapshots, 2);
    assert.equal(baseline.damageRate, 0.05);
  });
});
