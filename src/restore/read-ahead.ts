/**
 * Reads ahead of the restore workers: while they decode one pack, the next ones are already being
 * read (from disk, or downloaded from a server), several at once. Without it each worker waited
 * for its own read, so reading and decoding never overlapped, and through a server every pack
 * paid its round trips with the worker idle.
 *
 * What it may hold is bounded in bytes, not in reads: a read counts from the moment it starts
 * until its consumer releases it (once the worker is done with the buffer), so reads in flight,
 * reads waiting for a worker and buffers inside workers share one budget. A read larger than the
 * budget still runs, alone, so no pack is ever refused.
 */

/** A read's outcome, held until a consumer takes it: a failure is one pack's, not the restore's. */
export type ReadOutcome<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: unknown };

export interface ReadAheadItem<K, T> {
  readonly key: K;
  readonly outcome: ReadOutcome<T>;
  /** returns the item's bytes to the budget; call once its buffer is no longer held */
  readonly release: () => void;
}

export interface ReadAheadOptions<K, T> {
  /** in the order they are wanted */
  readonly keys: readonly K[];
  /** the bytes a read of this key will hold (an estimate is fine: it only paces reads) */
  readonly sizeOf: (key: K) => number;
  readonly read: (key: K) => Promise<T>;
  readonly budgetBytes: number;
  /** reads in flight at once, whatever the budget */
  readonly maxReads: number;
}

export class ReadAhead<K, T> {
  /** reads started that no consumer has taken yet, in key order */
  private readonly started: Promise<ReadAheadItem<K, T>>[] = [];
  /** consumers waiting for a read the budget does not allow yet */
  private readonly waiting: ((item: Promise<ReadAheadItem<K, T>> | undefined) => void)[] = [];
  /** every read not yet finished, so that a batch that fails can wait for them */
  private readonly running = new Set<Promise<ReadAheadItem<K, T>>>();
  private nextKey = 0;
  private reading = 0;
  private held = 0;
  private stopped = false;

  constructor(private readonly options: ReadAheadOptions<K, T>) {
    this.fill();
  }

  /** Bytes of the reads started and not yet released. */
  get heldBytes(): number {
    return this.held;
  }

  /** The next read in key order, once it is done; undefined when every key has been handed out. */
  async next(): Promise<ReadAheadItem<K, T> | undefined> {
    const ready = this.started.shift();
    if (ready) return ready;
    if (this.stopped || this.nextKey >= this.options.keys.length) return undefined;
    // Every byte of the budget is held by consumers: the next read starts when one releases.
    return new Promise<Promise<ReadAheadItem<K, T>> | undefined>((resolve) =>
      this.waiting.push(resolve),
    );
  }

  /** Starts no more reads: the ones running finish, and are released by whoever takes them. */
  stop(): void {
    this.stopped = true;
    for (const resolve of this.waiting.splice(0)) resolve(undefined);
  }

  /** Stops, and resolves once no read is running (none of them can fail). */
  async settle(): Promise<void> {
    this.stop();
    await Promise.all(this.running);
  }

  private fill(): void {
    const { keys, sizeOf, budgetBytes, maxReads } = this.options;
    while (!this.stopped && this.nextKey < keys.length && this.reading < maxReads) {
      const key = keys[this.nextKey] as K;
      const size = Math.max(0, sizeOf(key));
      if (this.held > 0 && this.held + size > budgetBytes) return;
      this.nextKey++;
      const read = this.start(key, size);
      this.running.add(read);
      void read.then(() => this.running.delete(read));
      const consumer = this.waiting.shift();
      if (consumer) consumer(read);
      else this.started.push(read);
    }
    if (this.nextKey >= keys.length)
      for (const resolve of this.waiting.splice(0)) resolve(undefined);
  }

  private async start(key: K, size: number): Promise<ReadAheadItem<K, T>> {
    this.held += size;
    this.reading++;
    let outcome: ReadOutcome<T>;
    try {
      outcome = { ok: true, value: await this.options.read(key) };
    } catch (error) {
      outcome = { ok: false, error };
    }
    this.reading--;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.held -= size;
      this.fill();
    };
    // A finished read frees a read slot even while its bytes are still held.
    this.fill();
    return { key, outcome, release };
  }
}
