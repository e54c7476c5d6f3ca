/**
 * Full collections at moments a restore chooses, once a thread's heap has grown by a budget since
 * the last one.
 *
 * A restore's main thread promotes each batch's plan (tree nodes, locations, placements) to the
 * old generation, where it dies within a batch or two: ~130 MB of such garbage over the benchmark
 * restore. Left to V8 (with `--heap-growing-percent=20`), that set off ~20-26 incremental full
 * collections; under the launcher's 64 MB floor (bin/rempart) only ~3, but every thread's old
 * generation then grew to the floor before one ran: the main heap to ~60 MB and each worker's by
 * ~10 MB. A collection called here is atomic (no incremental marking, no write barriers slowing
 * the code meanwhile) and keeps each heap within its budget of its live size.
 */
import { getHeapStatistics } from "node:v8";
import { collectGarbage } from "../backup/collect-garbage.js";

function heapUsed(): number {
  return getHeapStatistics().used_heap_size;
}

export class HeapBudget {
  private baseline = heapUsed();

  constructor(private readonly growthBytes: number) {}

  /** After a unit of work: collects in full once the heap grew by the budget since the last. */
  settle(): void {
    if (heapUsed() - this.baseline < this.growthBytes) return;
    collectGarbage("major");
    this.baseline = heapUsed();
  }
}
