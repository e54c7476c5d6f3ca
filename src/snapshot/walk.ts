/** Depth-first traversal of a snapshot's trees, in name order. */
import { argumentSpellings } from "./filename.js";
import type { Tree, TreeNode } from "./tree.js";

export interface WalkEntry {
  /** "/srv/share/file.txt" inside the snapshot */
  readonly path: string;
  readonly node: TreeNode;
}

export async function* walkTree(
  readTree: (id: string) => Promise<Tree>,
  treeId: string,
  base = "",
): AsyncGenerator<WalkEntry> {
  const tree = await readTree(treeId);
  for (const node of tree.nodes) {
    const path = `${base}/${node.name}`;
    yield { path, node };
    if (node.type === "dir" && node.subtree !== undefined)
      yield* walkTree(readTree, node.subtree, path);
  }
}

/** The node at an absolute snapshot path, or undefined. */
export async function findNode(
  readTree: (id: string) => Promise<Tree>,
  rootTree: string,
  path: string,
): Promise<TreeNode | undefined> {
  let treeId: string | undefined = rootTree;
  let node: TreeNode | undefined;
  for (const name of path.split("/").filter((part) => part !== "")) {
    if (treeId === undefined) return undefined;
    const tree: Tree = await readTree(treeId);
    node = tree.nodes.find((candidate) => candidate.name === name);
    if (!node) return undefined;
    treeId = node.type === "dir" ? node.subtree : undefined;
  }
  return node;
}

/**
 * The node a path typed on a command line names, and the path it was found under: the argument
 * as given, else what its \xNN escapes spell (argumentSpellings), since Node reads arguments as
 * UTF-8 and a name that is not UTF-8 can only be typed as ls shows it.
 */
export async function findArgumentPath(
  readTree: (id: string) => Promise<Tree>,
  rootTree: string,
  argument: string,
): Promise<WalkEntry | undefined> {
  for (const path of argumentSpellings(argument)) {
    const node = await findNode(readTree, rootTree, path);
    if (node !== undefined) return { path, node };
  }
  return undefined;
}
