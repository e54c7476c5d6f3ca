/**
 * What a delivery says, the same for every channel: the alert as `GET /v1/alerts` shows it, with
 * the delivery's id, which stays the same across retries and restarts (the receiver's
 * idempotency key), and its event: `raised`, or `resolved` for the notice the system sends when
 * the alert's condition cleared (a second delivery, with its own id, naming the same alert id).
 */
import type { DueDelivery } from "../../catalog/delivery.js";

const EVENT_NAMES = { raise: "raised", resolve: "resolved" } as const;

export function alertPayload(delivery: DueDelivery): Record<string, unknown> {
  const { alert } = delivery;
  return {
    delivery_id: delivery.id,
    event: EVENT_NAMES[delivery.event],
    alert: {
      id: alert.id,
      tenant_id: alert.tenantId,
      tenant: delivery.tenantName,
      agent_id: alert.agentId,
      hostname: delivery.hostname,
      snapshot_id: alert.snapshotId,
      kind: alert.kind,
      severity: alert.severity,
      message: alert.message,
      details: alert.details,
      created_at: alert.createdAt.toISOString(),
      resolved_by: alert.resolvedBy,
      resolved_at: alert.resolvedAt?.toISOString() ?? null,
      resolve_reason: alert.resolveReason,
    },
  };
}

export function alertSubject(delivery: DueDelivery): string {
  const { alert } = delivery;
  const host = delivery.hostname === null ? "" : ` on ${delivery.hostname}`;
  const label = delivery.event === "resolve" ? "resolved" : alert.severity;
  return `[Rempart ${label}] ${alert.kind} alert #${alert.id} for ${delivery.tenantName}${host}`;
}

export function alertText(delivery: DueDelivery): string {
  const { alert } = delivery;
  const resolution =
    delivery.event === "resolve"
      ? [`Resolved by the system at ${alert.resolvedAt?.toISOString()}: ${alert.resolveReason}`, ""]
      : [];
  return [
    ...resolution,
    alert.message,
    "",
    `tenant: ${delivery.tenantName}`,
    `host: ${delivery.hostname ?? "-"}`,
    `severity: ${alert.severity}`,
    `raised: ${alert.createdAt.toISOString()}`,
    `alert: #${alert.id} (rempart admin alerts --tenant ${delivery.tenantName})`,
    `delivery: ${delivery.id}`,
    "",
    JSON.stringify(alert.details, null, 2),
  ].join("\n");
}
