/**
 * What a file's sampled content looks like, and whether that matches the type its name claims.
 * Encryption leaves bytes indistinguishable from noise; armouring it as base64 or hex leaves text
 * of a tell-tale character mix. Entropy alone cannot tell encrypted JPEG from JPEG (both are
 * dense), so dense formats are judged by their structure (formats.ts) and only sparse ones (text,
 * databases, bitmaps) by the density of their blocks.
 */
import { isUtf8 } from "node:buffer";
import {
  bodyIntact,
  endIntact,
  endOf,
  type Format,
  hasEndMarker,
  possibleEnds,
  sniffFormat,
  typeOfExtension,
  zipDirectoryIn,
} from "./formats.js";
import type { FileSample } from "./sample.js";

export type BlockClass = "empty" | "zeros" | "text" | "armour" | "noise" | "binary";

/** Shannon entropy in bits per byte. */
export function entropy(bytes: Uint8Array): number {
  if (bytes.length === 0) return 0;
  const counts = new Uint32Array(256);
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i] as number;
    counts[byte] = (counts[byte] as number) + 1;
  }
  let bits = 0;
  for (const count of counts) {
    if (count === 0) continue;
    const p = count / bytes.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

/** Bytes that never appear in text: controls other than tab, newlines, form feed, escape. */
function isControl(byte: number): boolean {
  return (
    (byte < 0x20 &&
      byte !== 0x09 &&
      byte !== 0x0a &&
      byte !== 0x0d &&
      byte !== 0x0c &&
      byte !== 0x1b) ||
    byte === 0x7f
  );
}

const PLAIN = 0;
const CONTROL = 1;
const HIGH = 2;
/**
 * What each byte value is to the text check, looked up once per byte: nearly all of a text block
 * is plain ASCII, which then costs one load and one compare (the check runs over every sampled
 * block of every file a backup reads).
 */
const BYTE_KINDS = Uint8Array.from({ length: 256 }, (_, byte) =>
  byte >= 0x80 ? HIGH : isControl(byte) ? CONTROL : PLAIN,
);

/** A Latin-1 (Windows-1252) accented letter stands alone between ASCII bytes; noise clusters. */
function latin1Letter(bytes: Uint8Array, i: number): boolean {
  const before = i === 0 ? 0x20 : (bytes[i - 1] as number);
  const after = i + 1 >= bytes.length ? 0x20 : (bytes[i + 1] as number);
  return BYTE_KINDS[before] === PLAIN && BYTE_KINDS[after] === PLAIN;
}

/** The length of the valid UTF-8 sequence starting at `i`, or 0 (a sequence cut by the block's end counts). */
function utf8Length(bytes: Uint8Array, i: number): number {
  const byte = bytes[i] as number;
  let length =
    byte >= 0xc2 && byte <= 0xdf
      ? 2
      : byte >= 0xe0 && byte <= 0xef
        ? 3
        : byte >= 0xf0 && byte <= 0xf4
          ? 4
          : 0;
  for (let j = 1; j < length && i + j < bytes.length; j++)
    if (((bytes[i + j] as number) & 0xc0) !== 0x80) length = 0;
  return length;
}

/**
 * Whether four bytes are all printable ASCII (no byte ≥ 0x80, below 0x20 or 0x7f: the bit tricks
 * of "Bit Twiddling Hacks", hasless and haszero, which never miss one). Tabs and line breaks take
 * the byte path.
 */
function plainWord(word: number): boolean {
  const zeroWhere7f = word ^ 0x7f7f7f7f;
  const below20 = (word - 0x20202020) & ~word;
  const is7f = (zeroWhere7f - 0x01010101) & ~zeroWhere7f;
  return ((word | below20 | is7f) & 0x80808080) === 0;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: the bytes text never holds (isControl)
const CONTROLS = /[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f\x7f]/;

/**
 * Text with no byte that cannot be text: no control, and strictly valid UTF-8 (ASCII included),
 * which the byte scan below also accepts. Both checks are native (a compiled regular expression,
 * simdutf), so the common case costs little even before the scan's loop is optimised: a backup
 * classifies a few thousand blocks, too few for the JIT to be done warming up.
 */
function cleanText(bytes: Uint8Array): boolean {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return isUtf8(view) && !CONTROLS.test(view.toString("latin1"));
}

/**
 * Whether bytes read as text: few bytes that cannot be text where they stand — controls, and
 * bytes ≥ 0x80 that start no valid UTF-8 sequence there and are no lone Latin-1 letter — at most
 * 2 % of them, and fewer than 8 in any of the 32-byte windows. Noise has more than half its bytes
 * so: the answer is known, and given, at the first few of them.
 */
function readsAsText(bytes: Uint8Array): boolean {
  if (cleanText(bytes)) return true;
  const allowed = bytes.length * 0.02;
  let errors = 0;
  let window = 0;
  // A window restarts at each multiple of 32 the scan stands on (not one inside a UTF-8
  // sequence it steps over); plain bytes are not visited one by one for it: `from` is the first
  // position not yet checked for a restart, and every byte from there to `i` was stood on.
  let from = 0;
  // Four plain bytes at a time where the block is aligned for it (the sampler's blocks are).
  const words =
    bytes.byteOffset % 4 === 0
      ? new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length >>> 2)
      : undefined;
  for (let i = 0; i < bytes.length; ) {
    if (
      words !== undefined &&
      (i & 3) === 0 &&
      i < words.length * 4 &&
      plainWord(words[i >>> 2] as number)
    ) {
      i += 4;
      continue;
    }
    const kind = BYTE_KINDS[bytes[i] as number];
    if (kind === PLAIN) {
      i++;
      continue;
    }
    if ((i & ~31) >= from) window = 0;
    let length = 1;
    let bad = kind === CONTROL;
    if (kind === HIGH) {
      length = utf8Length(bytes, i);
      if (length === 0) {
        bad = !latin1Letter(bytes, i);
        length = 1;
      }
    }
    if (bad && (++errors > allowed || ++window >= 8)) return false;
    i += length;
    from = i;
  }
  return true;
}

/** Per byte: in the base64 (with URL-safe) alphabet, a hex digit, upper case, lower case, digit. */
const BASE64_CHAR = 1;
const HEX_CHAR = 2;
const UPPER = 4;
const LOWER = 8;
const DIGIT = 16;
const LINE_BREAK = 32;
const ARMOUR_CHARS = Uint8Array.from({ length: 256 }, (_, byte) => {
  const c = String.fromCharCode(byte);
  if (c === "\r" || c === "\n") return LINE_BREAK;
  let flags = /[A-Za-z0-9+/=_-]/.test(c) ? BASE64_CHAR : 0;
  if (/[0-9a-fA-F]/.test(c)) flags |= HEX_CHAR;
  if (c >= "A" && c <= "Z") flags |= UPPER;
  else if (c >= "a" && c <= "z") flags |= LOWER;
  else if (c >= "0" && c <= "9") flags |= DIGIT;
  return flags;
});

/**
 * Base64 or hex of random bytes: only the alphabet, no spaces, and (for base64) upper case,
 * lower case and digits in the proportions of a uniform alphabet, unlike any prose or code.
 * Line breaks are ignored; prose and code fail at their first space.
 */
function isArmour(bytes: Uint8Array): boolean {
  let length = 0;
  let hex = true;
  let upper = 0;
  let lower = 0;
  let digits = 0;
  for (let i = 0; i < bytes.length; i++) {
    const flags = ARMOUR_CHARS[bytes[i] as number] as number;
    if (flags === LINE_BREAK) continue;
    if ((flags & BASE64_CHAR) === 0) return false;
    length++;
    if ((flags & HEX_CHAR) === 0) hex = false;
    if (flags & UPPER) upper++;
    else if (flags & LOWER) lower++;
    else if (flags & DIGIT) digits++;
  }
  if (length < 128) return false;
  return hex || (upper / length > 0.2 && lower / length > 0.2 && digits / length > 0.04);
}

/** Noise: about as dense as bytes get (a random 4 KiB block scores ≈ 7.95 bits per byte). */
const NOISE_BITS = 7.2;
const MIN_JUDGED = 64;

export function classifyBlock(bytes: Uint8Array): BlockClass {
  const kind = textClass(bytes);
  if (kind !== "other") return kind;
  return isNoise(bytes) ? "noise" : "binary";
}

/**
 * A block's class short of its density: "other" is noise or binary, which only the entropy tells
 * apart (a loop over every byte). Text types and the head's checks need no more than this.
 */
export type TextClass = Exclude<BlockClass, "noise" | "binary"> | "other";

function textClass(bytes: Uint8Array): TextClass {
  if (bytes.length === 0) return "empty";
  if (allZero(bytes)) return "zeros";
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return "text";
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return "text";
  if (readsAsText(bytes)) return isArmour(bytes) ? "armour" : "text";
  return "other";
}

function isNoise(bytes: Uint8Array): boolean {
  return bytes.length >= MIN_JUDGED && entropy(bytes) >= noiseThreshold(bytes.length);
}

function allZero(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}

/** Short blocks cannot reach 8 bits per byte: n distinct values at most give log2(n). */
function noiseThreshold(length: number): number {
  return Math.min(NOISE_BITS, Math.log2(length) - 0.8);
}

/** What a sample says of its file, as the judgement reads it: the head, and whether the rest agrees. */
export interface ContentProfile {
  /** the head's class, noise and binary as one ("other") */
  readonly head: TextClass;
  /** the head is noise: as dense as random bytes */
  readonly headNoise: boolean;
  readonly format: Format | undefined;
  /** the structure the sniffed format implies is there */
  readonly intact: boolean;
  /** a middle or tail block is noise */
  readonly noisy: boolean;
  /** a middle or tail block is not text: noise or other binary */
  readonly nonText: boolean;
}

/**
 * A sample's profile, each part worked out when the judgement first asks for it: a changed file
 * needs nothing under a name of no known type; under a dense one (zip, PNG, PDF) its head as far
 * as text goes, its format and its structure; the rest of its blocks only under text and sparse
 * types, and then only until one of them answers. Entropy, a loop over every byte, is computed
 * only where noise must be told from other binary. Most of an office day's changed files need one
 * or two blocks looked at, not nine.
 */
class SampledProfile implements ContentProfile {
  private headClass: TextClass | undefined;
  private sniffed: { readonly format: Format | undefined } | undefined;
  private structure: boolean | undefined;
  private readonly rest: readonly Uint8Array[];
  private readonly restClasses: TextClass[] = [];

  constructor(private readonly sample: FileSample) {
    this.rest = sample.tail.length >= MIN_JUDGED ? [...sample.middle, sample.tail] : sample.middle;
  }

  get head(): TextClass {
    this.headClass ??= textClass(this.sample.head);
    return this.headClass;
  }

  get headNoise(): boolean {
    return this.head === "other" && isNoise(this.sample.head);
  }

  get format(): Format | undefined {
    this.sniffed ??= { format: sniffFormat(this.sample.head) };
    return this.sniffed.format;
  }

  get intact(): boolean {
    const format = this.format;
    this.structure ??= format === undefined || structureIntact(format, this.sample);
    return this.structure;
  }

  get noisy(): boolean {
    return this.rest.some((block, i) => this.restClass(i) === "other" && isNoise(block));
  }

  get nonText(): boolean {
    return this.rest.some((_, i) => this.restClass(i) === "other");
  }

  private restClass(i: number): TextClass {
    let kind = this.restClasses[i];
    if (kind === undefined) {
      kind = textClass(this.rest[i] as Uint8Array);
      this.restClasses[i] = kind;
    }
    return kind;
  }
}

/** The profile of a sample judged at once and let go (a changed file): computed as it is read. */
export function sampledProfile(sample: FileSample): ContentProfile {
  return new SampledProfile(sample);
}

/** The whole profile, for a file judged later than its sample lives (a new file: renamed?). */
export function profile(sample: FileSample): ContentProfile {
  const { head, headNoise, format, intact, noisy, nonText } = new SampledProfile(sample);
  return { head, headNoise, format, intact, noisy, nonText };
}

/**
 * The format's structure is there, or its end is gone only because readable text was appended
 * or written over it. Encryption, whole or partial, leaves noise (or armour) where the structure
 * was, never prose: so an office tool's or a script's text edit to a PNG, a zip or a PDF is not
 * taken for an attack, while random bytes appended or written there still are.
 */
function structureIntact(format: Format, sample: FileSample): boolean {
  if (!bodyIntact(format, sample)) return false;
  const end = endOf(sample);
  return endIntact(format, sample.size, end, sample.head) || endLostToText(format, sample, end);
}

function endLostToText(format: Format, sample: FileSample, end: Uint8Array): boolean {
  // Text appended beyond the sampled tail: all that can be seen of the end is prose.
  if (hasEndMarker(format) && end.length >= MIN_JUDGED && textClass(end) === "text") return true;
  // Text appended after an intact end: the file, cut where its structure ends, is whole.
  for (const cut of possibleEnds(format, sample.size, end, sample.head))
    if (
      endIntact(format, sample.size - (end.length - cut), end.subarray(0, cut), sample.head) &&
      textClass(end.subarray(cut)) === "text"
    )
      return true;
  // Text written over a zip's central directory, its end record kept.
  const directory = format === "zip" ? zipDirectoryIn(sample.size, end) : undefined;
  return directory !== undefined && textClass(directory.subarray(0, MIN_JUDGED)) === "text";
}

/**
 * - `mismatch`: the content no longer is what the extension claims (signature or structure gone,
 *   text turned into noise or armour, zero-filled, a binary format emptied);
 * - `dense`: a sparse type whose blocks turned into noise (intermittent or header-kept encryption);
 * - `ok`: consistent, or a type Rempart cannot judge (unknown extension, another known format).
 * `head` judges by the first bytes only: new files come from cameras, downloads and installers
 * whose quirks (a video appended to a JPEG, a trailer after a PDF's end) a structure check would
 * take for damage, while an attack on existing files shows as a change or a rename.
 */
export type Judgement = "ok" | "mismatch" | "dense";

export function judge(
  extension: string,
  content: ContentProfile,
  scope: "whole" | "head" = "whole",
): Judgement {
  const type = typeOfExtension(extension);
  if (!type) return "ok";
  if (content.head === "zeros") return "mismatch";
  if (type.text) {
    if (content.head === "empty") return "ok";
    // A text name over another known format is a renamed file, not a damaged one.
    if (content.head !== "text") return content.format === undefined ? "mismatch" : "ok";
    return scope === "whole" && content.nonText ? "dense" : "ok";
  }
  if (content.head === "empty") return "mismatch";
  if (content.format === undefined) return content.head === "text" ? "ok" : "mismatch";
  if (!type.formats.includes(content.format) || scope === "head") return "ok";
  if (!content.intact) return "mismatch";
  return type.sparse && content.noisy ? "dense" : "ok";
}

/** Noise with no format: what encryption writes under a name Rempart cannot judge. */
export function isUnrecognisedNoise(content: ContentProfile): boolean {
  return content.format === undefined && content.headNoise;
}
