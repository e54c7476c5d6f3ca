/**
 * Allowances that requests take from and give back: bytes of request bodies held in memory,
 * concurrent password hashes. A request that does not fit waits its turn, first come first served;
 * while an upload waits, its body stays in the client's socket, so TCP slows the sender down.
 *
 * Upload memory is split by tenant (`TenantBudgets`): a tenant first takes from its own budget,
 * then from the server's. Whatever one tenant holds or queues for (a stolen credential stalling
 * five 64 MiB uploads, say) is bounded by its own budget, which is at most half the server's, so
 * another tenant always finds room and is never queued behind it.
 */

/** Something a request takes an amount from and gives it back to, however it ends. */
export interface Allowance {
  /** Resolves with a release function once `amount` is granted. */
  acquire(amount: number): Promise<() => void>;
  /** Takes `amount`, runs work, and gives it back however work ends. */
  with<T>(amount: number, work: () => Promise<T>): Promise<T>;
}

/** How much of a budget is taken, and by how many it is awaited. */
export interface BudgetUse {
  readonly capacity: number;
  readonly inUse: number;
  readonly waiting: number;
}

async function holding<T>(release: () => void, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } finally {
    release();
  }
}

// Hand-written, not async-mutex's Semaphore: it would still need this wrapper to refuse more than
// the capacity (it waits forever), to take 0, and to count waiters for load() and idleness.
export class Budget implements Allowance {
  readonly capacity: number;
  private available: number;
  private readonly waiting: { amount: number; grant: () => void }[] = [];

  constructor(capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1)
      throw new RangeError(`a budget needs a positive whole capacity, not ${capacity}`);
    this.capacity = capacity;
    this.available = capacity;
  }

  /** Resolves with a release function once `amount` is free; more than the capacity is refused. */
  acquire(amount: number): Promise<() => void> {
    if (!Number.isSafeInteger(amount) || amount < 0 || amount > this.capacity)
      return Promise.reject(
        new RangeError(`cannot take ${amount} of a budget of ${this.capacity}`),
      );
    return new Promise((resolve) => {
      this.waiting.push({ amount, grant: () => resolve(this.releaser(amount)) });
      this.grantWaiting();
    });
  }

  async with<T>(amount: number, work: () => Promise<T>): Promise<T> {
    return holding(await this.acquire(amount), work);
  }

  use(): BudgetUse {
    return {
      capacity: this.capacity,
      inUse: this.capacity - this.available,
      waiting: this.waiting.length,
    };
  }

  /** Nothing taken, nobody waiting: the budget can be forgotten and made again. */
  get idle(): boolean {
    return this.available === this.capacity && this.waiting.length === 0;
  }

  private releaser(amount: number): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.available += amount;
      this.grantWaiting();
    };
  }

  private grantWaiting(): void {
    // In order: a large request is not starved by a stream of small ones overtaking it.
    for (
      let next = this.waiting[0];
      next && next.amount <= this.available;
      next = this.waiting[0]
    ) {
      this.waiting.shift();
      this.available -= next.amount;
      next.grant();
    }
  }
}

/**
 * One budget per tenant, each taken before a share of one server-wide budget. The tenant's is
 * taken first: a request waiting for its own tenant's budget holds nothing of the server's, so
 * what one tenant holds or waits for in the server's budget is at most its own capacity.
 */
export class TenantBudgets {
  readonly server: Budget;
  readonly perTenant: number;
  /** Only tenants with something taken or awaited: an idle budget is forgotten. */
  private readonly tenants = new Map<string, Budget>();

  constructor(serverCapacity: number, perTenant: number) {
    this.server = new Budget(serverCapacity);
    if (!Number.isSafeInteger(perTenant) || perTenant < 1 || perTenant * 2 > serverCapacity)
      throw new RangeError(
        `a tenant's budget (${perTenant}) must be positive and at most half the server's (${serverCapacity})`,
      );
    this.perTenant = perTenant;
  }

  /** The allowance of one tenant's requests. */
  of(tenantId: string): Allowance {
    const acquire = (amount: number) => this.acquire(tenantId, amount);
    return {
      acquire,
      with: async (amount, work) => holding(await acquire(amount), work),
    };
  }

  /** What each tenant with uploads in progress or waiting holds. */
  use(): Record<string, BudgetUse> {
    return Object.fromEntries([...this.tenants].map(([id, budget]) => [id, budget.use()]));
  }

  private async acquire(tenantId: string, amount: number): Promise<() => void> {
    let own = this.tenants.get(tenantId);
    if (own === undefined) {
      own = new Budget(this.perTenant);
      this.tenants.set(tenantId, own);
    }
    const tenant = own;
    const forget = () => {
      if (tenant.idle && this.tenants.get(tenantId) === tenant) this.tenants.delete(tenantId);
    };
    let releaseTenant: () => void;
    try {
      releaseTenant = await tenant.acquire(amount);
    } catch (error) {
      forget();
      throw error;
    }
    let releaseServer: () => void;
    try {
      releaseServer = await this.server.acquire(amount);
    } catch (error) {
      releaseTenant();
      forget();
      throw error;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      releaseServer();
      releaseTenant();
      forget();
    };
  }
}
