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

/**
 * Whether `name` is what decodeName gives for some bytes: a plain string without surrogates
 * (nearly every name, checked without allocating) or one encodeName accepts.
 */
export function isCanonicalName(name: string): boolean {
  return !SURROGATE.test(name) || encodeName(name) !== undefined;
}

/** Whether a canonical name or path stands for bytes that are not valid UTF-8. */
export function hasEscapedBytes(name: string): boolean {
  return ESCAPED_BYTE.test(name);
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

/**
 * Characters shown as the \xNN of their UTF-8 bytes: the escaped bytes, C0 and C1 controls, the
 * quote and the backslash (the quoting's own syntax), and the invisible or reordering characters
 * (soft hyphen, zero-width characters, bidirectional controls, line and paragraph separators, the
 * BOM) with which `invoice\u202efdp.exe` would pass for `invoiceexe.pdf`. Visible spaces, the
 * no-break space of French typography included, are shown as they are.
 */
const NEEDS_ESCAPE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds
  /[\udc80-\udcff\u0000-\u001f\u007f-\u009f"\\\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/;

/**
 * A name (or a whole path) for people: unchanged when it is printable UTF-8; otherwise quoted,
 * with every character above written as the \xNN of its bytes (`"caf\xe9.txt"` is the Latin-1
 * name, `café.txt` the UTF-8 one, `"a\xe2\x80\xaeb"` holds a right-to-left override), so two
 * different names never look alike. unescapeName reads it back.
 */
export function displayName(name: string): string {
  if (!NEEDS_ESCAPE.test(name)) return name;
  let out = '"';
  for (const char of name) {
    const code = char.charCodeAt(0);
    if (code >= 0xdc80 && code <= 0xdcff) out += hexByte(code - ESCAPE_BASE);
    else if (char === '"' || char === "\\") out += `\\${char}`;
    else if (NEEDS_ESCAPE.test(char)) for (const byte of Buffer.from(char)) out += hexByte(byte);
    else out += char;
  }
  return `${out}"`;
}

function hexByte(byte: number): string {
  return `\\x${byte.toString(16).padStart(2, "0")}`;
}

const ESCAPE_SEQUENCE = /\\(?:x([0-9a-fA-F]{2})|(["\\]))/g;

/**
 * The name (or path) that `text` spells with displayName's escapes: `\xNN` is the byte NN, `\\`
 * a backslash, `\"` a quote; any other backslash stands for itself. The bytes are decoded as a
 * whole, so `caf\xc3\xa9` is `café` and `caf\xe9` the Latin-1 name. With `quoted`, enclosing
 * quotes are removed (a path copied from ls). This is how a name that is not UTF-8 reaches Rempart
 * from a command line, which Node only reads as (lossy) UTF-8.
 */
export function unescapeName(text: string, quoted = false): string {
  const inner = quoted && text.length >= 2 && text.startsWith('"') && text.endsWith('"');
  const body = inner ? text.slice(1, -1) : text;
  if (!body.includes("\\")) return body;
  const parts: Buffer[] = [];
  let last = 0;
  for (const match of body.matchAll(ESCAPE_SEQUENCE)) {
    parts.push(textBytes(body.slice(last, match.index)));
    const [, hex, char] = match;
    parts.push(hex === undefined ? Buffer.from(char ?? "") : Buffer.of(Number.parseInt(hex, 16)));
    last = match.index + match[0].length;
  }
  parts.push(textBytes(body.slice(last)));
  return decodeName(Buffer.concat(parts));
}

/**
 * What a command-line argument naming a path may mean: itself, and, when it holds escapes or
 * enclosing quotes, what they spell (unescapeName). Callers try them in that order, so an existing
 * name with a literal backslash is still found as typed.
 */
export function argumentSpellings(text: string): string[] {
  const unescaped = unescapeName(text, true);
  return unescaped === text ? [text] : [text, unescaped];
}

/** The bytes of text that may already hold escaped bytes (an exclude file's line, say). */
function textBytes(text: string): Buffer {
  return encodeName(text) ?? Buffer.from(text, "utf8");
}
