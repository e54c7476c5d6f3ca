/** Alert delivery as `rempart server` configures and runs it. */
import type { Catalog } from "../../catalog/catalog.js";
import type { NewAlertDestination } from "../../catalog/delivery.js";
import { type SmtpOptions, smtpSender } from "./email.js";
import { type DeliveryLoop, startDeliveryLoop } from "./loop.js";
import type { RetryPolicy } from "./retry.js";

export interface AlertDeliveryOptions {
  /** Destinations for every tenant's alerts, from the server's flags (replace the last start's). */
  readonly destinations?: readonly NewAlertDestination[] | undefined;
  readonly smtp?: SmtpOptions | undefined;
  readonly retry?: RetryPolicy | undefined;
  readonly pollMs?: number | undefined;
}

/** Records the configured destinations (audited when they change), then starts the loop. */
export async function startAlertDelivery(
  catalog: Catalog,
  options: AlertDeliveryOptions,
  context: { now: () => Date; log: (line: string) => void; version: string },
): Promise<DeliveryLoop> {
  await catalog.setConfiguredDestinations(
    options.destinations ?? [],
    { actor: { kind: "system", id: "server-config" } },
    context.now(),
  );
  return startDeliveryLoop({
    catalog,
    now: context.now,
    log: context.log,
    userAgent: `rempart/${context.version}`,
    email: options.smtp === undefined ? null : smtpSender(options.smtp),
    retry: options.retry,
    pollMs: options.pollMs,
  });
}
