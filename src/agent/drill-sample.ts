/**
 * Which files a restore drill restores: a uniform random sample of the snapshot's files, drawn
 * in one walk of its trees with memory bounded by `maxFiles` (reservoir sampling), then cut to
 * `percent` of the files and to `maxBytes`. Files that would pass the byte cap are skipped, so a
 * drill leans towards smaller files when the cap bites; it never restores none while the
 * snapshot has a file that fits.
 */
import type { Repository } from "../repository/repository.js";
import type { TreeNode } from "../snapshot/tree.js";

export interface SampledFile {
  /** the path inside the snapshot, as the restorer names it ("/srv/share/a.doc") */
  readonly path: string;
  readonly node: TreeNode;
}

export interface SampleLimits {
  readonly percent: number;
  readonly maxFiles: number;
  readonly maxBytes: number;
}

export interface Sample {
  /** the snapshot's files */
  readonly total: number;
  readonly files: readonly SampledFile[];
}

/** A uniform random integer in [0, n). */
export type Random = (n: number) => number;

/** Algorithm R: after `seen` items, each is in the reservoir with probability size/seen. */
export class Reservoir<T> {
  readonly items: T[] = [];
  seen = 0;

  constructor(
    private readonly size: number,
    private readonly random: Random,
  ) {}

  offer(item: T): void {
    this.seen += 1;
    if (this.items.length < this.size) this.items.push(item);
    else {
      const slot = this.random(this.seen);
      if (slot < this.size) this.items[slot] = item;
    }
  }
}

/** How many of `total` files a drill restores: `percent` of them, at least one, at most `maxFiles`. */
export function sampleSize(total: number, limits: SampleLimits): number {
  if (total === 0) return 0;
  return Math.min(limits.maxFiles, Math.max(1, Math.ceil((total * limits.percent) / 100)));
}

/** The reservoir's items in random order, the first `count` that fit in `maxBytes` together. */
export function chooseSample(
  reservoir: readonly SampledFile[],
  count: number,
  maxBytes: number,
  random: Random,
): SampledFile[] {
  const shuffled = [...reservoir];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = random(i + 1);
    [shuffled[i], shuffled[j]] = [shuffled[j] as SampledFile, shuffled[i] as SampledFile];
  }
  const chosen: SampledFile[] = [];
  let bytes = 0;
  for (const file of shuffled) {
    if (chosen.length === count) break;
    const size = file.node.size ?? 0;
    if (bytes + size > maxBytes) continue;
    chosen.push(file);
    bytes += size;
  }
  return chosen;
}

/** Walks the snapshot's trees from `root` and draws the sample. */
export async function sampleSnapshot(
  repo: Repository,
  root: string,
  limits: SampleLimits,
  random: Random,
): Promise<Sample> {
  const reservoir = new Reservoir<SampledFile>(limits.maxFiles, random);
  const walk = async (treeId: string, dir: string): Promise<void> => {
    const tree = await repo.readTree(treeId);
    for (const node of tree.nodes) {
      const path = `${dir}/${node.name}`;
      if (node.type === "dir" && node.subtree !== undefined) await walk(node.subtree, path);
      else if (node.type === "file") reservoir.offer({ path, node });
    }
  };
  await walk(root, "");
  const count = sampleSize(reservoir.seen, limits);
  return {
    total: reservoir.seen,
    files: chooseSample(reservoir.items, count, limits.maxBytes, random),
  };
}
