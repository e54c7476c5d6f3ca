/**
 * File formats: how to recognise one from its first bytes, which formats a file's extension
 * claims, and the cheap structure checks that tell an intact file from one whose body or end was
 * overwritten (the checks header-preserving and partial encryption fail).
 */
import type { FileSample } from "./sample.js";

export type Format =
  | "zip"
  | "pdf"
  | "png"
  | "jpeg"
  | "gif"
  | "sqlite"
  | "ole"
  | "gzip"
  | "7z"
  | "rar"
  | "xz"
  | "bzip2"
  | "zstd"
  | "bmp"
  | "tiff"
  | "isobmff"
  | "riff"
  | "psd"
  | "pe"
  | "elf"
  | "mp3"
  | "ebml"
  | "ogg"
  | "flac"
  | "wasm"
  | "class"
  | "woff"
  | "font"
  | "kdbx";

interface Magic {
  readonly format: Format;
  readonly offset: number;
  readonly bytes: readonly number[];
}

const ascii = (text: string): number[] => [...text].map((c) => c.charCodeAt(0));

const MAGICS: readonly Magic[] = [
  { format: "zip", offset: 0, bytes: [0x50, 0x4b, 0x03, 0x04] },
  { format: "zip", offset: 0, bytes: [0x50, 0x4b, 0x05, 0x06] },
  { format: "pdf", offset: 0, bytes: ascii("%PDF-") },
  { format: "png", offset: 0, bytes: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] },
  { format: "jpeg", offset: 0, bytes: [0xff, 0xd8, 0xff] },
  { format: "gif", offset: 0, bytes: ascii("GIF8") },
  { format: "sqlite", offset: 0, bytes: [...ascii("SQLite format 3"), 0] },
  { format: "ole", offset: 0, bytes: [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1] },
  { format: "gzip", offset: 0, bytes: [0x1f, 0x8b] },
  { format: "7z", offset: 0, bytes: [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c] },
  { format: "rar", offset: 0, bytes: [...ascii("Rar!"), 0x1a, 0x07] },
  { format: "xz", offset: 0, bytes: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00] },
  { format: "bzip2", offset: 0, bytes: ascii("BZh") },
  { format: "zstd", offset: 0, bytes: [0x28, 0xb5, 0x2f, 0xfd] },
  { format: "bmp", offset: 0, bytes: ascii("BM") },
  { format: "tiff", offset: 0, bytes: [0x49, 0x49, 0x2a, 0x00] },
  { format: "tiff", offset: 0, bytes: [0x4d, 0x4d, 0x00, 0x2a] },
  { format: "isobmff", offset: 4, bytes: ascii("ftyp") },
  { format: "riff", offset: 0, bytes: ascii("RIFF") },
  { format: "psd", offset: 0, bytes: ascii("8BPS") },
  { format: "pe", offset: 0, bytes: ascii("MZ") },
  { format: "elf", offset: 0, bytes: [0x7f, ...ascii("ELF")] },
  { format: "mp3", offset: 0, bytes: ascii("ID3") },
  { format: "ebml", offset: 0, bytes: [0x1a, 0x45, 0xdf, 0xa3] },
  { format: "ogg", offset: 0, bytes: ascii("OggS") },
  { format: "flac", offset: 0, bytes: ascii("fLaC") },
  { format: "wasm", offset: 0, bytes: [0, ...ascii("asm")] },
  { format: "class", offset: 0, bytes: [0xca, 0xfe, 0xba, 0xbe] },
  { format: "woff", offset: 0, bytes: ascii("wOF") },
  { format: "font", offset: 0, bytes: [0x00, 0x01, 0x00, 0x00, 0x00] },
  { format: "font", offset: 0, bytes: ascii("OTTO") },
  { format: "kdbx", offset: 0, bytes: [0x03, 0xd9, 0xa2, 0x9a] },
];

/** The format the first bytes announce, if any. */
export function sniffFormat(head: Uint8Array): Format | undefined {
  for (const magic of MAGICS) if (bytesAt(head, magic.offset, magic.bytes)) return magic.format;
  // PDF allows junk before its header (within the first KiB).
  if (indexOf(head.subarray(0, 1024), PDF_HEADER) >= 0) return "pdf";
  return undefined;
}

/**
 * What an extension claims. `text` files must read as text; `sparse` formats are not dense
 * already, so noise in their blocks is a change of nature (JPEG and zip are dense, text is not).
 */
export interface FileType {
  readonly formats: readonly Format[];
  readonly text?: true;
  readonly sparse?: true;
}

const TEXT: FileType = { formats: [], text: true, sparse: true };
const types = new Map<string, FileType>();
function claim(extensions: string, type: FileType): void {
  for (const extension of extensions.split(" ")) types.set(`.${extension}`, type);
}
claim(
  "txt md csv tsv log json xml html htm css js mjs cjs ts py rb java c h cpp hpp cs go rs php sh " +
    "bat ps1 ini cfg conf yaml yml toml sql tex rtf svg srt vtt ics vcf eml",
  TEXT,
);
claim("zip docx xlsx pptx docm xlsm pptm odt ods odp odg epub jar apk vsdx xps", {
  formats: ["zip"],
});
claim("pdf", { formats: ["pdf"] });
claim("png", { formats: ["png"] });
claim("jpg jpeg jpe jfif", { formats: ["jpeg"] });
claim("gif", { formats: ["gif"] });
claim("sqlite sqlite3 db3", { formats: ["sqlite"], sparse: true });
claim("db", { formats: ["sqlite", "ole"] });
claim("doc xls ppt msg vsd pub", { formats: ["ole"] });
claim("gz tgz", { formats: ["gzip"] });
claim("7z", { formats: ["7z"] });
claim("rar", { formats: ["rar"] });
claim("xz", { formats: ["xz"] });
claim("bz2", { formats: ["bzip2"] });
claim("zst", { formats: ["zstd"] });
claim("bmp", { formats: ["bmp"], sparse: true });
claim("tif tiff", { formats: ["tiff"] });
claim("mp4 m4a m4v mov heic heif 3gp avif", { formats: ["isobmff"] });
claim("wav avi webp", { formats: ["riff"] });
claim("psd", { formats: ["psd"] });
claim("exe dll sys", { formats: ["pe"] });
claim("mp3", { formats: ["mp3"] });
claim("mkv webm", { formats: ["ebml"] });
claim("ogg oga opus", { formats: ["ogg"] });
claim("flac", { formats: ["flac"] });
claim("kdbx", { formats: ["kdbx"] });

/** The type a (lowercase, dotted) extension claims, if Rempart knows it. */
export function typeOfExtension(extension: string): FileType | undefined {
  return types.get(extension);
}

/**
 * Whether the parts of the file the sample holds are consistent with `format` beyond its magic.
 * Only checks that an intact file of the format always passes; formats without a cheap check pass.
 */
export function structureIntact(format: Format, sample: FileSample): boolean {
  return bodyIntact(format, sample) && endIntact(format, sample.size, endOf(sample), sample.head);
}

/** The last bytes of a file the sample holds: its tail, or its head when the file is that short. */
export function endOf(sample: FileSample): Uint8Array {
  return sample.tail.length > 0 ? sample.tail : sample.head;
}

/** What the head and the middle blocks must look like, whatever the end holds. */
export function bodyIntact(format: Format, sample: FileSample): boolean {
  if (format === "jpeg") return sample.middle.every(jpegScanDataPlausible);
  if (format === "isobmff") return secondBoxPlausible(sample.head);
  return true;
}

/**
 * Whether a file of `format` and `size` whose last bytes are `end` ends as the format requires:
 * its end record or marker is there (zip, PDF, PNG, JPEG, GIF), or its size is a whole number of
 * pages or sectors (SQLite, OLE).
 */
export function endIntact(
  format: Format,
  size: number,
  end: Uint8Array,
  head: Uint8Array,
): boolean {
  switch (format) {
    case "zip":
      return zipDirectoryIntact(size, end);
    case "pdf":
      return indexOf(end, PDF_EOF) >= 0;
    case "png":
      return indexOf(end.subarray(Math.max(0, end.length - 64)), PNG_IEND) >= 0;
    case "jpeg":
      return indexOf(end, JPEG_EOI) >= 0;
    case "gif":
      return end.at(-1) === 0x3b;
    case "sqlite": {
      const pageSize = sqlitePageSize(head);
      return pageSize !== undefined && size % pageSize === 0;
    }
    case "ole":
      return size % OLE_SECTOR === 0;
    default:
      return true;
  }
}

/**
 * Where in `end` an intact file of `format` could have stopped, had bytes been appended after it:
 * just past each end marker (and a zip's comment), or at the last page or sector boundary.
 */
export function possibleEnds(
  format: Format,
  size: number,
  end: Uint8Array,
  head: Uint8Array,
): number[] {
  const unit = format === "sqlite" ? sqlitePageSize(head) : format === "ole" ? OLE_SECTOR : 0;
  if (unit !== undefined && unit > 0) {
    const cut = end.length - (size % unit);
    return cut >= 0 && cut < end.length ? [cut] : [];
  }
  const marker = END_MARKERS.get(format);
  if (!marker) return [];
  const ends: number[] = [];
  for (let at = indexOf(end, marker.bytes); at >= 0; at = indexOf(end, marker.bytes, at + 1))
    ends.push(Math.min(end.length, at + marker.bytes.length + marker.after(end, at)));
  return ends;
}

/** Formats whose end is a marker: any bytes may precede it, only its own bytes must be last. */
export function hasEndMarker(format: Format): boolean {
  return END_MARKERS.has(format);
}

/** The bytes of `end` where the zip directory named by the end record must be, if it is there. */
export function zipDirectoryIn(size: number, end: Uint8Array): Uint8Array | undefined {
  const record = zipEndRecord(size, end);
  if (!record) return undefined;
  const start = record.directoryOffset - (size - end.length);
  return start >= 0 && start < record.at ? end.subarray(start, record.at) : undefined;
}

const PDF_HEADER = Buffer.from("%PDF-", "latin1");
const PDF_EOF = Buffer.from("%%EOF", "latin1");
const PNG_IEND = Buffer.from([...ascii("IEND"), 0xae, 0x42, 0x60, 0x82]);
const JPEG_EOI = Buffer.from([0xff, 0xd9]);
const ZIP_EOCD = Buffer.from([0x50, 0x4b, 0x05, 0x06]);
const ZIP_CENTRAL = Buffer.from([0x50, 0x4b, 0x01, 0x02]);
const OLE_SECTOR = 512;

/** An end marker, and how many bytes after it still belong to the format (a zip comment). */
interface EndMarker {
  readonly bytes: Uint8Array;
  readonly after: (end: Uint8Array, at: number) => number;
}
const nothingAfter = (): number => 0;
const END_MARKERS = new Map<Format, EndMarker>([
  [
    "zip",
    {
      bytes: ZIP_EOCD,
      // The rest of the 22-byte record, then the comment whose length it states.
      after: (end, at) => ZIP_EOCD_BYTES - ZIP_EOCD.length + zipCommentLength(end, at),
    },
  ],
  ["pdf", { bytes: PDF_EOF, after: nothingAfter }],
  ["png", { bytes: PNG_IEND, after: nothingAfter }],
  ["jpeg", { bytes: JPEG_EOI, after: nothingAfter }],
  ["gif", { bytes: Buffer.from([0x3b]), after: nothingAfter }],
]);

interface ZipEndRecord {
  readonly at: number;
  readonly directorySize: number;
  readonly directoryOffset: number;
}

const ZIP_EOCD_BYTES = 22;

/** The length of the comment after the end record at `at`, as the record states it. */
function zipCommentLength(end: Uint8Array, at: number): number {
  return at + ZIP_EOCD_BYTES <= end.length
    ? (end[at + 20] as number) | ((end[at + 21] as number) << 8)
    : 0;
}

/** The last end-of-central-directory record in `end`, whole. */
function zipEndRecord(size: number, end: Uint8Array): ZipEndRecord | undefined {
  const at = lastIndexOf(end, ZIP_EOCD);
  if (at < 0 || at + ZIP_EOCD_BYTES > end.length || size < end.length) return undefined;
  const view = new DataView(end.buffer, end.byteOffset, end.byteLength);
  return {
    at,
    directorySize: view.getUint32(at + 12, true),
    directoryOffset: view.getUint32(at + 16, true),
  };
}

/**
 * The end-of-central-directory record and its comment must close the file, and the directory it
 * points to must end where the record starts (zip64 and self-extracting archives excepted: offset 0xffffffff or
 * data prepended). When the directory starts inside the tail, its first entry must be there.
 */
function zipDirectoryIntact(size: number, end: Uint8Array): boolean {
  const record = zipEndRecord(size, end);
  if (!record) return false;
  const { at, directorySize, directoryOffset } = record;
  if (at + ZIP_EOCD_BYTES + zipCommentLength(end, at) !== end.length) return false;
  if (directoryOffset === 0xffffffff) return true;
  const recordOffset = size - end.length + at;
  if (directoryOffset + directorySize > recordOffset) return false;
  const inEnd = directoryOffset - (size - end.length);
  if (directoryOffset + directorySize === recordOffset && inEnd >= 0 && directorySize > 0)
    return bytesAt(end, inEnd, ZIP_CENTRAL);
  return true;
}

/**
 * Inside JPEG entropy-coded data a 0xFF byte is followed by 0x00 (stuffing), a restart marker
 * (D0–D7), another 0xFF, or a marker: C0–CF (frames, Huffman tables), D8–DF (DQT, SOS of each
 * scan of a progressive image), E0–FE (metadata). No JPEG has 0xFF before 0x01–0xBF, which random
 * bytes put there about 12 times per 4 KiB block; a few are allowed for binary metadata.
 */
function jpegScanDataPlausible(block: Uint8Array): boolean {
  let impossible = 0;
  for (let i = 0; i + 1 < block.length; i++) {
    if (block[i] !== 0xff) continue;
    const next = block[i + 1] as number;
    if (next >= 0x01 && next <= 0xbf) impossible++;
  }
  return impossible <= 6;
}

/** The page size a database header states, if it is a valid one; the file is whole pages. */
function sqlitePageSize(head: Uint8Array): number | undefined {
  if (head.length < 18) return undefined;
  const raw = ((head[16] as number) << 8) | (head[17] as number);
  const pageSize = raw === 1 ? 65536 : raw;
  return pageSize >= 512 && (pageSize & (pageSize - 1)) === 0 ? pageSize : undefined;
}

/** After the `ftyp` box comes another box whose type is four printable characters. */
function secondBoxPlausible(head: Uint8Array): boolean {
  if (head.length < 8) return false;
  const size = new DataView(head.buffer, head.byteOffset, head.byteLength).getUint32(0);
  if (size < 8) return false;
  if (size + 8 > head.length) return true;
  for (let i = size + 4; i < size + 8; i++) {
    const c = head[i] as number;
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

/** Whether `bytes` stand at `offset` of `haystack`. */
function bytesAt(haystack: Uint8Array, offset: number, bytes: ArrayLike<number>): boolean {
  for (let i = 0; i < bytes.length; i++) if (haystack[offset + i] !== bytes[i]) return false;
  return true;
}

// Buffer's own searches (memchr-based): they run over the sampled tail of every file read.
const asBuffer = (bytes: Uint8Array): Buffer =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

function indexOf(haystack: Uint8Array, needle: Uint8Array, from = 0): number {
  return asBuffer(haystack).indexOf(needle, from);
}

function lastIndexOf(haystack: Uint8Array, needle: Uint8Array): number {
  return asBuffer(haystack).lastIndexOf(needle);
}
