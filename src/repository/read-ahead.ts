/**
 * Reads a list of objects a few at a time ahead of the consumer, who still takes the answers one
 * by one in the list's order: through a server every read is a round trip, and a repository
 * opened after a year of daily backups reads hundreds of index and snapshot objects.
 */

/**
 * Yields each item with its read, started when the consumer reaches the item `depth - 1` places
 * before it; so at most `depth` answers are held at once. A failed read fails only when its own
 * promise is awaited (never as an unhandled rejection), so a caller handles each item's error in
 * turn, as it would reading them one after the other.
 */
export function* readAhead<T, R>(
  items: readonly T[],
  depth: number,
  read: (item: T) => Promise<R>,
): Generator<readonly [T, Promise<R>]> {
  const started = new Map<number, Promise<R>>();
  for (let i = 0; i < items.length; i++) {
    for (let j = i + started.size; j < Math.min(items.length, i + Math.max(1, depth)); j++) {
      const reading = read(items[j] as T);
      reading.catch(() => undefined);
      started.set(j, reading);
    }
    const reading = started.get(i) as Promise<R>;
    started.delete(i);
    yield [items[i] as T, reading];
  }
}
