/**
 * Tree blobs: one per directory, listing its entries; a listing too large for one blob (hundreds of
 * thousands of entries) is split into pieces, each naming the next. Trees are untrusted input at restore time
 * (anyone who can write storage can forge one), so decoding validates every name and field.
 * Names and link targets are bytes, held as decoded strings (filename.ts); a tree may only hold
 * the one canonical spelling of each, so that two entries never name one file.
 */
import { RempartError } from "../errors.js";
import { isCanonicalName, nameByteLength } from "./filename.js";

export type NodeType = "file" | "dir" | "symlink" | "fifo" | "socket" | "chardev" | "blockdev";

export interface Xattr {
  readonly name: string;
  /** base64 of the raw value */
  readonly value: string;
}

export interface TreeNode {
  /**
   * one path component, its bytes decoded (filename.ts): never empty, ".", "..", nor containing
   * "/" or NUL, at most 255 bytes
   */
  readonly name: string;
  readonly type: NodeType;
  /** permission bits, including setuid, setgid and sticky (mode & 0o7777) */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** milliseconds since the epoch, with the sub-millisecond fraction the kernel gave */
  readonly mtimeMs: number;
  readonly atimeMs: number;
  readonly ctimeMs: number;
  readonly inode: number;
  readonly device: number;
  readonly links: number;
  /** file: byte length */
  readonly size?: number;
  /** file: hex ids of its data blobs, in order */
  readonly content?: readonly string[];
  /** dir: hex id of its tree blob */
  readonly subtree?: string;
  /** symlink: the link target, its bytes decoded like names (filename.ts) */
  readonly target?: string;
  /** chardev, blockdev: the device number */
  readonly rdev?: number;
  readonly xattrs?: readonly Xattr[];
}

/** A directory's listing as read: all its entries, whatever number of blobs held them. */
export interface Tree {
  /** sorted by decoded name (UTF-16 code unit order, as Array.prototype.sort), names unique */
  readonly nodes: readonly TreeNode[];
  /** ids of the blobs after the first that hold the listing, when it was split */
  readonly continuations?: readonly string[];
}

/** One tree blob as decoded: a whole listing, or one piece of a split one and the next's id. */
export interface TreeBlob {
  readonly nodes: readonly TreeNode[];
  /** whether the blob is a piece of a split listing */
  readonly piece: boolean;
  readonly next?: string;
}

/**
 * Above this many bytes a listing is split into pieces of about this size. A blob's plaintext is
 * bounded (MAX_BLOB_PLAINTEXT, what a reader allocates on an index's word) and so is an object
 * the server accepts (64 MiB, a pack): one blob per directory made a directory of ~200,000
 * entries unstorable through the server and one of ~800,000 unreadable, after a backup that said
 * it was saved. Pieces also keep the encoding's strings far below V8's string limit (~512 MiB).
 */
export const TREE_PIECE_BYTES = 4 * 1024 * 1024;
/** Listings past this many entries are split without being encoded whole first. */
const WHOLE_LISTING_MAX_NODES = 50_000;

const NODE_TYPES: ReadonlySet<string> = new Set([
  "file",
  "dir",
  "symlink",
  "fifo",
  "socket",
  "chardev",
  "blockdev",
]);
const HEX_ID = /^[0-9a-f]{64}$/;
/** NAME_MAX: what every Linux filesystem allows in one component. */
const MAX_NAME_BYTES = 255;
/** PATH_MAX less its NUL: readlink(2) never returns more. */
const MAX_TARGET_BYTES = 4095;

export function isSafeName(name: unknown): name is string {
  return (
    typeof name === "string" &&
    name.length > 0 &&
    name !== "." &&
    name !== ".." &&
    !name.includes("/") &&
    !name.includes("\0") &&
    isCanonicalName(name) &&
    nameByteLength(name) <= MAX_NAME_BYTES
  );
}

function isSafeTarget(target: unknown): target is string {
  return (
    typeof target === "string" &&
    !target.includes("\0") &&
    isCanonicalName(target) &&
    nameByteLength(target) <= MAX_TARGET_BYTES
  );
}

/**
 * `dir/name` for a single, safe name. Not path.join: it rebuilds every path segment by segment,
 * and for the 52k entries of a restore those pieces were a third of the heap; a concatenation
 * shares the parent's string.
 */
export function childPath(dir: string, name: string): string {
  return dir.endsWith("/") ? `${dir}${name}` : `${dir}/${name}`;
}

export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Whether two nodes say the same, field by field: every field of either (content ids and xattrs
 * in order), whatever order the fields were written in. A backup whose directory holds only
 * nodes equal to its parent snapshot's keeps the parent's tree blob rather than storing a new one.
 */
export function sameNode(a: TreeNode, b: TreeNode): boolean {
  return a === b || sameFields(a, b);
}

/** Equality of JSON values (what a node holds: strings, numbers, arrays, plain objects). */
function sameValue(x: unknown, y: unknown): boolean {
  if (x === y) return true;
  if (typeof x !== "object" || typeof y !== "object" || x === null || y === null) return false;
  if (Array.isArray(x) !== Array.isArray(y)) return false;
  return Array.isArray(x) ? sameItems(x, y as unknown[]) : sameFields(x, y);
}

function sameItems(x: readonly unknown[], y: readonly unknown[]): boolean {
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (!sameValue(x[i], y[i])) return false;
  return true;
}

function sameFields(a: object, b: object): boolean {
  let fields = 0;
  for (const key in a) {
    fields++;
    if (!sameValue(a[key as keyof typeof a], b[key as keyof typeof b])) return false;
  }
  for (const _ in b) fields--;
  return fields === 0;
}

export function encodeTree(tree: Tree): Uint8Array {
  return Buffer.from(JSON.stringify(tree));
}

/**
 * Stores a listing (nodes sorted) as tree blobs and returns the first one's id. Up to
 * TREE_PIECE_BYTES it is one blob, `{"nodes":[...]}`, byte for byte what encodeTree makes; above,
 * pieces `{"entries":[...],"next":"<id>"}` (the last without next) are stored last first, since
 * each names the next by its id. A piece holds at least one entry, however large. `store` stores
 * one blob's plaintext and returns its id.
 */
export function storeListing(
  nodes: readonly TreeNode[],
  store: (plaintext: Uint8Array) => string,
): string {
  // Nearly every listing is one blob: encoded at once, as before, at no extra cost. A string of
  // n UTF-16 units is at most 3n bytes of UTF-8.
  if (nodes.length <= WHOLE_LISTING_MAX_NODES) {
    const whole = JSON.stringify({ nodes });
    if (whole.length * 3 <= TREE_PIECE_BYTES || Buffer.byteLength(whole) <= TREE_PIECE_BYTES)
      return store(Buffer.from(whole));
  }
  const encoded = nodes.map((node) => JSON.stringify(node));
  // What a piece adds around its entries: `{"entries":[`, `],"next":"<64 hex>"}`.
  const budget = TREE_PIECE_BYTES - 96;
  const pieces: string[][] = [[]];
  let bytes = 0;
  for (const entry of encoded) {
    const size = Buffer.byteLength(entry) + 1;
    const current = pieces.at(-1) as string[];
    if (bytes + size > budget && current.length > 0) {
      pieces.push([entry]);
      bytes = size;
    } else {
      current.push(entry);
      bytes += size;
    }
  }
  if (pieces.length === 1) return store(Buffer.from(`{"nodes":[${encoded.join(",")}]}`));
  let next: string | undefined;
  for (let i = pieces.length - 1; i >= 0; i--) {
    const tail = next === undefined ? "" : `,"next":"${next}"`;
    next = store(Buffer.from(`{"entries":[${(pieces[i] as string[]).join(",")}]${tail}}`));
  }
  return next as string;
}

function invalid(treeId: string, why: string): RempartError {
  return new RempartError("RepositoryCorrupt", `tree ${treeId} is malformed: ${why}`, { treeId });
}

function isFiniteNumber(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value);
}

const NUMBER_FIELDS = [
  "mode",
  "uid",
  "gid",
  "mtimeMs",
  "atimeMs",
  "ctimeMs",
  "inode",
  "device",
  "links",
] as const;

function entryFault(treeId: string, name: string, what: string): RempartError {
  return invalid(treeId, `entry ${JSON.stringify(name)} ${what}`);
}

/**
 * Checks one decoded entry. An incremental backup decodes every entry of its parent snapshot, so
 * the error's wording is only built for an entry that fails.
 */
function validateNode(node: unknown, treeId: string): TreeNode {
  if (typeof node !== "object" || node === null) throw invalid(treeId, "an entry is not an object");
  const n = node as Record<string, unknown>;
  if (!isSafeName(n.name)) throw invalid(treeId, `unsafe entry name ${JSON.stringify(n.name)}`);
  if (typeof n.type !== "string" || !NODE_TYPES.has(n.type))
    throw entryFault(treeId, n.name, "type");
  for (const field of NUMBER_FIELDS)
    if (!isFiniteNumber(n[field])) throw entryFault(treeId, n.name, `field ${field}`);
  switch (n.type) {
    case "file":
      if (!isFiniteNumber(n.size) || n.size < 0) throw entryFault(treeId, n.name, "size");
      if (
        !Array.isArray(n.content) ||
        !n.content.every((id) => typeof id === "string" && HEX_ID.test(id))
      )
        throw entryFault(treeId, n.name, "content");
      break;
    case "dir":
      if (typeof n.subtree !== "string" || !HEX_ID.test(n.subtree))
        throw entryFault(treeId, n.name, "subtree");
      break;
    case "symlink":
      if (!isSafeTarget(n.target)) throw entryFault(treeId, n.name, "target");
      break;
    default:
      break;
  }
  if (n.xattrs !== undefined) {
    if (
      !Array.isArray(n.xattrs) ||
      !n.xattrs.every(
        (x: unknown) =>
          typeof x === "object" &&
          x !== null &&
          typeof (x as Xattr).name === "string" &&
          typeof (x as Xattr).value === "string",
      )
    )
      throw entryFault(treeId, n.name, "xattrs");
  }
  return n as unknown as TreeNode;
}

/**
 * Parses and validates a tree blob's plaintext (a whole listing or a piece: see storeListing);
 * treeId is only used to name it in errors. A piece uses its own key, so that a reader that knows
 * only whole listings fails on it rather than reading the first piece as the whole directory.
 */
export function decodeTree(bytes: Uint8Array, treeId: string): TreeBlob {
  let parsed: unknown;
  try {
    // A view of the bytes, not Buffer.from(bytes), which would copy them first.
    parsed = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString());
  } catch {
    throw invalid(treeId, "not JSON");
  }
  if (typeof parsed !== "object" || parsed === null) throw invalid(treeId, "no node list");
  const { nodes: whole, entries, next } = parsed as Record<string, unknown>;
  const piece = whole === undefined && Array.isArray(entries);
  const list = piece ? entries : whole;
  if (!Array.isArray(list)) throw invalid(treeId, "no node list");
  if (next !== undefined && (!piece || typeof next !== "string" || !HEX_ID.test(next)))
    throw invalid(treeId, "a malformed continuation");
  const nodes = list.map((node) => validateNode(node, treeId));
  for (let i = 1; i < nodes.length; i++) {
    const previous = nodes[i - 1] as TreeNode;
    const current = nodes[i] as TreeNode;
    if (compareNames(previous.name, current.name) >= 0)
      throw invalid(treeId, `entries not sorted or duplicated at ${JSON.stringify(current.name)}`);
  }
  return next === undefined ? { nodes, piece } : { nodes, piece, next };
}
