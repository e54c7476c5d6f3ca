/**
 * Exclude patterns, restic-style: a pattern without "/" matches any single path component
 * ("*.tmp", "node_modules"); a pattern with "/" matches the whole absolute path when it starts
 * with "/", or any trailing part of it otherwise. "*" and "?" stay within one component, "**"
 * spans any number of them.
 *
 * Paths and names are matched as decoded strings (filename.ts). A pattern may spell a byte that
 * is not UTF-8 the way ls shows it, `\xNN` (`caf\xe9.txt`, `\\` for a backslash), or hold the raw
 * bytes in an exclude file; `?` matches one such byte, and `*` any number of them.
 */
import { readFileSync } from "node:fs";
import { RempartError } from "../errors.js";
import { decodeName, unescapeName } from "../snapshot/filename.js";

export type ExcludeMatcher = (absolutePath: string, name: string) => boolean;

// Hand-written, not picomatch: even with extglobs and braces off it reads "(", "+", "\\" and
// "[[:alpha:]]" unlike restic's patterns ("a+b(1).txt" does not match itself); speed is the same.
function globToRegExp(glob: string): string {
  let out = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === "*" && glob[i + 1] === "*") {
      // "**/" may also match nothing, so "a/**/b" matches "a/b".
      if (glob[i + 2] === "/") {
        out += "(?:.*/)?";
        i += 2;
      } else {
        out += ".*";
        i += 1;
      }
    } else if (c === "*") out += "[^/]*";
    else if (c === "?") out += "[^/]";
    else out += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return out;
}

export function compileExcludes(patterns: readonly string[]): ExcludeMatcher {
  const byName: RegExp[] = [];
  const byPath: RegExp[] = [];
  for (const raw of patterns) {
    const pattern = unescapeName(raw.trim());
    if (pattern === "" || pattern.startsWith("#")) continue;
    const trimmed = pattern.length > 1 ? pattern.replace(/\/+$/, "") : pattern;
    if (!trimmed.includes("/")) byName.push(new RegExp(`^${globToRegExp(trimmed)}$`));
    else if (trimmed.startsWith("/")) byPath.push(new RegExp(`^${globToRegExp(trimmed)}$`));
    else byPath.push(new RegExp(`(?:^|/)${globToRegExp(trimmed)}$`));
  }
  if (byName.length === 0 && byPath.length === 0) return () => false;
  return (absolutePath, name) =>
    byName.some((re) => re.test(name)) || byPath.some((re) => re.test(absolutePath));
}

/**
 * Patterns from a file, one per line; blank lines and "#" comments are ignored. Lines are bytes,
 * decoded like names, so a Latin-1 file lists Latin-1 names.
 */
export function readExcludeFile(path: string): string[] {
  try {
    return decodeName(readFileSync(path)).split(/\r?\n/);
  } catch (error) {
    throw new RempartError(
      "InvalidArgument",
      `cannot read exclude file ${path}: ${(error as Error).message}`,
    );
  }
}
