/**
 * Audit entries of refusals someone can repeat at will (a leftover agent calling in, an operator
 * trying a route above their role, logins against a locked username): the first of a key is
 * appended at once, then at most one per `everyMs`, carrying in `refused_since_last` how many
 * refusals it stands for (itself and those not audited since the previous entry). So a loop
 * cannot flood the log, and the log still says how many there were.
 */
import type { AuditCatalog, NewAuditEntry } from "../../catalog/audit.js";
import { RateLimiter } from "../rate-limit.js";

/** Keys whose unaudited count is kept at most; the oldest is forgotten beyond (a flood of keys). */
const MAX_PENDING_KEYS = 10_000;

export class ThrottledAudit {
  private readonly limiter: RateLimiter;
  private readonly unaudited = new Map<string, number>();

  constructor(
    private readonly catalog: AuditCatalog,
    everyMs: number,
  ) {
    this.limiter = new RateLimiter({ burst: 1, intervalMs: everyMs });
  }

  /** Appends `entry` unless the entries of `key` are being throttled; true when it did. */
  async append(key: string, entry: NewAuditEntry, now: Date): Promise<boolean> {
    const refused = (this.unaudited.get(key) ?? 0) + 1;
    this.unaudited.delete(key);
    if (!this.limiter.take(key, now.getTime()).allowed) {
      this.unaudited.set(key, refused);
      if (this.unaudited.size > MAX_PENDING_KEYS) {
        const oldest = this.unaudited.keys().next().value;
        if (oldest !== undefined) this.unaudited.delete(oldest);
      }
      return false;
    }
    await this.catalog.appendAudit(
      { ...entry, details: { ...entry.details, refused_since_last: refused } },
      now,
    );
    return true;
  }
}
