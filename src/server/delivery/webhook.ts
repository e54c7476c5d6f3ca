/**
 * Webhook delivery: the alert as JSON, POSTed to the destination's URL, signed so the receiver
 * knows it comes from this server and was not replayed.
 *
 * `X-Rempart-Signature: sha256=<hex HMAC-SHA256 under the destination's secret of
 * "<timestamp>.<body>">`, `X-Rempart-Timestamp: <unix seconds>`: the receiver recomputes the MAC
 * and refuses a timestamp far from its clock, so a captured request cannot be replayed later.
 * `Idempotency-Key: <delivery id>` is the same on every attempt of one delivery, across restarts:
 * delivery is at least once, and a receiver drops a key it has already handled.
 *
 * Redirects are not followed: the server sends only where an operator pointed it.
 */
import { createHmac } from "node:crypto";
import type { DueDelivery } from "../../catalog/delivery.js";
import { alertPayload } from "./message.js";

/** A receiver that has not answered in this long is treated as down; the attempt is retried. */
const WEBHOOK_TIMEOUT_MS = 15_000;

export const SIGNATURE_HEADER = "x-rempart-signature";
export const TIMESTAMP_HEADER = "x-rempart-timestamp";
export const IDEMPOTENCY_HEADER = "idempotency-key";

/** The signature header's value for `body` sent at `timestamp` (unix seconds). */
export function webhookSignature(secret: string, timestamp: number, body: string): string {
  const mac = createHmac("sha256", secret).update(`${timestamp}.${body}`, "utf8").digest("hex");
  return `sha256=${mac}`;
}

/** Sends one delivery; throws with a sentence for the delivery listing when it is not taken. */
export async function sendWebhook(
  delivery: DueDelivery,
  now: Date,
  userAgent: string,
  stop: AbortSignal,
): Promise<void> {
  if (delivery.secret === null) throw new Error("the webhook has no secret");
  const body = JSON.stringify(alertPayload(delivery));
  const timestamp = Math.floor(now.getTime() / 1000);
  let response: Response;
  try {
    response = await fetch(delivery.target, {
      method: "POST",
      redirect: "manual",
      signal: AbortSignal.any([stop, AbortSignal.timeout(WEBHOOK_TIMEOUT_MS)]),
      headers: {
        "content-type": "application/json",
        "user-agent": userAgent,
        [SIGNATURE_HEADER]: webhookSignature(delivery.secret, timestamp, body),
        [TIMESTAMP_HEADER]: String(timestamp),
        [IDEMPOTENCY_HEADER]: String(delivery.id),
      },
      body,
    });
  } catch (error) {
    const cause = (error as { cause?: { message?: string } }).cause?.message;
    throw new Error(`${delivery.target}: ${cause ?? (error as Error).message}`);
  }
  // The body is not read, but must be consumed or cancelled to free the connection.
  await response.body?.cancel();
  if (response.status < 200 || response.status > 299)
    throw new Error(`${delivery.target} answered HTTP ${response.status}`);
}
