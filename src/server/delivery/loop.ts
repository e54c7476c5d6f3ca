/**
 * The delivery loop inside `rempart server`: every poll it takes the due deliveries from the
 * catalog's outbox, sends each to its destination, and records the outcome (delivered, retry at a
 * later time, or failed for good). The outbox is the only state: a server killed mid-send finds
 * the delivery still pending at restart and sends it again with the same idempotency key, so
 * delivery is at least once per destination, never lost (docs/SERVER.md).
 */
import type { Catalog } from "../../catalog/catalog.js";
import type { DueDelivery } from "../../catalog/delivery.js";
import type { EmailSender } from "./email.js";
import { DEFAULT_RETRY_POLICY, type RetryPolicy, retryDelayMs } from "./retry.js";
import { sendWebhook } from "./webhook.js";

/** Deliveries taken per poll, and sent at once. */
const BATCH = 20;
export const DEFAULT_POLL_MS = 2000;

export interface DeliveryLoopOptions {
  readonly catalog: Catalog;
  readonly now: () => Date;
  readonly log: (line: string) => void;
  readonly userAgent: string;
  /** null: no SMTP relay configured, email deliveries fail with a sentence saying so. */
  readonly email: EmailSender | null;
  readonly retry?: RetryPolicy | undefined;
  readonly pollMs?: number | undefined;
  /** In [0, 1); default Math.random. */
  readonly random?: (() => number) | undefined;
}

export interface DeliveryLoop {
  /** Stops polling and waits for the deliveries in flight to be recorded. */
  stop(): Promise<void>;
}

export function startDeliveryLoop(options: DeliveryLoopOptions): DeliveryLoop {
  const retry = options.retry ?? DEFAULT_RETRY_POLICY;
  const random = options.random ?? Math.random;
  let pass: Promise<void> = Promise.resolve();
  // Cuts webhook requests in flight when the server stops: they stay pending, untouched, and go
  // again after the restart with the same key, rather than holding the shutdown for 15 s.
  const stopping = new AbortController();

  const send = async (delivery: DueDelivery): Promise<void> => {
    if (delivery.kind === "webhook")
      return sendWebhook(delivery, options.now(), options.userAgent, stopping.signal);
    if (options.email === null)
      throw new Error("no SMTP relay is configured (rempart server --smtp-host …)");
    return options.email(delivery);
  };

  const deliver = async (delivery: DueDelivery): Promise<void> => {
    try {
      await send(delivery);
      await options.catalog.recordDeliveryAttempt(
        delivery.id,
        { state: "delivered" },
        options.now(),
      );
    } catch (error) {
      if (stopping.signal.aborted) return;
      const message = (error as Error).message;
      const attempts = delivery.attempts + 1;
      const delay = retryDelayMs(attempts, random(), retry);
      const now = options.now();
      const outcome =
        delay === null
          ? ({ state: "failed", error: message } as const)
          : ({ state: "retry", error: message, retryAt: new Date(now.getTime() + delay) } as const);
      await options.catalog.recordDeliveryAttempt(delivery.id, outcome, now);
      options.log(
        delay === null
          ? `alert ${delivery.alertId} to ${delivery.target}: gave up after ${attempts} attempts: ${message}`
          : `alert ${delivery.alertId} to ${delivery.target}: attempt ${attempts} failed (${message}), retrying`,
      );
    }
  };

  const runPass = async (): Promise<void> => {
    try {
      for (;;) {
        const due = await options.catalog.dueDeliveries(options.now(), BATCH);
        await Promise.all(due.map(deliver));
        if (due.length < BATCH || stopping.signal.aborted) return;
      }
    } catch (error) {
      options.log(`alert delivery: ${(error as Error).message}`);
    }
  };

  // One pass at a time: a slow receiver delays the next poll rather than doubling a send.
  let queued = false;
  const poll = () => {
    if (queued) return;
    queued = true;
    pass = pass.then(() => {
      queued = false;
      return runPass();
    });
  };
  poll();
  const timer = setInterval(poll, options.pollMs ?? DEFAULT_POLL_MS);
  return {
    async stop() {
      stopping.abort();
      clearInterval(timer);
      await pass;
    },
  };
}
