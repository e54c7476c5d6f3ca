/** What one run of a server job did, for the log, the audit log and the metrics. */
export interface JobOutcome {
  /** One line for the log: `2 snapshot(s) removed in 3 tenant(s)`. */
  readonly summary: string;
  /** Facts in snake_case (`freed_bytes`, `snapshots_removed`…), audited and exported as metrics. */
  readonly counts: Readonly<Record<string, number>>;
  /** One sentence per tenant that failed; the other tenants were still worked on. */
  readonly failures: readonly string[];
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
