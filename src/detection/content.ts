/**
 * What a file's sampled content looks like, and whether that matches the type its name claims.
 * Encryption leaves bytes indistinguishable from noise; armouring it as base64 or hex leaves text
 * of a tell-tale character mix. Entropy alone cannot tell encrypted JPEG from JPEG (both are
 * dense), so dense formats are judged by their structure (formats.ts) and only sparse ones (text,
 * databases, bitmaps) by the density of their blocks.
 */
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
  for (const byte of bytes) counts[byte] = (counts[byte] as number) + 1;
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

/** A Latin-1 (Windows-1252) accented letter stands alone between ASCII bytes; noise clusters. */
function latin1Letter(bytes: Uint8Array, i: number): boolean {
  const before = i === 0 ? 0x20 : (bytes[i - 1] as number);
  const after = i + 1 >= bytes.length ? 0x20 : (bytes[i + 1] as number);
  return before < 0x80 && after < 0x80 && !isControl(before) && !isControl(after);
}

/**
 * Bytes that cannot be text at position `i`: controls, and bytes ≥ 0x80 that start no valid
 * UTF-8 sequence there and are no lone Latin-1 letter. Noise has more than half its bytes so.
 */
function textErrors(bytes: Uint8Array): { total: number; worstWindow: number } {
  let total = 0;
  let window = 0;
  let worstWindow = 0;
  for (let i = 0; i < bytes.length; ) {
    if (i % 32 === 0) {
      worstWindow = Math.max(worstWindow, window);
      window = 0;
    }
    const byte = bytes[i] as number;
    let length = 1;
    let bad = isControl(byte);
    if (byte >= 0x80) {
      length =
        byte >= 0xc2 && byte <= 0xdf
          ? 2
          : byte >= 0xe0 && byte <= 0xef
            ? 3
            : byte >= 0xf0 && byte <= 0xf4
              ? 4
              : 0;
      for (let j = 1; j < length && i + j < bytes.length; j++)
        if (((bytes[i + j] as number) & 0xc0) !== 0x80) length = 0;
      if (length === 0) {
        bad = !latin1Letter(bytes, i);
        length = 1;
      }
    }
    if (bad) {
      total++;
      window++;
    }
    i += length;
  }
  return { total, worstWindow: Math.max(worstWindow, window) };
}

const BASE64 = /^[A-Za-z0-9+/=_-]*$/;
const HEX = /^[0-9a-fA-F]*$/;

/**
 * Base64 or hex of random bytes: only the alphabet, no spaces, and (for base64) upper case,
 * lower case and digits in the proportions of a uniform alphabet, unlike any prose or code.
 */
function isArmour(bytes: Uint8Array): boolean {
  const text = Buffer.from(bytes)
    .toString("latin1")
    .replace(/[\r\n]/g, "");
  if (text.length < 128) return false;
  if (HEX.test(text)) return true;
  if (!BASE64.test(text)) return false;
  let upper = 0;
  let lower = 0;
  let digits = 0;
  for (const c of text) {
    if (c >= "A" && c <= "Z") upper++;
    else if (c >= "a" && c <= "z") lower++;
    else if (c >= "0" && c <= "9") digits++;
  }
  const n = text.length;
  return upper / n > 0.2 && lower / n > 0.2 && digits / n > 0.04;
}

/** Noise: about as dense as bytes get (a random 4 KiB block scores ≈ 7.95 bits per byte). */
const NOISE_BITS = 7.2;
const MIN_JUDGED = 64;

export function classifyBlock(bytes: Uint8Array): BlockClass {
  if (bytes.length === 0) return "empty";
  if (bytes.every((b) => b === 0)) return "zeros";
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return "text";
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return "text";
  const errors = textErrors(bytes);
  if (errors.total <= bytes.length * 0.02 && errors.worstWindow < 8)
    return isArmour(bytes) ? "armour" : "text";
  if (bytes.length >= MIN_JUDGED && entropy(bytes) >= noiseThreshold(bytes.length)) return "noise";
  return "binary";
}

/** Short blocks cannot reach 8 bits per byte: n distinct values at most give log2(n). */
function noiseThreshold(length: number): number {
  return Math.min(NOISE_BITS, Math.log2(length) - 0.8);
}

/** A compact description of a sample: what the head says, whether the rest agrees. */
export interface ContentProfile {
  readonly head: BlockClass;
  readonly format: Format | undefined;
  /** the structure the sniffed format implies is there */
  readonly intact: boolean;
  /** middle and tail blocks that are noise, and those that are noise or other binary */
  readonly noisyBlocks: number;
  readonly nonTextBlocks: number;
  readonly size: number;
}

export function profile(sample: FileSample): ContentProfile {
  const format = sniffFormat(sample.head);
  const rest = [...sample.middle, ...(sample.tail.length >= MIN_JUDGED ? [sample.tail] : [])];
  let noisyBlocks = 0;
  let nonTextBlocks = 0;
  for (const block of rest) {
    const kind = classifyBlock(block);
    if (kind === "noise") noisyBlocks++;
    if (kind === "noise" || kind === "binary") nonTextBlocks++;
  }
  return {
    head: classifyBlock(sample.head),
    format,
    intact: format === undefined || structureIntact(format, sample),
    noisyBlocks,
    nonTextBlocks,
    size: sample.size,
  };
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
  if (hasEndMarker(format) && end.length >= MIN_JUDGED && classifyBlock(end) === "text")
    return true;
  // Text appended after an intact end: the file, cut where its structure ends, is whole.
  for (const cut of possibleEnds(format, sample.size, end, sample.head))
    if (
      endIntact(format, sample.size - (end.length - cut), end.subarray(0, cut), sample.head) &&
      classifyBlock(end.subarray(cut)) === "text"
    )
      return true;
  // Text written over a zip's central directory, its end record kept.
  const directory = format === "zip" ? zipDirectoryIn(sample.size, end) : undefined;
  return directory !== undefined && classifyBlock(directory.subarray(0, MIN_JUDGED)) === "text";
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
    return scope === "whole" && content.nonTextBlocks > 0 ? "dense" : "ok";
  }
  if (content.head === "empty") return "mismatch";
  if (content.format === undefined) return content.head === "text" ? "ok" : "mismatch";
  if (!type.formats.includes(content.format) || scope === "head") return "ok";
  if (!content.intact) return "mismatch";
  return type.sparse && content.noisyBlocks > 0 ? "dense" : "ok";
}

/** Noise with no format: what encryption writes under a name Rempart cannot judge. */
export function isUnrecognisedNoise(content: ContentProfile): boolean {
  return content.format === undefined && content.head === "noise";
}
