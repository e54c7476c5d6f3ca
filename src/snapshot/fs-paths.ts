/**
 * The filesystem through decoded paths (filename.ts): listing a directory, making a symlink, and
 * giving a text path to what only takes text. Every other fs call takes fsPath(path) directly.
 *
 * Text paths: @napi-rs/xattr's functions take a JavaScript string (sent to the kernel as UTF-8)
 * and call the l*xattr variants, which never follow the last component, and the mkfifo and mknod
 * commands take string arguments. A path holding bytes that are not UTF-8 has no string spelling,
 * so it is reached through /proc/self/fd, which resolves a descriptor as a directory in the middle
 * of a path:
 *
 * - only ancestors are not UTF-8: `/proc/self/fd/<parent>/<name>`;
 * - a directory whose own name is not UTF-8: `/proc/self/fd/<itself>/.`;
 * - anything else whose own name is not UTF-8 (files, links, special files): the last component
 *   has to be the name itself, and l*xattr on `/proc/self/fd/<itself>` acts on the /proc link, not
 *   the file. Reading (backup) cannot reach it: xattrsReadable says so, and the caller reports it.
 *   Writing (restore) gives the entry a second, temporary UTF-8 name with link(2), sets the
 *   attributes through it and removes it: the entry's ctime moves, which no restore keeps anyway.
 * - mkfifo and mknod create the entry under a temporary UTF-8 name in its directory, which is
 *   then linked to the real name and removed.
 *
 * Descriptors are opened O_PATH: no read permission needed, no open side effects (a FIFO would
 * block, a tape device rewind), and one on a symlink is the link itself.
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import { decodeName, fsPath, hasEscapedBytes } from "./filename.js";

/** Linux's O_PATH (x86, ARM, POWER, s390x, RISC-V alike); Node does not export it. */
const O_PATH = 0o10000000;
const PROC_FD = "/proc/self/fd";
const procAvailable = fs.existsSync(PROC_FD);

/**
 * The names in a directory, decoded (filename.ts). Read as text first, Node's fastest listing
 * (a byte listing and decoding it cost 2.5 times as much, ~90 ms more per 50,000 names): the text
 * is exact unless a name was not UTF-8, which Node turns into U+FFFD; only then is the directory
 * listed again, as bytes. A UTF-8 name that holds U+FFFD itself also costs that second listing.
 */
export function readDirectory(path: string): string[] {
  const target = fsPath(path);
  const names = fs.readdirSync(target);
  if (!names.some((name) => name.includes("\ufffd"))) return names;
  return fs.readdirSync(target, { encoding: "buffer" }).map(decodeName);
}

/** Creates a symlink as a snapshot holds it: target and path may both be bytes that are not UTF-8. */
export function createSymlink(target: string, path: string): Promise<void> {
  return fs.promises.symlink(fsPath(target), fsPath(path));
}

function lastSlash(path: string): number {
  return path.lastIndexOf("/");
}

function parentOf(path: string): string {
  const at = lastSlash(path);
  return at <= 0 ? "/" : path.slice(0, at);
}

function nameOf(path: string): string {
  return path.slice(lastSlash(path) + 1);
}

/** Whether captureMetadata can read the xattrs of the entry at `path` (absolute). */
export function xattrsReadable(path: string, isDirectory: boolean): boolean {
  if (!hasEscapedBytes(path)) return true;
  return procAvailable && (isDirectory || !hasEscapedBytes(nameOf(path)));
}

function withDescriptor<T>(path: string, flags: number, use: (fd: number) => T): T {
  const fd = fs.openSync(fsPath(path), O_PATH | flags);
  try {
    return use(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Calls `use` with a string path to the entry at `path` that @napi-rs/xattr can take, valid during
 * the call; returns undefined without calling it when there is none (see xattrsReadable).
 * Throws the fs error when a directory on the way cannot be opened.
 */
export function withXattrPath<T>(
  path: string,
  isDirectory: boolean,
  use: (textPath: string) => T,
): T | undefined {
  if (!hasEscapedBytes(path)) return use(path);
  if (!xattrsReadable(path, isDirectory)) return undefined;
  const name = nameOf(path);
  if (!hasEscapedBytes(name))
    return withDescriptor(parentOf(path), fs.constants.O_DIRECTORY, (fd) =>
      use(`${PROC_FD}/${fd}/${name}`),
    );
  return withDescriptor(path, fs.constants.O_DIRECTORY | fs.constants.O_NOFOLLOW, (fd) =>
    use(`${PROC_FD}/${fd}/.`),
  );
}

/**
 * withXattrPath for writing: also reaches a non-directory whose own name is not UTF-8, through a
 * temporary hard link `.rempart-xattr-<random>` beside it, removed before returning. Throws the
 * fs error when that link cannot be made (a filesystem without hard links); undefined only
 * without /proc.
 */
export function withWritableXattrPath<T>(
  path: string,
  isDirectory: boolean,
  use: (textPath: string) => T,
): T | undefined {
  if (isDirectory || !hasEscapedBytes(nameOf(path)) || !procAvailable)
    return withXattrPath(path, isDirectory, use);
  return withDescriptor(parentOf(path), fs.constants.O_DIRECTORY, (fd) => {
    const alias = `${PROC_FD}/${fd}/.rempart-xattr-${randomBytes(8).toString("hex")}`;
    fs.linkSync(fsPath(path), alias);
    try {
      return use(alias);
    } finally {
      fs.unlinkSync(alias);
    }
  });
}

/**
 * Runs `create` (an external command given a text path) so that it makes the entry at `path`:
 * directly when the path is UTF-8, else under a temporary UTF-8 name in the same directory,
 * which is then linked to the real name (link(2) refuses an existing name, as mkfifo does) and
 * removed. The child reaches the directory as its descriptor 3.
 */
export function createThroughTextPath(
  path: string,
  create: (textPath: string, extraFd?: number) => void,
): void {
  if (!hasEscapedBytes(path)) {
    create(path);
    return;
  }
  withDescriptor(parentOf(path), fs.constants.O_DIRECTORY, (fd) => {
    const temporary = `.rempart-new-${randomBytes(8).toString("hex")}`;
    create(`${PROC_FD}/3/${temporary}`, fd);
    const alias = `${PROC_FD}/${fd}/${temporary}`;
    try {
      fs.linkSync(alias, fsPath(path));
    } finally {
      fs.unlinkSync(alias);
    }
  });
}
