/**
 * The filesystem calls Node lacks, through Rempart's own binding (native/fs-native.c, built by
 * `npm ci`): extended attributes, and making FIFOs and device nodes. Paths and attribute names go
 * to the kernel as bytes, so an entry whose name is not UTF-8 is reached like any other (an old
 * Samba share stores each file's DOS attributes in user.DOSATTRIB, and its Windows ACL in
 * security.NTACL, Latin-1 names included). Nothing follows a symlink at the end of the path: a
 * link's own attributes are read and set, never its target's.
 *
 * Paths and names are decoded strings (filename.ts). Errors are Node-style: `code` is the errno's
 * name (ENOTSUP, EACCES, …).
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { constants as osConstants } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { RempartError } from "../errors.js";
import { decodeName, encodeName, fsPath } from "./filename.js";

interface Binding {
  list(path: Buffer): Buffer[];
  get(path: Buffer, name: Buffer): Buffer | null;
  set(path: Buffer, name: Buffer, value: Buffer): void;
  makeNode(path: Buffer, kind: number, major: number, minor: number): void;
}

const BINDING = join("build", "Release", "rempart_fs.node");

let binding: Binding | undefined;

/**
 * Loaded on first use, from the package's build/ (found from this module's place: it is bundled
 * into dist/, compiled into dist-test/, both inside the package).
 */
function load(): Binding {
  if (binding !== undefined) return binding;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, BINDING);
    if (existsSync(candidate)) {
      binding = createRequire(import.meta.url)(candidate) as Binding;
      return binding;
    }
    const parent = dirname(dir);
    if (parent === dir)
      throw new RempartError(
        "Unsupported",
        `Rempart's filesystem binding (${BINDING}) is not built: run \`npm ci\` (it needs python3, make and g++)`,
      );
    dir = parent;
  }
}

// First name wins, so 95 reads ENOTSUP rather than its alias EOPNOTSUPP.
const ERRNO_NAMES = new Map<number, string>();
for (const [name, errno] of Object.entries(osConstants.errno)) {
  if (!ERRNO_NAMES.has(errno)) ERRNO_NAMES.set(errno, name);
}

/** Gives the binding's error (an errno number) the `code` Node's fs errors carry. */
function call<T>(run: () => T): T {
  try {
    return run();
  } catch (error) {
    const errno = error instanceof Error ? (error as { errno?: unknown }).errno : undefined;
    if (typeof errno === "number") {
      const code = ERRNO_NAMES.get(errno) ?? "EIO";
      Object.assign(error as Error, { code, message: `${code}: ${(error as Error).message}` });
    }
    throw error;
  }
}

function bytesOf(path: string): Buffer {
  const target = fsPath(path);
  return typeof target === "string" ? Buffer.from(target) : target;
}

/** The entry's attribute names, decoded (a name that is not UTF-8 is escaped like a file name). */
export function listXattrNames(path: string): string[] {
  const { list } = load();
  return call(() => list(bytesOf(path))).map(decodeName);
}

/** The attribute's value, or undefined when the entry has none of that name. */
export function getXattr(path: string, name: string): Buffer | undefined {
  const { get } = load();
  return call(() => get(bytesOf(path), nameBytes(name))) ?? undefined;
}

export function setXattr(path: string, name: string, value: Uint8Array): void {
  const { set } = load();
  const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  call(() => set(bytesOf(path), nameBytes(name), bytes));
}

function nameBytes(name: string): Buffer {
  const bytes = encodeName(name);
  if (bytes === undefined)
    throw Object.assign(new Error(`EINVAL: ${JSON.stringify(name)} is no attribute name`), {
      code: "EINVAL",
    });
  return bytes;
}

const NODE_KINDS = { fifo: 0, chardev: 1, blockdev: 2 } as const;

/**
 * Makes a FIFO or a device node (mode 0600: the caller sets the real one); fails with EEXIST on
 * an existing path. `major` and `minor` are ignored for a FIFO.
 */
export function makeNode(path: string, type: keyof typeof NODE_KINDS, major = 0, minor = 0): void {
  const { makeNode: make } = load();
  call(() => make(bytesOf(path), NODE_KINDS[type], major, minor));
}
