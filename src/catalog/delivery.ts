/**
 * Alert delivery: where alerts go (destinations, per tenant or for every tenant) and the outbox,
 * one delivery per alert and destination, written in the alert's own transaction by `raiseAlert`
 * so that no alert is raised without its deliveries, whatever code path raised it; and, written
 * by `resolveAlert`, one "resolved" notice to each destination the raise went to that is still in
 * force (a destination added later never heard of the alert). The server's
 * delivery loop (src/server/delivery/) takes the due ones and records each attempt here.
 */
import { RempartError } from "../errors.js";
import type { Alert } from "./alerts.js";
import type { AuditNote } from "./audit.js";

export const DESTINATION_KINDS = ["webhook", "email"] as const;
export type DestinationKind = (typeof DESTINATION_KINDS)[number];

/** `admin`: added by an operator; `config`: from `rempart server` flags, replaced at each start. */
export type DestinationOrigin = "admin" | "config";

/** A destination as anyone may see it: never its secret. */
export interface AlertDestination {
  readonly id: string;
  /** null: alerts of every tenant. */
  readonly tenantId: string | null;
  readonly kind: DestinationKind;
  /** The webhook's URL or the email address. */
  readonly target: string;
  readonly origin: DestinationOrigin;
  readonly createdAt: Date;
  readonly removedAt: Date | null;
}

export interface NewAlertDestination {
  readonly tenantId: string | null;
  readonly kind: DestinationKind;
  readonly target: string;
  /** The webhook's HMAC key; null for email. */
  readonly secret: string | null;
}

export type DeliveryState = "pending" | "delivered" | "failed";

/** What a delivery tells: the alert was raised, or (a second delivery) the system resolved it. */
export type DeliveryEvent = "raise" | "resolve";

export interface Delivery {
  /** Increasing, never reused: with the alert id, the receiver's idempotency key. */
  readonly id: number;
  readonly alertId: number;
  readonly tenantId: string;
  readonly destinationId: string;
  readonly kind: DestinationKind;
  readonly target: string;
  readonly event: DeliveryEvent;
  readonly createdAt: Date;
  readonly state: DeliveryState;
  readonly attempts: number;
  /** When a pending delivery is next tried; null once delivered or failed. */
  readonly nextAttemptAt: Date | null;
  readonly lastError: string | null;
  readonly deliveredAt: Date | null;
  readonly failedAt: Date | null;
}

/** What the delivery loop needs to send one: the alert, names for it, and the secret. */
export interface DueDelivery extends Delivery {
  readonly alert: Alert;
  readonly tenantName: string;
  readonly hostname: string | null;
  readonly secret: string | null;
}

/** How an attempt ended. */
export type DeliveryOutcome =
  | { readonly state: "delivered" }
  | { readonly state: "retry"; readonly error: string; readonly retryAt: Date }
  | { readonly state: "failed"; readonly error: string };

export interface DeliveryQuery {
  readonly tenantId?: string;
  readonly state?: DeliveryState;
  readonly limit: number;
}

export interface DeliveryCatalog {
  /**
   * Adds a destination for the tenant's alerts (every tenant's with `tenantId` null), audited as
   * `alert.destination.add` without its secret. From then on every alert raised for it gets a
   * delivery. `NotFound` for an unknown tenant; `InvalidArgument` for a URL that is not http(s)
   * or holds credentials, a malformed address, or a secret missing, empty or given for email.
   */
  addAlertDestination(
    destination: NewAlertDestination,
    audit: AuditNote,
    now: Date,
  ): Promise<AlertDestination>;
  /**
   * Removes a destination (kept as history), audited as `alert.destination.remove`; its pending
   * deliveries end failed. `NotFound` for an unknown or already removed one.
   */
  removeAlertDestination(id: string, audit: AuditNote, now: Date): Promise<AlertDestination>;
  /** Destinations in force, oldest first; with a tenant, its own and every tenant's. */
  listAlertDestinations(query: { readonly tenantId?: string }): Promise<AlertDestination[]>;
  /**
   * Makes the `config` destinations exactly these (every tenant's), adding and removing as
   * needed, each change audited; one transaction.
   */
  setConfiguredDestinations(
    destinations: readonly NewAlertDestination[],
    audit: AuditNote,
    now: Date,
  ): Promise<void>;
  /** Pending deliveries due at `now`, oldest first. */
  dueDeliveries(now: Date, limit: number): Promise<DueDelivery[]>;
  /**
   * Records an attempt's outcome on a pending delivery. `NotFound` for an unknown delivery;
   * `ObjectConflict` (reason `delivery-final`) for one already delivered or failed.
   */
  recordDeliveryAttempt(id: number, outcome: DeliveryOutcome, now: Date): Promise<Delivery>;
  /** Newest first. */
  listDeliveries(query: DeliveryQuery): Promise<Delivery[]>;
}

const MAX_TARGET_LENGTH = 2000;
const MAX_SECRET_LENGTH = 1024;
// Deliberately loose: one @, no spaces or control characters; the SMTP server has the last word.
const EMAIL_ADDRESS =
  /^[^\s@<>()",;:\\[\]\p{Cc}]+@[^\s@<>()",;:\\[\]\p{Cc}]+\.[^\s@<>()",;:\\[\]\p{Cc}]+$/u;

function invalid(message: string, field: string): never {
  throw new RempartError("InvalidArgument", message, { field });
}

/**
 * A destination as the catalog stores it. Webhooks must be http(s) (no file:, no gopher:, nothing
 * a URL library would open), with no credentials in the URL, which listings show.
 */
export function checkDestination(destination: NewAlertDestination): NewAlertDestination {
  const { kind, target, secret } = destination;
  if (target.length === 0 || target.length > MAX_TARGET_LENGTH)
    invalid(`a destination is 1 to ${MAX_TARGET_LENGTH} characters`, "target");
  if (kind === "webhook") {
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      return invalid(`${JSON.stringify(target)} is not a URL`, "target");
    }
    if (url.protocol !== "https:" && url.protocol !== "http:")
      invalid(`a webhook must be an http or https URL, not ${url.protocol}`, "target");
    if (url.username !== "" || url.password !== "")
      invalid("a webhook URL may not hold credentials: the secret signs each request", "target");
    if (secret === null || secret.length === 0 || secret.length > MAX_SECRET_LENGTH)
      invalid(`a webhook needs a secret of 1 to ${MAX_SECRET_LENGTH} characters`, "secret");
    return { ...destination, target: url.href };
  }
  if (kind === "email") {
    if (!EMAIL_ADDRESS.test(target))
      invalid(`${JSON.stringify(target)} is not an email address`, "target");
    if (secret !== null) invalid("an email destination has no secret", "secret");
    return destination;
  }
  return invalid(`unknown destination kind ${JSON.stringify(kind)}`, "kind");
}
