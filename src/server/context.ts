/** What every route handler may use: the catalog, the tenants' stores, the clock and the limits. */
import type { Catalog } from "../catalog/catalog.js";
import type { TenantStoreSet } from "../storage/tenant-store-set.js";
import type { AgentWatch } from "./agents/watch.js";
import type { Allowance, Budget } from "./budget.js";
import type { ServerMetrics } from "./metrics/metrics.js";
import type { ScrapeTokenDigest } from "./metrics/scrape-token.js";
import type { OperatorSecurity } from "./operators/policy.js";
import type { DiskReserve } from "./quota.js";
import type { CommitRateLimit } from "./rate-limit.js";

export interface ServerContext {
  readonly catalog: Catalog;
  readonly stores: TenantStoreSet;
  /** The server's clock: receipt times, expiry. Tests drive it. */
  readonly now: () => Date;
  readonly log: (line: string) => void;
  readonly version: string;
  /**
   * Bytes of upload bodies held in memory at once. An agent route's handler gets its own
   * tenant's share (`TenantBudgets`); any other caller is refused.
   */
  readonly uploadMemory: Allowance;
  /** Operator logins: session lifetimes, lockout, TOTP and the key sealing TOTP secrets. */
  readonly operatorSecurity: OperatorSecurity;
  /** scrypt runs at once (32 MiB and a CPU core each): a login flood queues rather than swaps. */
  readonly passwordHashing: Budget;
  /** Snapshot commits per agent. */
  readonly commitRate: CommitRateLimit;
  /** One commit records itself in the catalog at a time (a budget of 1). */
  readonly commitRecording: Budget;
  /** Agents' check-ins, leftover agents and misuse (agents/watch.ts). */
  readonly agentWatch: AgentWatch;
  /** Bytes of uploads in flight per tenant, counted against its quota with what is stored. */
  readonly uploadingBytes: Map<string, number>;
  /** Quota of tenants created without one; null: unlimited. Default `DEFAULT_TENANT_QUOTA`. */
  readonly defaultQuotaBytes?: number | null;
  /** Free disk space agent uploads may not eat into. Default `DEFAULT_DISK_RESERVE`. */
  readonly diskReserve?: DiskReserve;
  /** `GET /metrics` and its scrape token; absent: the server serves no metrics. */
  readonly metrics?: { readonly metrics: ServerMetrics; readonly tokenDigest: ScrapeTokenDigest };
}
