/**
 * A shared allowance (bytes of upload buffers, concurrent password hashes) that requests take
 * from and give back. A request that does not fit waits its turn, first come first served; while
 * an upload waits, its body stays in the client's socket, so TCP slows the sender down.
 */
export class Budget {
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

  /** Takes `amount`, runs work, and gives it back however work ends. */
  async with<T>(amount: number, work: () => Promise<T>): Promise<T> {
    const release = await this.acquire(amount);
    try {
      return await work();
    } finally {
      release();
    }
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
