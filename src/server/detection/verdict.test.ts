import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { DetectionSummary } from "../../protocol/api.js";
import { type EarlierCommit, judgeCommit, type ServerMeasures } from "./verdict.js";

const MIB = 2 ** 20;
const DAY = 86_400_000;
const NOW = new Date("2030-03-01T02:00:00Z");

/** One commit a night for `nights` nights before NOW: the initial one large, then `usual` each. */
function nightly(nights: number, usual: number, hadSummary = true): EarlierCommit[] {
  return Array.from({ length: nights }, (_, i) => ({
    committedAt: new Date(NOW.getTime() - (nights - i) * DAY),
    newPackBytes: i === 0 ? 200 * 1024 * MIB : usual,
    hadSummary,
  }));
}

const measures = (newPackBytes: number): ServerMeasures => ({
  newPacks: Math.ceil(newPackBytes / (16 * MIB)),
  newPackBytes,
  bytesAdded: newPackBytes,
});

function summary(overrides: Partial<DetectionSummary> = {}): DetectionSummary {
  return {
    verdict: "ok",
    score: 3,
    reasons: [],
    signals: {
      files_total: 9870,
      files_added: 12,
      files_changed: 40,
      files_deleted: 1,
      files_renamed: 0,
      extension_changes: 0,
      type_mismatches: 0,
      high_entropy_changes: 0,
      ransom_notes: 0,
      known_ransom_extensions: 0,
      new_extensions: [],
    },
    ...overrides,
  };
}

describe("the server's verdict on a commit", () => {
  it("passes an ordinary night, and a large one within the machine's own habits", () => {
    const office = judgeCommit({
      agent: summary(),
      measures: measures(300 * MIB),
      history: nightly(10, 200 * MIB),
      now: NOW,
    });
    assert.deepEqual(office, {
      verdict: "ok",
      score: 3,
      reasons: [],
      server: { verdict: "ok", score: 0, reasons: [] },
    });
    // A media agency: 40 GiB a night is its normal day.
    const agency = judgeCommit({
      agent: summary(),
      measures: measures(60 * 1024 * MIB),
      history: nightly(10, 40 * 1024 * MIB),
      now: NOW,
    });
    assert.equal(agency.verdict, "ok");
  });

  it("flags ten times the machine's usual new data even when the agent says ok", () => {
    const verdict = judgeCommit({
      agent: summary(),
      measures: measures(2000 * MIB),
      history: nightly(10, 200 * MIB),
      now: NOW,
    });
    assert.equal(verdict.verdict, "suspicious");
    assert.equal(verdict.server.verdict, "suspicious");
    assert.ok(verdict.score >= 50 && verdict.score < 70, String(verdict.score));
    assert.deepEqual(verdict.reasons, [
      "uploaded 2,000 MiB of new data (125 packs), 10.0× this machine's usual 200 MiB per backup (median of its last 10)",
    ]);
  });

  it("does not judge volume before the machine has a history, nor below one pack's worth", () => {
    const first = judgeCommit({
      agent: undefined,
      measures: measures(500 * 1024 * MIB),
      history: [],
      now: NOW,
    });
    assert.equal(first.verdict, "ok");
    const early = judgeCommit({
      agent: summary(),
      measures: measures(2000 * MIB),
      history: nightly(2, 1 * MIB),
      now: NOW,
    });
    assert.equal(early.verdict, "ok");
    // 100× a tiny usual, but less than a pack: noise.
    const small = judgeCommit({
      agent: summary(),
      measures: measures(10 * MIB),
      history: nightly(10, 0.1 * MIB),
      now: NOW,
    });
    assert.equal(small.verdict, "ok");
  });

  it("flags an agent that reports nothing new while uploading new data", () => {
    const quiet = summary();
    const verdict = judgeCommit({
      agent: { ...quiet, signals: { ...quiet.signals, files_added: 0, files_changed: 0 } },
      measures: measures(100 * MIB),
      history: [],
      now: NOW,
    });
    assert.equal(verdict.verdict, "suspicious");
    assert.deepEqual(verdict.reasons, [
      "the agent reports no new or changed file, yet uploaded 100 MiB of new data",
    ]);
  });

  it("flags an agent that stops sending its summary, not one that never sent any", () => {
    const stopped = judgeCommit({
      agent: undefined,
      measures: measures(MIB),
      history: nightly(5, MIB),
      now: NOW,
    });
    assert.equal(stopped.verdict, "suspicious");
    assert.match(
      stopped.reasons.join(),
      /sent no detection summary, though its previous backup did/,
    );
    const old = judgeCommit({
      agent: undefined,
      measures: measures(MIB),
      history: nightly(5, MIB, false),
      now: NOW,
    });
    assert.equal(old.verdict, "ok");
  });

  it("flags a flood of commits against the machine's usual rate", () => {
    const lastDay = Array.from({ length: 30 }, (_, i) => ({
      committedAt: new Date(NOW.getTime() - (i + 1) * 60_000),
      newPackBytes: 0,
      hadSummary: true,
    }));
    const verdict = judgeCommit({
      agent: summary(),
      measures: measures(0),
      history: [...nightly(10, MIB), ...lastDay],
      now: NOW,
    });
    assert.equal(verdict.verdict, "suspicious");
    assert.match(
      verdict.reasons.join(),
      /31 backups in the last 24 hours, where this machine usually makes 1\.0 a day/,
    );
    // A machine that always backs up every few minutes is not flooding.
    const busy = Array.from({ length: 10 * 288 }, (_, i) => ({
      committedAt: new Date(NOW.getTime() - (i + 1) * 300_000),
      newPackBytes: 0,
      hadSummary: true,
    }));
    assert.equal(
      judgeCommit({ agent: summary(), measures: measures(0), history: busy, now: NOW }).verdict,
      "ok",
    );
  });

  it("keeps the worse of the agent's verdict and its own, with both sets of reasons", () => {
    const agentSaysRansomware = judgeCommit({
      agent: summary({ verdict: "ransomware", score: 92, reasons: ["3,900 renamed to .locked"] }),
      measures: measures(2000 * MIB),
      history: nightly(10, 200 * MIB),
      now: NOW,
    });
    assert.equal(agentSaysRansomware.verdict, "ransomware");
    assert.equal(agentSaysRansomware.score, 92);
    assert.equal(agentSaysRansomware.reasons[0], "3,900 renamed to .locked");
    assert.equal(agentSaysRansomware.reasons.length, 2);
    assert.equal(agentSaysRansomware.server.verdict, "suspicious");
  });
});
