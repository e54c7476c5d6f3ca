/**
 * The filesystem through decoded paths (filename.ts): listing a directory and making a symlink.
 * Every other fs call takes fsPath(path) directly; what Node lacks (extended attributes, FIFOs and
 * device nodes) takes bytes through fs-native.ts.
 */
import * as fs from "node:fs";
import { decodeName, fsPath } from "./filename.js";

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
