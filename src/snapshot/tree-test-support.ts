/** Tree nodes for tests: an empty regular file, with the fields a test cares about given. */
import type { TreeNode } from "./tree.js";

export function fileNode(name: string, extra: Partial<TreeNode> = {}): TreeNode {
  return {
    name,
    type: "file",
    mode: 0o644,
    uid: 0,
    gid: 0,
    mtimeMs: 1,
    atimeMs: 1,
    ctimeMs: 1,
    inode: 1,
    device: 1,
    links: 1,
    size: 0,
    content: [],
    ...extra,
  };
}
