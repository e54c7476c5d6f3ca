/**
 * Real-looking files of the formats detection judges, built from a seed, and the ways attacks
 * damage them (a real cipher: AES-256-CTR from node:crypto). Runtime code because `rempart demo`
 * backs up and attacks them; the detection tests and `npm run eval:detect` use this one copy. The office files are valid zips with the entries Word and Excel need;
 * the PDF has its xref and trailer; the PNG decodes; the JPEG has a valid marker structure and
 * byte-stuffed scan data (its pixels are noise).
 */
import { createCipheriv, createHash } from "node:crypto";
import { deflateRawSync, deflateSync } from "node:zlib";

/** Deterministic bytes: SHA-256 in counter mode. */
export function noise(seed: string, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0, block = 0; i < length; block++) {
    const digest = createHash("sha256").update(`${seed}:${block}`).digest();
    i += digest.copy(out, i);
  }
  return out;
}

const WORDS = (
  "the quarterly report shows revenue growth in every region while costs for logistics and " +
  "staff remained stable according to the finance team who reviewed invoices contracts and " +
  "client orders before the board meeting on Tuesday afternoon with Marie Dupont and partners"
).split(" ");

export function prose(seed: string, length: number): string {
  const bytes = noise(seed, Math.ceil(length / 4) + 16);
  let text = "";
  for (let i = 0; text.length < length; i++) {
    text += WORDS[(bytes[i % bytes.length] as number) % WORDS.length];
    text += i % 13 === 12 ? ".\n" : " ";
  }
  return text.slice(0, length);
}

export function csv(seed: string, rows: number): string {
  const bytes = noise(seed, rows * 4);
  const lines = ["date,client,amount,status"];
  for (let i = 0; i < rows; i++)
    lines.push(
      `2026-0${(i % 9) + 1}-1${i % 10},client-${bytes[i]},${(bytes.readUInt16LE(i * 2) / 7).toFixed(2)},paid`,
    );
  return `${lines.join("\n")}\n`;
}

export function log(seed: string, lines: number): string {
  const bytes = noise(seed, lines);
  const out: string[] = [];
  for (let i = 0; i < lines; i++)
    out.push(
      `2026-11-30T08:${String(i % 60).padStart(2, "0")}:00Z INFO worker ${bytes[i]} processed request ${i} in ${(bytes[i] as number) % 90} ms`,
    );
  return `${out.join("\n")}\n`;
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of bytes) c = (CRC_TABLE[(c ^ byte) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A zip of deflated entries, with its central directory and end record. */
export function zip(entries: readonly { name: string; data: Buffer }[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const { name, data } of entries) {
    const packed = deflateRawSync(data);
    const nameBytes = Buffer.from(name);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(packed.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, packed);
    centrals.push(central, nameBytes);
    offset += 30 + nameBytes.length + packed.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

const xml = (body: string) =>
  Buffer.from(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n${body}`);

/** A Word document with `paragraphs` of prose and an embedded picture (dense, as real ones). */
export function docx(seed: string, paragraphs: number): Buffer {
  const text = Array.from(
    { length: paragraphs },
    (_, i) => `<w:p><w:r><w:t>${prose(`${seed}:${i}`, 400)}</w:t></w:r></w:p>`,
  );
  return zip([
    {
      name: "[Content_Types].xml",
      data: xml(
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
      ),
    },
    {
      name: "_rels/.rels",
      data: xml(
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>',
      ),
    },
    {
      name: "word/document.xml",
      data: xml(
        `<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>${text.join("")}</w:body></w:document>`,
      ),
    },
    { name: "word/media/image1.png", data: png(`${seed}:img`, 48, 32) },
  ]);
}

/** An Excel workbook with one sheet of `rows` numeric rows. */
export function xlsx(seed: string, rows: number): Buffer {
  const bytes = noise(seed, rows * 2);
  const cells = Array.from(
    { length: rows },
    (_, i) =>
      `<row r="${i + 1}"><c r="A${i + 1}"><v>${bytes.readUInt16LE(i * 2)}</v></c><c r="B${i + 1}"><v>${i * 3.5}</v></c></row>`,
  );
  return zip([
    {
      name: "[Content_Types].xml",
      data: xml(
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
      ),
    },
    {
      name: "_rels/.rels",
      data: xml(
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
      ),
    },
    {
      name: "xl/workbook.xml",
      data: xml(
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>',
      ),
    },
    {
      name: "xl/_rels/workbook.xml.rels",
      data: xml(
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
      ),
    },
    {
      name: "xl/worksheets/sheet1.xml",
      data: xml(
        `<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>${cells.join("")}</sheetData></worksheet>`,
      ),
    },
  ]);
}

/** A PDF of one page whose content stream is compressed prose; xref offsets are exact. */
export function pdf(seed: string, paragraphs: number): Buffer {
  const content = deflateSync(
    Buffer.from(
      Array.from(
        { length: paragraphs },
        (_, i) => `BT /F1 11 Tf 72 ${700 - i * 14} Td (${prose(`${seed}:${i}`, 90)}) Tj ET`,
      ).join("\n"),
    ),
  );
  const objects = [
    Buffer.from("<< /Type /Catalog /Pages 2 0 R >>"),
    Buffer.from("<< /Type /Pages /Kids [3 0 R] /Count 1 >>"),
    Buffer.from(
      "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
    ),
    Buffer.concat([
      Buffer.from(`<< /Length ${content.length} /Filter /FlateDecode >>\nstream\n`),
      content,
      Buffer.from("\nendstream"),
    ]),
    Buffer.from("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"),
  ];
  const parts: Buffer[] = [Buffer.from("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "latin1")];
  const offsets: number[] = [];
  let length = parts[0]?.length ?? 0;
  objects.forEach((body, i) => {
    offsets.push(length);
    const object = Buffer.concat([
      Buffer.from(`${i + 1} 0 obj\n`),
      body,
      Buffer.from("\nendobj\n"),
    ]);
    parts.push(object);
    length += object.length;
  });
  const xref = `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, "0")} 00000 n \n`).join("")}`;
  parts.push(
    Buffer.from(
      `${xref}trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${length}\n%%EOF\n`,
    ),
  );
  return Buffer.concat(parts);
}

function pngChunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, "latin1");
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])));
  return Buffer.concat([head, data, crc]);
}

/** An RGB PNG of gradients with some noise (it compresses, as photos in PNG barely do). */
export function png(seed: string, width: number, height: number): Buffer {
  const grain = noise(seed, width * height);
  const rows: Buffer[] = [];
  for (let y = 0; y < height; y++) {
    const row = Buffer.alloc(1 + width * 3);
    for (let x = 0; x < width; x++) {
      const g = grain[y * width + x] as number;
      row[1 + x * 3] = (x * 4 + (g & 15)) & 255;
      row[2 + x * 3] = (y * 4 + (g >> 4)) & 255;
      row[3 + x * 3] = (x + y + g) & 255;
    }
    rows.push(row);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8;
  header[9] = 2;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk("IHDR", header),
    pngChunk("IDAT", deflateSync(Buffer.concat(rows))),
    pngChunk("IEND", Buffer.alloc(0)),
  ]);
}

/** A baseline JPEG's markers (SOI, JFIF, DQT, SOF0, DHT, SOS … EOI) around `scanBytes` of stuffed scan data. */
export function jpeg(seed: string, scanBytes: number): Buffer {
  const segment = (marker: number, body: Buffer) => {
    const head = Buffer.from([0xff, marker, 0, 0]);
    head.writeUInt16BE(body.length + 2, 2);
    return Buffer.concat([head, body]);
  };
  const scan: number[] = [];
  for (const byte of noise(seed, scanBytes)) {
    scan.push(byte);
    if (byte === 0xff) scan.push(0x00);
  }
  return Buffer.concat([
    Buffer.from([0xff, 0xd8]),
    segment(0xe0, Buffer.from([0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 72, 0, 72, 0, 0])),
    segment(0xdb, Buffer.concat([Buffer.from([0]), Buffer.alloc(64, 16)])),
    segment(0xc0, Buffer.from([8, 0, 64, 0, 64, 3, 1, 0x22, 0, 2, 0x11, 0, 3, 0x11, 0])),
    segment(
      0xc4,
      Buffer.concat([
        Buffer.from([0]),
        Buffer.from([0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]),
        Buffer.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]),
      ]),
    ),
    segment(0xda, Buffer.from([3, 1, 0, 2, 0, 3, 0, 0, 63, 0])),
    Buffer.from(scan),
    Buffer.from([0xff, 0xd9]),
  ]);
}

/** An MP4: `ftyp`, then an `mdat` of dense (already compressed) media. */
export function mp4(seed: string, mediaBytes: number): Buffer {
  const ftyp = Buffer.from("00000014667479706d703432000000006d703432", "hex");
  const mdat = Buffer.alloc(8);
  mdat.writeUInt32BE(mediaBytes + 8);
  mdat.write("mdat", 4, "latin1");
  return Buffer.concat([ftyp, mdat, noise(seed, mediaBytes)]);
}

const KEY = createHash("sha256").update("attacker key").digest();

/** AES-256-CTR: output as dense as any cipher's, the length unchanged. 16-byte iv, 32-byte key. */
export function encrypt(
  data: Uint8Array,
  iv: string | Uint8Array = "0123456789abcdef",
  key: Uint8Array = KEY,
): Buffer {
  const cipher = createCipheriv("aes-256-ctr", key, typeof iv === "string" ? Buffer.from(iv) : iv);
  return Buffer.concat([cipher.update(data), cipher.final()]);
}

/** Encrypts `[from, to)` in place (a copy is returned). */
export function encryptRange(data: Uint8Array, from: number, to: number): Buffer {
  const out = Buffer.from(data);
  const end = Math.min(to, out.length);
  if (from < end) encrypt(out.subarray(from, end)).copy(out, from);
  return out;
}

/** Encrypts every other `block` bytes, starting with the first (intermittent encryption). */
export function encryptEveryOther(data: Uint8Array, block: number): Buffer {
  let out: Buffer = Buffer.from(data);
  for (let at = 0; at < out.length; at += 2 * block) out = encryptRange(out, at, at + block);
  return out;
}
