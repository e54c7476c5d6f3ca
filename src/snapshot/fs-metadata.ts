/**
 * The metadata half of a TreeNode: captured from an lstat result on backup, applied to a restored
 * entry, and compared between the two. Nothing here follows symlinks: a link's own times and
 * extended attributes are what it carries.
 *
 * Paths and names are decoded strings (filename.ts): every fs call gets fsPath(path), so a name
 * that is not UTF-8 is read and written byte-exact, and costs nothing when it is UTF-8.
 */
import * as fs from "node:fs";
import { constants as osConstants } from "node:os";
import { RempartError } from "../errors.js";
import { decodeName, displayName, fsPath } from "./filename.js";
import { getXattr, listXattrNames, makeNode, setXattr } from "./fs-native.js";
import { toMicroseconds, utimesSeconds } from "./fs-times.js";
import { compareNames, type NodeType, type TreeNode, type Xattr } from "./tree.js";

/** What the filesystem says about an entry; the walker adds `content` or `subtree`. */
export type NodeMetadata = Omit<TreeNode, "content" | "subtree">;

export interface ApplyOptions {
  /** Set uid and gid: only root can give files away, so pass whether the restore runs as root. */
  readonly owner: boolean;
}

export interface CompareOptions {
  /** Fields not compared; replaces FIELDS_A_RESTORE_CANNOT_KEEP when given. */
  readonly ignore?: ReadonlyArray<keyof TreeNode>;
}

/**
 * A restored entry is a new inode, possibly on another device, whose change time is the restore's.
 * Access times move whenever anyone reads the file, the backup itself included.
 */
export const FIELDS_A_RESTORE_CANNOT_KEEP: ReadonlyArray<keyof TreeNode> = [
  "inode",
  "device",
  "ctimeMs",
  "atimeMs",
];

const TYPES_BY_FORMAT: ReadonlyMap<number, NodeType> = new Map([
  [fs.constants.S_IFREG, "file"],
  [fs.constants.S_IFDIR, "dir"],
  [fs.constants.S_IFLNK, "symlink"],
  [fs.constants.S_IFIFO, "fifo"],
  [fs.constants.S_IFSOCK, "socket"],
  [fs.constants.S_IFCHR, "chardev"],
  [fs.constants.S_IFBLK, "blockdev"],
]);

export function nodeTypeOf(stats: fs.Stats): NodeType {
  const type = TYPES_BY_FORMAT.get(stats.mode & fs.constants.S_IFMT);
  if (type === undefined)
    throw new RempartError("Unsupported", `unknown file type, mode ${stats.mode.toString(8)}`, {
      mode: stats.mode,
    });
  return type;
}

/**
 * `stats` must be the lstat of `path`; `name` is its last component. Files get `size` from stats,
 * which the walker replaces with the length it actually read. Throws RempartError `Io` (errno in
 * details) when the link target or the xattrs cannot be read, the entry having vanished, say.
 * `knownXattrs` skips listing them: a caller that knows the entry is unchanged since a previous
 * capture (same ctime: setting an xattr changes ctime) passes the previous ones.
 */
export function captureMetadata(
  path: string,
  name: string,
  stats: fs.Stats,
  knownXattrs?: { readonly xattrs?: readonly Xattr[] },
): NodeMetadata {
  const type = nodeTypeOf(stats);
  const node: { -readonly [K in keyof NodeMetadata]: NodeMetadata[K] } = {
    name,
    type,
    mode: stats.mode & 0o7777,
    uid: stats.uid,
    gid: stats.gid,
    mtimeMs: stats.mtimeMs,
    atimeMs: stats.atimeMs,
    ctimeMs: stats.ctimeMs,
    inode: stats.ino,
    device: stats.dev,
    links: stats.nlink,
  };
  if (type === "file") node.size = stats.size;
  if (type === "symlink")
    node.target = attempt("read the link", path, () =>
      decodeName(fs.readlinkSync(fsPath(path), { encoding: "buffer" })),
    );
  if (type === "chardev" || type === "blockdev") node.rdev = stats.rdev;
  const xattrs = knownXattrs ? knownXattrs.xattrs : readXattrs(path);
  if (xattrs !== undefined) node.xattrs = xattrs;
  return node;
}

/**
 * Call once the entry's content is written, and for a directory once its children are restored.
 * Returns warnings for what could not be kept but leaves the entry safe; throws when the owner or
 * the mode could not be set, because the entry would then be more open than the original (a
 * setuid file left owned by root, say).
 */
export function applyMetadata(path: string, node: NodeMetadata, options: ApplyOptions): string[] {
  const warnings: string[] = [];
  const target = fsPath(path);
  // chown first: the kernel clears setuid, setgid and file capabilities (security.capability)
  // when ownership changes, so the xattrs and the mode must come after it.
  if (options.owner) {
    attempt(`set owner ${node.uid}:${node.gid} on`, path, () =>
      fs.lchownSync(target, node.uid, node.gid),
    );
  }
  // Before chmod, which may remove the write permission that user.* attributes require.
  // lsetxattr: a symlink's own attributes are set, never its target's.
  for (const xattr of node.xattrs ?? []) {
    try {
      setXattr(path, xattr.name, Buffer.from(xattr.value, "base64"));
    } catch (error) {
      warnings.push(
        `could not set xattr ${displayName(xattr.name)} on ${displayName(path)}: ${reason(error)}`,
      );
    }
  }
  // Linux has no lchmod and a symlink's own mode means nothing.
  if (node.type !== "symlink") {
    const mode = node.mode & 0o7777;
    attempt(`set mode ${mode.toString(8)} on`, path, () => fs.chmodSync(target, mode));
  }
  // Last, so that no other change to the entry can move them.
  const setTimes = node.type === "symlink" ? fs.lutimesSync : fs.utimesSync;
  try {
    setTimes(target, utimesSeconds(node.atimeMs), utimesSeconds(node.mtimeMs));
  } catch (error) {
    warnings.push(`could not set times on ${displayName(path)}: ${reason(error)}`);
  }
  return warnings;
}

/**
 * Creates a fifo or device node at `path` (mode, owner and times are applyMetadata's job).
 * Returns a warning when the entry cannot be recreated: sockets never, devices without root.
 */
export function createSpecialNode(path: string, node: NodeMetadata): string | undefined {
  switch (node.type) {
    case "fifo":
      attempt("create", path, () => makeNode(path, "fifo"));
      return undefined;
    case "chardev":
    case "blockdev": {
      const type = node.type;
      if (process.getuid?.() !== 0)
        return `device ${displayName(path)} not restored: creating devices needs root`;
      // Trees are untrusted: decodeTree does not insist on rdev.
      if (node.rdev === undefined || !Number.isSafeInteger(node.rdev) || node.rdev < 0)
        throw new RempartError(
          "RepositoryCorrupt",
          `device ${displayName(path)} has no valid device number`,
          { path },
        );
      const { major, minor } = splitDeviceNumber(node.rdev);
      attempt("create", path, () => makeNode(path, type, major, minor));
      return undefined;
    }
    case "socket":
      return `socket ${displayName(path)} not restored: sockets cannot be recreated`;
    default:
      throw new RempartError(
        "InvalidArgument",
        `${node.type} ${displayName(path)} is not a special file`,
        {
          path,
        },
      );
  }
}

type ComparedField = Exclude<keyof NodeMetadata, "xattrs">;
type FieldKind = "text" | "number" | "mode" | "time";

const FIELD_KINDS: Record<ComparedField, FieldKind> = {
  name: "text",
  type: "text",
  mode: "mode",
  uid: "number",
  gid: "number",
  mtimeMs: "time",
  atimeMs: "time",
  ctimeMs: "time",
  inode: "number",
  device: "number",
  links: "number",
  size: "number",
  target: "text",
  rdev: "number",
};

/**
 * The differences between two nodes as sentences ("mode 0o4750 != 0o755"); empty when they agree.
 * Times agree when they round to the same microsecond, the finest a restore through Node (a double
 * of seconds) can promise.
 * Link counts of directories are never compared: they count subdirectories on some filesystems
 * and are always 1 on others. Content ids are not metadata and are not compared.
 */
export function metadataEqual(
  a: NodeMetadata,
  b: NodeMetadata,
  options: CompareOptions = {},
): string[] {
  const ignored = new Set<keyof TreeNode>(options.ignore ?? FIELDS_A_RESTORE_CANNOT_KEEP);
  if (a.type === "dir" || b.type === "dir") ignored.add("links");
  const differences: string[] = [];
  for (const [field, kind] of Object.entries(FIELD_KINDS) as [ComparedField, FieldKind][]) {
    if (ignored.has(field)) continue;
    const x = a[field];
    const y = b[field];
    const same =
      kind === "time" && typeof x === "number" && typeof y === "number"
        ? toMicroseconds(x) === toMicroseconds(y)
        : x === y;
    if (!same) differences.push(`${field} ${show(kind, x)} != ${show(kind, y)}`);
  }
  if (!ignored.has("xattrs")) differences.push(...xattrDifferences(a.xattrs, b.xattrs));
  return differences;
}

function xattrDifferences(a: readonly Xattr[] = [], b: readonly Xattr[] = []): string[] {
  const first = new Map(a.map((xattr) => [xattr.name, xattr.value]));
  const second = new Map(b.map((xattr) => [xattr.name, xattr.value]));
  const names = [...new Set([...first.keys(), ...second.keys()])].sort(compareNames);
  return names
    .filter((name) => first.get(name) !== second.get(name))
    .map(
      (name) =>
        `xattr ${name} ${show("text", first.get(name))} != ${show("text", second.get(name))}`,
    );
}

function show(kind: FieldKind, value: string | number | undefined): string {
  if (value === undefined) return "absent";
  if (typeof value === "string") return JSON.stringify(value);
  if (kind === "mode") return `0o${value.toString(8)}`;
  if (kind === "time") return `${(toMicroseconds(value) / 1000).toFixed(3)}ms`;
  return String(value);
}

// One llistxattr per entry, measured at 4-8 µs (ext4 and tmpfs, 50,000 empty files): about what the
// walker's lstat costs, so capture doubles the per-entry metadata time but not the backup's.
function readXattrs(path: string): Xattr[] | undefined {
  let xattrs: Xattr[] | undefined;
  try {
    xattrs = listXattrs(path);
  } catch (error) {
    // The filesystem has no xattrs, or this entry's are closed to us: the entry is still backed up.
    if (XATTRS_UNREADABLE.has(errnoOf(error) ?? "")) return undefined;
    throw ioError("list the extended attributes of", path, error);
  }
  return xattrs !== undefined && xattrs.length > 0 ? xattrs : undefined;
}

function listXattrs(path: string): Xattr[] | undefined {
  const names = listXattrNames(path);
  // Most entries have none: no list of them, and readXattrs takes undefined for none.
  if (names.length === 0) return undefined;
  const xattrs: Xattr[] = [];
  for (const name of names.sort(compareNames)) {
    const value = readXattr(path, name);
    if (value !== undefined) xattrs.push({ name, value: value.toString("base64") });
  }
  return xattrs;
}

/** One attribute's value; undefined when removed since the listing, or closed to us alone. */
function readXattr(path: string, name: string): Buffer | undefined {
  try {
    return getXattr(path, name);
  } catch (error) {
    if (XATTRS_UNREADABLE.has(errnoOf(error) ?? "")) return undefined;
    throw error;
  }
}

const XATTRS_UNREADABLE: ReadonlySet<string> = new Set(["ENOTSUP", "EACCES", "EPERM"]);

/** Linux dev_t as glibc lays it out: major in bits 8-19 and 32-43, minor in 0-7 and 20-31. */
function splitDeviceNumber(rdev: number): { major: number; minor: number } {
  const dev = BigInt(rdev);
  return {
    major: Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & 0xfffff000n)),
    minor: Number((dev & 0xffn) | ((dev >> 12n) & 0xffffff00n)),
  };
}

function attempt<T>(action: string, path: string, operation: () => T): T {
  try {
    return operation();
  } catch (error) {
    throw ioError(action, path, error);
  }
}

function ioError(action: string, path: string, error: unknown): RempartError {
  if (error instanceof RempartError) return error;
  return new RempartError("Io", `could not ${action} ${displayName(path)}: ${reason(error)}`, {
    path,
    errno: errnoOf(error),
  });
}

/** The errno's name of a Node fs error, or of the xattr binding's (xattr.ts gives them `code`). */
function errnoOf(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const code = (error as NodeJS.ErrnoException).code;
  return code !== undefined && code in osConstants.errno ? code : undefined;
}

function reason(error: unknown): string {
  return errnoOf(error) ?? (error instanceof Error ? error.message : String(error));
}
