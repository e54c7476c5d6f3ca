import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Agent, Alert, Tenant } from "../../catalog/catalog.js";
import { DEFAULT_RPO_SECONDS } from "../../protocol/constants.js";
import {
  describeAge,
  findingKey,
  judgeAgents,
  judgeQuota,
  judgeRecoveries,
} from "./backup-health.js";

const HOUR = 3_600_000;
const DEFAULT_RPO_MS = DEFAULT_RPO_SECONDS * 1000;
const NOW = new Date("2026-12-01T12:00:00Z");
const ago = (ms: number) => new Date(NOW.getTime() - ms);

const TENANT: Tenant = {
  id: "t1",
  name: "acme",
  createdAt: ago(100 * 24 * HOUR),
  retentionDays: 30,
  immutableDays: 14,
  quotaBytes: 1000,
  status: "active",
  rpoSeconds: DEFAULT_RPO_SECONDS,
};

function agent(id: string, extra: Partial<Agent> = {}): Agent {
  return {
    id,
    tenantId: "t1",
    hostname: `${id}-host`,
    scopes: ["backup"],
    createdAt: ago(30 * 24 * HOUR),
    expiresAt: new Date(NOW.getTime() + 365 * 24 * HOUR),
    revokedAt: null,
    lastSeenAt: null,
    lastHost: null,
    lastAddress: null,
    version: null,
    lastBackupAt: null,
    lastBackupStatus: null,
    lastError: null,
    lastBackupSnapshotId: null,
    lastBackupVerified: null,
    ...extra,
  };
}

let nextAlertId = 1;
function openAlert(kind: Alert["kind"], agentId: string | null): Alert {
  return {
    id: nextAlertId++,
    tenantId: "t1",
    agentId,
    snapshotId: null,
    kind,
    severity: "warning",
    message: `${kind} alert`,
    details: {},
    createdAt: ago(2 * DEFAULT_RPO_MS),
    acknowledgedBy: null,
    acknowledgedAt: null,
    acknowledgeReason: null,
    resolvedBy: null,
    resolvedAt: null,
    resolveReason: null,
  };
}

const keys = (findings: readonly { kind: string; agentId: string | null }[]) =>
  findings.map((f) => findingKey({ kind: f.kind as "quota", agentId: f.agentId }));

describe("backup health", () => {
  it("calls an agent stale only past the RPO, counting from enrollment when it never backed up", () => {
    const findings = judgeAgents(
      TENANT,
      [
        { agent: agent("fresh"), lastSuccessAt: ago(DEFAULT_RPO_MS) },
        { agent: agent("late"), lastSuccessAt: ago(DEFAULT_RPO_MS + 1) },
        { agent: agent("never"), lastSuccessAt: null },
        { agent: agent("new", { createdAt: ago(HOUR) }), lastSuccessAt: null },
      ],
      DEFAULT_RPO_MS,
      NOW,
    );
    assert.deepEqual(keys(findings), ["backup-stale:late", "backup-stale:never"]);
    assert.match(
      findings[1]?.message ?? "",
      /never completed a backup since it was enrolled 30 days ago/,
    );
  });

  it("calls an agent failing when its last report failed after its last success", () => {
    const failed = (at: Date) =>
      agent("pc", {
        lastBackupAt: at,
        lastBackupStatus: "failure",
        lastError: "disk full\u001b[2J\u0007",
      });
    const recovered = judgeAgents(
      TENANT,
      [{ agent: failed(ago(2 * HOUR)), lastSuccessAt: ago(HOUR) }],
      DEFAULT_RPO_MS,
      NOW,
    );
    assert.deepEqual(recovered, []);
    const failing = judgeAgents(
      TENANT,
      [{ agent: failed(ago(HOUR)), lastSuccessAt: ago(2 * HOUR) }],
      DEFAULT_RPO_MS,
      NOW,
    );
    assert.deepEqual(keys(failing), ["backup-failing:pc"]);
    assert.match(failing[0]?.message ?? "", /disk full \[2J $/);
  });

  it("says nothing of revoked or expired agents, nor of a tenant that is not active", () => {
    const old = ago(10 * DEFAULT_RPO_MS);
    const quiet = [
      { agent: agent("revoked", { revokedAt: old }), lastSuccessAt: old },
      { agent: agent("expired", { expiresAt: ago(1) }), lastSuccessAt: old },
    ];
    assert.deepEqual(judgeAgents(TENANT, quiet, DEFAULT_RPO_MS, NOW), []);
    const leaving: Tenant = { ...TENANT, status: "offboarding" };
    assert.deepEqual(
      judgeAgents(leaving, [{ agent: agent("pc"), lastSuccessAt: old }], DEFAULT_RPO_MS, NOW),
      [],
    );
  });

  it("raises quota above 90 % of it, high once full, never for an unlimited tenant", () => {
    assert.equal(judgeQuota(TENANT, 900), undefined);
    assert.equal(judgeQuota(TENANT, 901)?.severity, "warning");
    assert.equal(judgeQuota(TENANT, 1000)?.severity, "high");
    assert.equal(judgeQuota({ ...TENANT, quotaBytes: null }, 10 ** 15), undefined);
  });

  it("resolves the open condition alerts whose finding is gone, saying what cleared each, and never a detection alert", () => {
    const failedAt = ago(3 * HOUR);
    const machines = [
      { agent: agent("back"), lastSuccessAt: ago(HOUR) },
      {
        agent: agent("fixed", { lastBackupAt: failedAt, lastBackupStatus: "failure" }),
        lastSuccessAt: ago(HOUR),
      },
      { agent: agent("gone", { revokedAt: ago(HOUR) }), lastSuccessAt: null },
      { agent: agent("still"), lastSuccessAt: ago(2 * DEFAULT_RPO_MS) },
    ];
    const open = [
      openAlert("backup-stale", "back"),
      openAlert("backup-failing", "fixed"),
      openAlert("backup-stale", "gone"),
      openAlert("backup-stale", "still"),
      openAlert("detection", "back"),
      openAlert("agent-misuse", "gone"),
      openAlert("quota", null),
    ];
    const findings = judgeAgents(TENANT, machines, DEFAULT_RPO_MS, NOW);
    assert.deepEqual(keys(findings), ["backup-stale:still"]);
    const recoveries = judgeRecoveries(TENANT, open, findings, machines, 400, NOW);
    assert.deepEqual(
      recoveries.map((r) => [open.find((a) => a.id === r.alertId)?.agentId ?? "-", r.reason]),
      [
        [
          "back",
          `a backup of back-host was committed at ${ago(HOUR).toISOString()}, within its RPO of 24 h`,
        ],
        [
          "fixed",
          `a backup of fixed-host was committed at ${ago(HOUR).toISOString()}, after the failure`,
        ],
        [
          "gone",
          `agent gone-host was revoked at ${ago(HOUR).toISOString()}: a revoked agent is expected to stop`,
        ],
        ["-", "tenant acme stores 400 bytes, 40 % of its quota of 1000 bytes, at most 90 %"],
      ],
    );
    // Still over: nothing to resolve; a tenant that is not active is not judged at all.
    const full = judgeQuota(TENANT, 950);
    assert.ok(full);
    assert.deepEqual(judgeRecoveries(TENANT, [openAlert("quota", null)], [full], [], 950, NOW), []);
    assert.deepEqual(
      judgeRecoveries({ ...TENANT, status: "offboarding" }, open, [], machines, 0, NOW),
      [],
    );
  });

  it("reads ages in hours, then days", () => {
    assert.equal(describeAge(25 * HOUR), "25 h");
    assert.equal(describeAge(72 * HOUR), "3 days");
    assert.equal(describeAge(75 * HOUR), "3 days 3 h");
  });
});
