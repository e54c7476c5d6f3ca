import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type ClientFacts,
  COVERAGE_STATUSES,
  type CoverageStatus,
  coverageTotals,
  judgeMachine,
  type MachineFacts,
  totalsSentence,
  worstStatus,
} from "./status.js";

const NOW = new Date("2030-06-01T12:00:00Z");
const HOUR = 3_600_000;
const ago = (hours: number) => new Date(NOW.getTime() - hours * HOUR);
const active: ClientFacts = { status: "active", rpoSeconds: 24 * 3600 };
const healthy: MachineFacts = {
  retired: false,
  lastSuccessAt: ago(3),
  lastOutcome: "success",
  lastError: null,
  openAlerts: 0,
};

function judge(client: Partial<ClientFacts>, machine: Partial<MachineFacts> | undefined) {
  return judgeMachine(
    { ...active, ...client },
    machine === undefined ? undefined : { ...healthy, ...machine },
    NOW,
  );
}

describe("coverage status", () => {
  it("gives every state its status and reason", () => {
    const cases: [string, ReturnType<typeof judge>, CoverageStatus, RegExp][] = [
      ["no agent", judge({}, undefined), "unprotected", /no agent enrolled/],
      ["revoked agent", judge({}, { retired: true }), "unprotected", /revoked/],
      [
        "never backed up",
        judge({}, { lastSuccessAt: null, lastOutcome: null }),
        "unprotected",
        /^never backed up$/,
      ],
      [
        "never backed up, failing",
        judge({}, { lastSuccessAt: null, lastOutcome: "failure", lastError: "disk gone" }),
        "unprotected",
        /never backed up: disk gone/,
      ],
      [
        "failing",
        judge({}, { lastOutcome: "failure", lastError: "EACCES /srv" }),
        "failing",
        /last backup failed: EACCES \/srv/,
      ],
      [
        "stale",
        judge({}, { lastSuccessAt: ago(30) }),
        "stale",
        /30 h ago, older than the RPO of 24 h/,
      ],
      ["at risk", judge({}, { openAlerts: 2 }), "at-risk", /2 open alert/],
      ["protected", judge({}, {}), "protected", /last backup 3 h ago$/],
      ["partial", judge({}, { lastOutcome: "partial" }), "protected", /partial/],
      ["offboarding", judge({ status: "offboarding" }, undefined), "offboarding", /offboarding/],
      ["former", judge({ status: "deleted" }, { retired: true }), "former", /former client/],
    ];
    for (const [name, judgement, status, reason] of cases) {
      assert.equal(judgement.status, status, name);
      assert.match(judgement.reason, reason, name);
    }
    // Every status is reachable.
    assert.deepEqual(new Set(cases.map(([, j]) => j.status)), new Set(COVERAGE_STATUSES));
  });

  it("applies its rules in order: leaving beats everything, then never backed up, failing, stale, alerts", () => {
    const everythingWrong = {
      lastOutcome: "failure",
      lastSuccessAt: ago(100),
      openAlerts: 1,
    } as const;
    assert.equal(judge({ status: "deleted" }, everythingWrong).status, "former");
    assert.equal(judge({ status: "offboarding" }, everythingWrong).status, "offboarding");
    assert.equal(judge({}, { ...everythingWrong, retired: true }).status, "unprotected");
    assert.equal(judge({}, everythingWrong).status, "failing");
    assert.equal(judge({}, { ...everythingWrong, lastOutcome: "success" }).status, "stale");
  });

  it("measures the age against the client's own RPO, with the server's time of the last success", () => {
    assert.equal(judge({ rpoSeconds: 3600 }, { lastSuccessAt: ago(2) }).status, "stale");
    assert.equal(judge({ rpoSeconds: 3 * 3600 }, { lastSuccessAt: ago(2) }).status, "protected");
    // Exactly the RPO is still within it.
    assert.equal(judge({ rpoSeconds: 7200 }, { lastSuccessAt: ago(2) }).status, "protected");
    assert.equal(judge({}, { lastSuccessAt: ago(2) }).ageSeconds, 7200);
    // A last success in the future (clock step) is age 0, not negative.
    assert.equal(judge({}, { lastSuccessAt: ago(-1) }).ageSeconds, 0);
  });

  it("takes a client's worst machine, and counts totals over current clients only", () => {
    assert.equal(worstStatus(["protected", "stale", "at-risk"]), "stale");
    assert.equal(worstStatus([]), undefined);
    const totals = coverageTotals([
      "protected",
      "protected",
      "unprotected",
      "at-risk",
      "offboarding",
      "former",
      "former",
    ]);
    assert.equal(totals.clients, 4);
    assert.equal(totals.protected, 2);
    assert.equal(totals.percent, 50);
    assert.equal(totals.byStatus.former, 2);
    assert.equal(
      totalsSentence(totals),
      "2 of 4 clients protected, 50 % (not counted: 1 offboarding, 2 former)",
    );
    // Rounded down: 43 of 44 is 97 %, and 199 of 200 is never shown as 100 %.
    assert.equal(coverageTotals([...Array(199).fill("protected"), "stale"]).percent, 99);
    assert.equal(totalsSentence(coverageTotals([])), "0 of 0 clients protected");
  });
});
