/**
 * The detection signals of one snapshot against any other, from the repository alone (`rempart
 * diff A B`): the same ChangeDetector a backup feeds as it reads files, fed here with the trees of
 * both snapshots and the content of B's new and changed files read back from the repository. Only
 * the counts come from here; the verdict, score and reasons stay the ones B's backup sealed
 * (score.ts is the one scoring path, and its baseline was that backup's history).
 *
 * A snapshot's content ids are keyed hashes of its plaintext, so equal ids mean equal content and
 * those files cost nothing; a new or changed file is read whole (its blobs decrypted in order), as
 * the backup read it.
 */
import type { Tree, TreeNode } from "../snapshot/tree.js";
import { ChangeDetector } from "./detector.js";
import { Sampler } from "./sample.js";
import type { DetectionSignals } from "./summary.js";

/** What comparing needs of a repository. */
export interface SnapshotContent {
  readTree(id: string): Promise<Tree>;
  readBlob(id: string): Promise<Uint8Array>;
}

/** Signals of the tree `after` against the tree `before` (root tree ids). */
export async function compareTrees(
  repo: SnapshotContent,
  before: string,
  after: string,
): Promise<DetectionSignals> {
  const detector = new ChangeDetector({ hasParent: true, readTree: (id) => repo.readTree(id) });
  const files = await visit(repo, detector, "", before, after);
  return detector.finish(files);
}

/** Reports one directory's files, its subdirectories first, then the directory; counts files. */
async function visit(
  repo: SnapshotContent,
  detector: ChangeDetector,
  path: string,
  beforeTree: string | undefined,
  afterTree: string,
): Promise<number> {
  const before = new Map<string, TreeNode>();
  if (beforeTree !== undefined)
    for (const node of (await repo.readTree(beforeTree)).nodes) before.set(node.name, node);
  const present = new Set<string>();
  let files = 0;
  for (const node of (await repo.readTree(afterTree)).nodes) {
    present.add(node.name);
    const previous = before.get(node.name);
    if (node.type === "dir" && node.subtree !== undefined)
      files += await visit(
        repo,
        detector,
        `${path}/${node.name}`,
        previous?.type === "dir" ? previous.subtree : undefined,
        node.subtree,
      );
    if (node.type !== "file") continue;
    files++;
    const content = node.content ?? [];
    if (previous?.type === "file" && sameContent(previous, node)) continue;
    const sampler = new Sampler(node.size ?? 0);
    for (const id of content) sampler.take(await repo.readBlob(id));
    detector.file(
      path || "/",
      node.name,
      previous?.type === "file" ? "changed" : "new",
      sampler.sample(),
      content,
    );
  }
  await detector.directory(path || "/", before, present);
  return files;
}

function sameContent(a: TreeNode, b: TreeNode): boolean {
  const x = a.content ?? [];
  const y = b.content ?? [];
  return a.size === b.size && x.length === y.length && x.every((id, i) => id === y[i]);
}
