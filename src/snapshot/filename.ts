/**
 * File names are bytes on Linux, not text: an old Samba share holds Latin-1 names such as
 * `caf\xe9.txt` that are not valid UTF-8. Rempart keeps names (and symlink targets) in memory and in
 * trees as JavaScript strings in which every byte that is not part of valid UTF-8 is the lone
 * surrogate U+DC80 + byte (PEP 383's "surrogateescape"). Valid UTF-8 never decodes to a lone
 * surrogate, so the mapping is one-to-one and a name comes back byte-exact; names that are valid
 * UTF-8 (nearly all) are ordinary strings and pay nothing.
 */
import { isUtf8 } from "node:buffer";

const ESCAPE_BASE = 0xdc00;
/** Any UTF-16 surrogate: checked first so ordinary names take the fast path. */
const SURROGATE = /[\ud800-\udfff]/;
const ESCAPED_BYTE = /[\udc80-\udcff]/;

/** Decodes one name's bytes; lossless for any byte sequence. */
export function decodeName(bytes: Uint8Array): string {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (isUtf8(buffer)) return buffer.toString("utf8");
  let out = "";
  let i = 0;
  while (i < bytes.length) {
    const length = validSequenceLength(bytes, i);
    if (length === 0) {
      out += String.fromCharCode(ESCAPE_BASE + (bytes[i] as number));
      i++;
    } else {
      out += buffer.toString("utf8", i, i + length);
      i += length;
    }
  }
  return out;
}

/** The length of the well-formed UTF-8 sequence starting at i, or 0 (RFC 3629, no surrogates). */
function validSequenceLength(bytes: Uint8Array, i: number): number {
  const b0 = bytes[i] as number;
  if (b0 < 0x80) return 1;
  const continuation = (k: number, low = 0x80, high = 0xbf): boolean => {
    const b = bytes[i + k];
    return b !== undefined && b >= low && b <= high;
  };
  if (b0 >= 0xc2 && b0 <= 0xdf) return continuation(1) ? 2 : 0;
  if (b0 === 0xe0) return continuation(1, 0xa0) && continuation(2) ? 3 : 0;
  if ((b0 >= 0xe1 && b0 <= 0xec) || b0 === 0xee || b0 === 0xef)
    return continuation(1) && continuation(2) ? 3 : 0;
  if (b0 === 0xed) return continuation(1, 0x80, 0x9f) && continuation(2) ? 3 : 0;
  if (b0 === 0xf0) return continuation(1, 0x90) && continuation(2) && continuation(3) ? 4 : 0;
  if (b0 >= 0xf1 && b0 <= 0xf3)
    return continuation(1) && continuation(2) && continuation(3) ? 4 : 0;
  if (b0 === 0xf4) return continuation(1, 0x80, 0x8f) && continuation(2) && continuation(3) ? 4 : 0;
  return 0;
}

/**
 * The bytes a decoded name stands for, or undefined when the string is not one decodeName can
 * produce (a surrogate outside the escape range, or escapes that spell valid UTF-8): such a
 * string in a tree was forged, and two spellings of one name must never both be accepted.
 */
export function encodeName(name: string): Buffer | undefined {
  if (!SURROGATE.test(name)) return Buffer.from(name, "utf8");
  const parts: Buffer[] = [];
  let run = "";
  for (let i = 0; i < name.length; i++) {
    const unit = name.charCodeAt(i);
    if (unit >= 0xdc80 && unit <= 0xdcff) {
      parts.push(Buffer.from(run, "utf8"), Buffer.of(unit - ESCAPE_BASE));
      run = "";
    } else if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = name.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return undefined;
      run += name.slice(i, i + 2);
      i++;
    } else if (unit >= 0xdc00 && unit <= 0xdfff) return undefined;
    else run += name[i];
  }
  parts.push(Buffer.from(run, "utf8"));
  const bytes = Buffer.concat(parts);
  return decodeName(bytes) === name ? bytes : undefined;
}

/** The byte length of a decoded name (what the kernel's 255-byte limit counts). */
export function nameByteLength(name: string): number {
  return ESCAPED_BYTE.test(name)
    ? (encodeName(name)?.length ?? Number.POSITIVE_INFINITY)
    : Buffer.byteLength(name);
}

/**
 * What to hand node:fs for a path built from decoded names: the string itself when it is plain
 * UTF-8 (the common case, no copy), its bytes otherwise (a string would be re-encoded lossily).
 */
export function fsPath(path: string): string | Buffer {
  return ESCAPED_BYTE.test(path) ? (encodeName(path) ?? Buffer.from(path, "utf8")) : path;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds
const NEEDS_QUOTING = /[\udc80-\udcff\u0000-\u001f\u007f"\\]/;

/**
 * A name for people: unchanged when it is printable UTF-8; otherwise quoted, with undecodable
 * bytes as \xNN and control characters, quotes and backslashes escaped, so two different names
 * never look alike (`"caf\xe9.txt"` is the Latin-1 name, `café.txt` the UTF-8 one).
 */
export function displayName(name: string): string {
  if (!NEEDS_QUOTING.test(name)) return name;
  let out = '"';
  for (const char of name) {
    const code = char.charCodeAt(0);
    if (code >= 0xdc80 && code <= 0xdcff)
      out += `\\x${(code - ESCAPE_BASE).toString(16).padStart(2, "0")}`;
    else if (char === '"' || char === "\\") out += `\\${char}`;
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else out += char;
  }
  return `${out}"`;
}
