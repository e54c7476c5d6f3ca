import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { DueDelivery } from "../../catalog/delivery.js";
import { alertPayload, alertSubject, alertText } from "./message.js";

const RAISED = new Date("2026-12-01T02:00:00Z");
const RESOLVED = new Date("2026-12-01T09:15:00Z");

function delivery(event: DueDelivery["event"]): DueDelivery {
  const resolved = event === "resolve";
  return {
    id: 12,
    alertId: 5,
    tenantId: "t1",
    destinationId: "d1",
    kind: "email",
    target: "oncall@msp.example",
    event,
    createdAt: RESOLVED,
    state: "pending",
    attempts: 0,
    nextAttemptAt: RESOLVED,
    lastError: null,
    deliveredAt: null,
    failedAt: null,
    tenantName: "acme",
    hostname: "pc",
    secret: null,
    alert: {
      id: 5,
      tenantId: "t1",
      agentId: "a1",
      snapshotId: null,
      kind: "backup-stale",
      severity: "warning",
      message: "The last successful backup of pc (tenant acme) is 30 h old, past its RPO of 24 h.",
      details: {},
      createdAt: RAISED,
      acknowledgedBy: null,
      acknowledgedAt: null,
      acknowledgeReason: null,
      resolvedBy: resolved ? "system" : null,
      resolvedAt: resolved ? RESOLVED : null,
      resolveReason: resolved ? "a backup of pc was committed at 09:10" : null,
    },
  };
}

describe("delivery messages", () => {
  it("says resolved, when and why in a resolved notice, and raised in the alert's own", () => {
    assert.equal(
      alertSubject(delivery("raise")),
      "[Rempart warning] backup-stale alert #5 for acme on pc",
    );
    assert.equal(
      alertSubject(delivery("resolve")),
      "[Rempart resolved] backup-stale alert #5 for acme on pc",
    );
    assert.match(
      alertText(delivery("resolve")),
      /^Resolved by the system at 2026-12-01T09:15:00.000Z: a backup of pc was committed at 09:10\n\nThe last successful backup of pc/,
    );
    assert.match(alertText(delivery("raise")), /^The last successful backup of pc/);
    const payload = alertPayload(delivery("resolve"));
    assert.equal(payload.event, "resolved");
    assert.equal(alertPayload(delivery("raise")).event, "raised");
    assert.deepEqual(
      [payload.delivery_id, (payload.alert as Record<string, unknown>).resolved_by],
      [12, "system"],
    );
  });
});
