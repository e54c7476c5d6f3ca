/**
 * Each server start, in the audit log with the settings an attacker with shell access would most
 * like to change unnoticed: where it listens, whether admin actions over HTTP need TOTP, whether
 * the scheduled jobs (prune, GC, due deletions) and the metrics run, and where alerts go. A
 * restart that quietly turns off the second factor or empties the alert destinations shows.
 */
import type { Catalog } from "../../catalog/catalog.js";
import type { OperatorPolicy } from "../operators/policy.js";

export interface StartSettings {
  /** The address bound as given (`0.0.0.0`: every interface). */
  readonly host: string;
  /** As bound: the one the system picked for port 0. */
  readonly port: number;
  readonly version: string;
  readonly policy: OperatorPolicy;
  readonly jobs: boolean;
  readonly metrics: boolean;
  /** Whether alerts may go out by email (an SMTP relay is configured). */
  readonly smtp: boolean;
  /** The TLS certificate's SHA-256, and whether this start made a self-signed one. */
  readonly tlsFingerprint: string;
  readonly tlsGenerated: boolean;
}

export async function auditServerStart(
  catalog: Catalog,
  settings: StartSettings,
  now: Date,
): Promise<void> {
  const destinations = await catalog.listAlertDestinations({});
  const { policy } = settings;
  await catalog.appendAudit(
    {
      actor: { kind: "system", id: "server" },
      action: "server.start",
      tenantId: null,
      details: {
        listen_host: settings.host,
        listen_port: settings.port,
        version: settings.version,
        admin_needs_totp: policy.adminNeedsTotp,
        session_seconds: Math.round(policy.sessionMs / 1000),
        session_idle_seconds: Math.round(policy.sessionIdleMs / 1000),
        login_lockout_threshold: policy.userLockout.threshold,
        jobs: settings.jobs,
        metrics: settings.metrics,
        smtp: settings.smtp,
        alert_destinations: destinations.length,
        alert_destinations_all_tenants: destinations.filter((d) => d.tenantId === null).length,
        tls_fingerprint: settings.tlsFingerprint,
        tls_generated: settings.tlsGenerated,
      },
    },
    now,
  );
}
