/**
 * Each content signal on crafted files: the intact file passes, the damaged one is caught, and
 * the benign look-alikes (a JPEG is dense, a renamed file is another format) pass.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import Database from "better-sqlite3";
import {
  csv,
  docx,
  encrypt,
  encryptEveryOther,
  encryptRange,
  jpeg,
  log,
  mp4,
  noise,
  pdf,
  png,
  prose,
  xlsx,
  zip,
} from "../demo/sample-files.js";
import { classifyBlock, judge, profile, sampledProfile } from "./content.js";
import { BLOCK_BYTES, type FileSample, Sampler } from "./sample.js";

/** The sample the backup would take, read in uneven pieces as the file reader does. */
function sampleOf(bytes: Uint8Array): FileSample {
  const sampler = new Sampler(bytes.length);
  for (let at = 0, step = 1000; at < bytes.length; at += step, step = step * 3 + 7)
    sampler.take(bytes.subarray(at, Math.min(bytes.length, at + step)));
  return sampler.sample();
}

const judged = (name: string, bytes: Uint8Array) =>
  judge(name.slice(name.lastIndexOf(".")), profile(sampleOf(bytes)));

const text = Buffer.from(prose("letter", 60_000));
const files: Record<string, Buffer> = {
  ".docx": docx("report", 40),
  ".xlsx": xlsx("budget", 600),
  ".pdf": pdf("invoice", 45),
  ".png": png("chart", 120, 90),
  ".jpg": jpeg("photo", 90_000),
  ".mp4": mp4("clip", 200_000),
  ".txt": text,
  ".csv": Buffer.from(csv("ledger", 1500)),
  ".log": Buffer.from(log("service", 900)),
};

describe("content signals", () => {
  it("passes every intact file of every format", () => {
    for (const [extension, bytes] of Object.entries(files))
      assert.equal(judged(`x${extension}`, bytes), "ok", extension);
  });

  it("catches whole-file encryption of every format, dense ones included", () => {
    for (const [extension, bytes] of Object.entries(files))
      if (extension !== ".mp4")
        assert.notEqual(judged(`x${extension}`, encrypt(bytes)), "ok", extension);
  });

  it("catches encryption of the first KiB only", () => {
    for (const [extension, bytes] of Object.entries(files))
      if (extension !== ".mp4")
        assert.equal(judged(`x${extension}`, encryptRange(bytes, 0, 1024)), "mismatch", extension);
  });

  it("catches header-preserving encryption by the structure the body or end must have", () => {
    for (const extension of [".docx", ".xlsx", ".pdf", ".png", ".jpg"]) {
      const bytes = files[extension] as Buffer;
      assert.equal(
        judged(`x${extension}`, encryptRange(bytes, 512, bytes.length)),
        "mismatch",
        extension,
      );
    }
    assert.equal(judged("x.txt", encryptRange(text, 512, text.length)), "mismatch");
    assert.equal(judged("x.txt", encryptRange(text, 8192, text.length)), "dense");
  });

  it("catches intermittent encryption (every other 8 KiB block) in text and JPEG", () => {
    assert.notEqual(judged("x.txt", encryptEveryOther(text, 8192)), "ok");
    const photo = files[".jpg"] as Buffer;
    assert.equal(judged("x.jpg", encryptRange(encryptEveryOther(photo, 8192), 0, 0)), "mismatch");
  });

  it("passes a JPEG whose middle holds the markers of a progressive image's scans", () => {
    const progressive = Buffer.from(files[".jpg"] as Buffer);
    // A Huffman table and a scan header every 512 bytes, as between the scans of a progressive JPEG.
    for (let at = 2048; at + 8 < progressive.length - 4096; at += 512)
      Buffer.from([0xff, 0xc4, 0x00, 0x14, 0xff, 0xda, 0x00, 0x08]).copy(progressive, at);
    assert.equal(judged("x.jpg", progressive), "ok");
    assert.equal(judged("x.jpg", encryptEveryOther(progressive, 8192)), "mismatch");
  });

  it("catches text turned into base64 or hex, by its character mix rather than its entropy", () => {
    assert.equal(judged("x.txt", Buffer.from(encrypt(text).toString("base64"))), "mismatch");
    const wrapped = encrypt(text).toString("base64").replace(/.{76}/g, "$&\r\n");
    assert.equal(judged("x.csv", Buffer.from(wrapped)), "mismatch");
    assert.equal(judged("x.log", Buffer.from(encrypt(text).toString("hex"))), "mismatch");
    assert.equal(classifyBlock(Buffer.from(prose("plain", 4096))), "text");
  });

  describe("block classes: what the fast paths must keep", () => {
    const plain = () => Buffer.from(prose("block", 4096));
    /** `block` at every alignment the word path can meet, and copied to a fresh buffer */
    const everyAlignment = (block: Uint8Array) =>
      [0, 1, 2, 3].map((shift) => {
        const room = new Uint8Array(block.length + shift);
        room.set(block, shift);
        return room.subarray(shift);
      });
    const classes = (block: Uint8Array) => new Set(everyAlignment(block).map(classifyBlock));

    it("allows fewer than 8 bad bytes in a 32-byte window, and 2 % in all", () => {
      const seven = plain();
      for (let i = 0; i < 7; i++) seven[64 + i * 4] = 0x01;
      assert.deepEqual(classes(seven), new Set(["text"]));
      const eight = plain();
      for (let i = 0; i < 8; i++) eight[64 + i * 4] = 0x01;
      assert.deepEqual(classes(eight), new Set(["binary"]));
      // 8 bad bytes either side of a window's start are two windows of 4: text
      const straddling = plain();
      for (let i = 0; i < 8; i++) straddling[92 + i] = 0x01;
      assert.deepEqual(classes(straddling), new Set(["text"]));
      // 2 % of 4096 is 81.92: 81 bad bytes spread out pass, 82 do not
      const spread = (count: number) => {
        const block = plain();
        for (let i = 0; i < count; i++) block[i * 48 + 5] = 0x7f;
        return block;
      };
      assert.deepEqual(classes(spread(81)), new Set(["text"]));
      assert.deepEqual(classes(spread(82)), new Set(["binary"]));
    });

    it("restarts a window only where the scan stands, not inside a UTF-8 sequence it steps over", () => {
      // "é" (2 bytes) over offset 32: no restart there, so 4 bad bytes before and 4 after are
      // one window of 8
      const block = plain();
      for (let i = 0; i < 4; i++) block[27 + i] = 0x02;
      block[31] = 0xc3;
      block[32] = 0xa9;
      for (let i = 0; i < 4; i++) block[33 + i] = 0x02;
      assert.deepEqual(classes(block), new Set(["binary"]));
      block[31] = 0x65;
      block[32] = 0x65;
      assert.deepEqual(classes(block), new Set(["text"]));
    });

    it("reads UTF-8 and lone Latin-1 letters as text, clustered high bytes not", () => {
      const french = "Le déjà-vu d'été à Noël, une façade naïve. ".repeat(100).slice(0, 4000);
      assert.deepEqual(classes(Buffer.from(french, "utf8")), new Set(["text"]));
      assert.deepEqual(classes(Buffer.from(french, "latin1")), new Set(["text"]));
      const clustered = plain();
      for (let i = 0; i < 100; i++) clustered[i * 40] = 0xe9;
      for (let i = 0; i < 100; i++) clustered[i * 40 + 1] = 0xe9;
      assert.deepEqual(classes(clustered), new Set(["binary"]));
    });

    it("tells armour from text by its alphabet and mix, line breaks aside", () => {
      const random = noise("armour", 3000);
      assert.deepEqual(classes(Buffer.from(random.toString("base64"))), new Set(["armour"]));
      const lines = random.toString("base64").replace(/.{64}/g, "$&\r\n");
      assert.deepEqual(classes(Buffer.from(lines)), new Set(["armour"]));
      assert.deepEqual(classes(Buffer.from(random.toString("hex"))), new Set(["armour"]));
      const spaced = Buffer.from(random.toString("base64"));
      spaced[2000] = 0x20;
      assert.deepEqual(classes(spaced), new Set(["text"]));
      assert.deepEqual(classes(Buffer.from("QUJD".repeat(31))), new Set(["text"]), "short");
      assert.deepEqual(classes(noise("block noise", 4096)), new Set(["noise"]));
      assert.deepEqual(classes(new Uint8Array(4096)), new Set(["zeros"]));
    });
  });

  it("catches wipers: zero-filled files, and binary documents emptied or cut short", () => {
    assert.equal(judged("x.docx", Buffer.alloc(50_000)), "mismatch");
    assert.equal(judged("x.txt", Buffer.alloc(50_000)), "mismatch");
    assert.equal(judged("x.pdf", Buffer.alloc(0)), "mismatch");
    const report = files[".docx"] as Buffer;
    assert.equal(judged("x.docx", report.subarray(0, report.length / 2)), "mismatch");
    assert.equal(judged("x.log", Buffer.alloc(0)), "ok", "an emptied log is a rotation");
  });

  it("passes another known format under the name (a renamed or exported file), and names it cannot judge", () => {
    assert.equal(judged("x.docx", files[".pdf"] as Buffer), "ok");
    assert.equal(judged("x.log", files[".docx"] as Buffer), "ok");
    assert.equal(judged("x.bin", noise("opaque", 30_000)), "ok");
    assert.equal(
      judged(
        "x.txt",
        Buffer.from("Prix réduit à 15 euros, déjà payé à Sèvres.\n".repeat(400), "latin1"),
      ),
      "ok",
    );
  });

  describe("a text edit to a binary file against noise written there", () => {
    const binaries: Record<string, Buffer> = {
      ".png": files[".png"] as Buffer,
      ".zip": zip([{ name: "data.bin", data: noise("archived", 20_000) }]),
      ".jar": zip([{ name: "tiny.class", data: noise("class", 300) }]),
      ".pdf": files[".pdf"] as Buffer,
      ".jpg": files[".jpg"] as Buffer,
      ".docx": files[".docx"] as Buffer,
      ".gz": gzipSync(Buffer.from(prose("compressed", 30_000))),
    };
    const note = (length: number) =>
      Buffer.from(prose("Révisé après l'audit, note ajoutée par le script", length)).subarray(
        0,
        length,
      );
    const appended = (bytes: Buffer, extra: Buffer) => Buffer.concat([bytes, extra]);
    const overEnd = (bytes: Buffer, extra: Buffer, keep: number) => {
      const copy = Buffer.from(bytes);
      extra.copy(copy, Math.max(0, copy.length - extra.length - keep));
      return copy;
    };

    it("passes readable text appended, short or longer than the sampled tail", () => {
      for (const [extension, bytes] of Object.entries(binaries))
        for (const length of [100, 1500, 4096, 9000])
          assert.equal(
            judged(`x${extension}`, appended(bytes, note(length))),
            "ok",
            `${extension} +${length}`,
          );
    });

    it("passes text written over a zip's central directory, its end record kept", () => {
      for (const extension of [".zip", ".docx"])
        assert.equal(
          judged(`x${extension}`, overEnd(binaries[extension] as Buffer, note(3000), 22)),
          "ok",
          extension,
        );
    });

    it("counts random bytes appended or written over the end as damage", () => {
      // JPEG is left out: its check accepts any tail holding an end marker, which 1 in 16 random
      // 4 KiB tails do; PDF readers accept bytes after %%EOF, so only a tail that lost it counts.
      for (const extension of [".png", ".zip", ".jar", ".pdf", ".docx"]) {
        const bytes = binaries[extension] as Buffer;
        const lengths = extension === ".pdf" ? [4096, 9000] : [100, 1500, 4096, 9000];
        for (const length of lengths)
          assert.equal(
            judged(`x${extension}`, appended(bytes, noise("cipher", length))),
            "mismatch",
            `${extension} +${length}`,
          );
        if (extension === ".zip" || extension === ".docx")
          assert.equal(
            judged(`x${extension}`, overEnd(bytes, noise("cipher", 3000), 22)),
            "mismatch",
            extension,
          );
      }
    });

    it("counts text appended after noise, or base64 appended, as damage", () => {
      for (const extension of [".png", ".zip", ".pdf", ".jpg"]) {
        const bytes = binaries[extension] as Buffer;
        const locked = appended(encryptRange(bytes, 1024, bytes.length), note(300));
        assert.equal(judged(`x${extension}`, locked), "mismatch", `${extension} encrypted + note`);
        const armoured = Buffer.from(noise("key blob", 6000).toString("base64"));
        assert.equal(
          judged(`x${extension}`, appended(bytes, armoured)),
          "mismatch",
          `${extension} + base64`,
        );
      }
    });

    it("passes text appended after a database's last page, not a database cut short", () => {
      const dir = mkdtempSync(join(tmpdir(), "rempart-detect-"));
      try {
        const db = new Database(join(dir, "app.sqlite"));
        db.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)");
        const insert = db.prepare("INSERT INTO notes (body) VALUES (?)");
        for (let i = 0; i < 300; i++) insert.run(prose(`note ${i}`, 300));
        db.close();
        const database = readFileSync(join(dir, "app.sqlite"));
        assert.equal(judged("x.sqlite", database), "ok");
        assert.equal(judged("x.sqlite", appended(database, note(700))), "ok");
        assert.equal(judged("x.sqlite", appended(database, noise("cipher", 700))), "mismatch");
        assert.equal(judged("x.sqlite", database.subarray(0, database.length - 700)), "mismatch");
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  it("judges new files by their head only: a video appended to a JPEG is not damage", () => {
    const motionPhoto = Buffer.concat([files[".jpg"] as Buffer, mp4("motion", 300_000)]);
    assert.equal(judged("x.jpg", motionPhoto), "mismatch");
    assert.equal(judge(".jpg", profile(sampleOf(motionPhoto)), "head"), "ok");
  });

  it("judges a changed file from the blocks its type needs alone, as from the whole profile", () => {
    const variants = (bytes: Buffer): Buffer[] => [
      bytes,
      encrypt(bytes),
      encryptRange(bytes, 0, 2048),
      encryptRange(bytes, BLOCK_BYTES, bytes.length),
      encryptEveryOther(bytes, 16_384),
      Buffer.from(encrypt(bytes).toString("base64")),
      Buffer.alloc(bytes.length),
      bytes.subarray(0, bytes.length >> 1),
      Buffer.concat([bytes, Buffer.from(prose("appended", 5000))]),
      Buffer.concat([bytes, noise("appended", 700)]),
    ];
    const extensions = [...Object.keys(files), ".sqlite", ".bmp", ".zip", ".gz", ".unknown", ""];
    for (const [kind, original] of Object.entries(files))
      variants(original).forEach((bytes, variant) => {
        const sample = sampleOf(bytes);
        const whole = profile(sample);
        for (const extension of extensions)
          for (const scope of ["whole", "head"] as const)
            assert.equal(
              judge(extension, sampledProfile(sample), scope),
              judge(extension, whole, scope),
              `${kind} variant ${variant} judged as ${extension} (${scope})`,
            );
      });
  });

  it("samples the head and the tail of files of every size around a block", () => {
    for (const size of [0, 1, 100, 4095, 4096, 4097, 8191, 8192, 8193, 16_383, 16_384, 16_385]) {
      const bytes = noise(`size ${size}`, size);
      const sample = sampleOf(bytes);
      const head = Math.min(size, BLOCK_BYTES);
      assert.equal(sample.size, size);
      assert.deepEqual(sample.head, new Uint8Array(bytes.subarray(0, head)), `head of ${size}`);
      const tail = Math.min(BLOCK_BYTES, size - head);
      assert.deepEqual(sample.tail, new Uint8Array(bytes.subarray(size - tail)), `tail of ${size}`);
      for (const block of sample.middle) assert.equal(block.length, BLOCK_BYTES);
    }
  });

  it("samples head, tail and middle blocks of a file read in pieces", () => {
    const bytes = noise("sampled", 100_000);
    const sample = sampleOf(bytes);
    assert.deepEqual(sample.head, new Uint8Array(bytes.subarray(0, 4096)));
    assert.deepEqual(sample.tail, new Uint8Array(bytes.subarray(100_000 - 4096)));
    assert.equal(sample.middle.length, 7);
    const at = Math.floor((100_000 * 4) / 8);
    assert.deepEqual(sample.middle[3], new Uint8Array(bytes.subarray(at, at + 4096)));
  });
});
