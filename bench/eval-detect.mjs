#!/usr/bin/env node
// `npm run eval:detect`: attack and benign scenarios on a tree of real-looking files (DOCX, XLSX,
// PDF, PNG, JPEG, MP4, text, CSV, logs, an SQLite database, software), each backed up with the
// built CLI: an initial backup, a normal office day (the baseline), then the scenario's day. Prints
// each scenario's verdict, score and margin to the `suspicious` line (40), the detection rate and
// the false-positive rate, and writes them to bench/.work/eval-detect.json. See docs/DETECTION.md.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
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
} from "../dist/demo/sample-files.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CLI = path.join(ROOT, "bin", "rempart.js");
const SUSPICIOUS = 40;
const env = { ...process.env, REMPART_PASSWORD: "eval detect" };

function rempart(...args) {
  return execFileSync(process.execPath, [CLI, ...args], {
    env,
    encoding: "utf8",
    maxBuffer: 1 << 26,
  });
}

function backup(repo, src) {
  const lines = rempart("backup", "--repo", repo, "--json", src).trim().split("\n");
  return JSON.parse(lines.at(-1)).detection;
}

const write = (file, bytes) => {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, bytes);
};

/** Every regular file below `dir`, relative paths. */
function filesBelow(dir, prefix = "") {
  return fs.readdirSync(path.join(dir, prefix), { withFileTypes: true }).flatMap((entry) => {
    const relative = path.join(prefix, entry.name);
    return entry.isDirectory() ? filesBelow(dir, relative) : [relative];
  });
}

// --------------------------------------------------------------------------------------------
// The tree: an office of five departments, logs, a database and an installed program.

function makeTree(src) {
  for (const dept of ["finance", "hr", "sales", "legal"]) {
    for (let i = 0; i < 10; i++)
      write(`${src}/${dept}/memo-${i}.docx`, docx(`${dept} memo ${i}`, 6 + (i % 5) * 4));
    for (let i = 0; i < 6; i++)
      write(`${src}/${dept}/sheet-${i}.xlsx`, xlsx(`${dept} sheet ${i}`, 80 + i * 40));
    for (let i = 0; i < 6; i++)
      write(`${src}/${dept}/report-${i}.pdf`, pdf(`${dept} report ${i}`, 10 + i * 5));
    for (let i = 0; i < 4; i++)
      write(`${src}/${dept}/notes-${i}.txt`, prose(`${dept} notes ${i}`, 3000 + i * 5000));
    for (let i = 0; i < 3; i++)
      write(`${src}/${dept}/export-${i}.csv`, csv(`${dept} export ${i}`, 100 + i * 300));
  }
  for (let i = 0; i < 12; i++)
    write(`${src}/marketing/photo-${i}.jpg`, jpeg(`photo ${i}`, 40_000 + i * 9000));
  for (let i = 0; i < 8; i++)
    write(`${src}/marketing/chart-${i}.png`, png(`chart ${i}`, 60 + i * 10, 50));
  for (let i = 0; i < 2; i++) write(`${src}/marketing/clip-${i}.mp4`, mp4(`clip ${i}`, 300_000));
  for (let i = 0; i < 8; i++)
    write(`${src}/logs/service-2026-10-${10 + i}.log`, log(`log ${i}`, 800));
  write(`${src}/logs/service.log`, log("current log", 400));
  for (let i = 0; i < 6; i++)
    write(`${src}/projects/2019-archive/plan-${i}.docx`, docx(`old plan ${i}`, 10));
  for (let i = 0; i < 4; i++)
    write(`${src}/projects/2019-archive/draft-${i}.txt`, prose(`old draft ${i}`, 8000));
  writeSoftware(src, "1.0");
  makeDatabase(`${src}/db/app.sqlite`);
}

function writeSoftware(src, version) {
  for (let i = 0; i < 10; i++)
    write(
      `${src}/software/app/module-${i}.js`,
      `// app ${version}\n${prose(`code ${version} ${i}`, 5000)}`,
    );
  for (let i = 0; i < 4; i++)
    write(
      `${src}/software/app/lib-${i}.dll`,
      Buffer.concat([Buffer.from("MZ"), noise(`dll ${version} ${i}`, 60_000)]),
    );
  write(`${src}/software/app/resources.pak`, noise(`pak ${version}`, 200_000));
  write(`${src}/software/app/version.json`, JSON.stringify({ version, built: "2026-11-30" }));
}

function makeDatabase(file) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file);
  db.exec("CREATE TABLE IF NOT EXISTS orders (id INTEGER PRIMARY KEY, client TEXT, note TEXT)");
  const insert = db.prepare("INSERT INTO orders (client, note) VALUES (?, ?)");
  for (let i = 0; i < 1500; i++) insert.run(`client ${i % 97}`, prose(`order ${i}`, 120));
  db.close();
}

/** A normal day: a few notes edited, documents re-saved, a new report. */
function officeDay(src, seed) {
  write(`${src}/hr/notes-1.txt`, `${prose("hr notes 1", 8000)}\n${prose(seed, 300)}\n`);
  write(`${src}/sales/memo-2.docx`, docx(`sales memo 2 ${seed}`, 12));
  write(`${src}/finance/sheet-3.xlsx`, xlsx(`finance sheet 3 ${seed}`, 220));
  write(`${src}/legal/report-new-${seed}.pdf`, pdf(`new report ${seed}`, 12));
  fs.appendFileSync(`${src}/logs/service.log`, log(`more ${seed}`, 50));
}

// --------------------------------------------------------------------------------------------
// Attacks: what each does to the tree (`victims` picks the files).

const documents = (src) =>
  filesBelow(src).filter((f) => !f.startsWith("software/") && !f.startsWith("db/"));
const rewrite = (src, files, transform) => {
  for (const f of files)
    fs.writeFileSync(path.join(src, f), transform(fs.readFileSync(path.join(src, f)), f));
};
const noteIn = (dir) =>
  write(path.join(dir, "HOW_TO_DECRYPT_FILES.txt"), "Your files are encrypted. Pay 2 BTC to ...\n");

const attacks = {
  "encrypt in place": (src) => rewrite(src, documents(src), (b) => encrypt(b)),
  "encrypt, rename .locked, ransom notes": (src) => {
    for (const f of documents(src)) {
      const full = path.join(src, f);
      fs.writeFileSync(`${full}.locked`, encrypt(fs.readFileSync(full)));
      fs.rmSync(full);
      noteIn(path.dirname(full));
    }
  },
  "encrypt to new files, delete originals": (src) => {
    for (const f of documents(src)) {
      const full = path.join(src, f);
      fs.writeFileSync(
        path.join(
          path.dirname(full),
          `${path.basename(f, path.extname(f))}.${noise(f, 3).toString("hex")}`,
        ),
        encrypt(fs.readFileSync(full)),
      );
      fs.rmSync(full);
    }
  },
  "first 2 KiB only": (src) => rewrite(src, documents(src), (b) => encryptRange(b, 0, 2048)),
  "every other 16 KiB block": (src) =>
    rewrite(src, documents(src), (b) => encryptEveryOther(b, 16 * 1024)),
  "header (4 KiB) kept, body encrypted": (src) =>
    rewrite(src, documents(src), (b) => encryptRange(b, 4096, b.length)),
  "base64-armoured output": (src) =>
    rewrite(src, documents(src), (b) => Buffer.from(encrypt(b).toString("base64"))),
  "slow: 3 % of the files, first night": (src) =>
    rewrite(
      src,
      documents(src).filter((_, i) => i % 33 === 5),
      (b) => encrypt(b),
    ),
  "one department's folder (legal)": (src) =>
    rewrite(
      src,
      documents(src).filter((f) => f.startsWith("legal/")),
      (b) => encrypt(b),
    ),
  "wiper: zero-fill": (src) => rewrite(src, documents(src), (b) => Buffer.alloc(b.length)),
  "wiper: truncate to zero": (src) => rewrite(src, documents(src), () => Buffer.alloc(0)),
  "wiper: truncate to half": (src) =>
    rewrite(src, documents(src), (b) => b.subarray(0, b.length >> 1)),
};

// --------------------------------------------------------------------------------------------
// Benign days.

/**
 * Scripts and tools that write readable text into files whatever their type: a log line or a
 * signature appended, a note pasted over part of the body (even over a binary's end). One file in
 * four, of every type in the tree, gets text in English or accented French of 300 B to 9 KiB,
 * appended, written from the middle or over the end but its last 30 bytes; a few text reports and two
 * opaque downloads named like photos arrive. Encryption writes noise, never prose.
 */
function editWithText(src) {
  const lengths = [300, 2500, 4096, 9000];
  const phrases = [
    "Reviewed by the finance team; figures revised after the audit.",
    "Révisé par l'équipe comptable : chiffres corrigés après la vérification de décembre.",
  ];
  filesBelow(src)
    .sort()
    .forEach((f, i) => {
      if (i % 4 !== 1) return;
      const full = path.join(src, f);
      const length = lengths[(i >> 2) % lengths.length];
      const words = `${phrases[(i >> 3) % 2]} (${f})\n`.repeat(Math.ceil(length / 60) + 1);
      const text = Buffer.from(words).subarray(0, length);
      const bytes = fs.readFileSync(full);
      const mode = (i >> 2) % 3;
      if (mode === 0 || bytes.length < 2 * length) {
        fs.appendFileSync(full, text);
        return;
      }
      // In the middle, or over the end but for its last 30 bytes (a zip's end record).
      text.copy(bytes, mode === 1 ? bytes.length >> 1 : bytes.length - length - 30);
      fs.writeFileSync(full, bytes);
    });
  for (let i = 0; i < 5; i++) write(`${src}/inbox/report-${i}.txt`, prose(`inbox ${i}`, 4000));
  for (let i = 0; i < 2; i++)
    write(`${src}/inbox/download-${i}.jpg`, noise(`download ${i}`, 80_000));
}

const benign = {
  "office day": (src) => officeDay(src, "today"),
  "appending and patching text into files of every type": (src) => editWithText(src),
  "zip a folder and delete it": (src) => {
    const files = filesBelow(src).filter((f) => f.startsWith("marketing/"));
    write(
      `${src}/marketing.zip`,
      zip(files.map((f) => ({ name: f, data: fs.readFileSync(path.join(src, f)) }))),
    );
    fs.rmSync(`${src}/marketing`, { recursive: true });
  },
  "compress old logs": (src) => {
    for (const f of filesBelow(src).filter((f) => /service-2026/.test(f))) {
      const full = path.join(src, f);
      fs.writeFileSync(`${full}.gz`, gzipSync(fs.readFileSync(full)));
      fs.rmSync(full);
    }
  },
  "import photos and videos": (src) => {
    for (let i = 0; i < 150; i++)
      write(
        `${src}/marketing/import/IMG_${1000 + i}.jpg`,
        jpeg(`import ${i}`, 30_000 + (i % 7) * 5000),
      );
    for (let i = 0; i < 6; i++)
      write(`${src}/marketing/import/VID_${2000 + i}.mp4`, mp4(`video ${i}`, 400_000));
    write(
      `${src}/marketing/import/MVIMG_3000.jpg`,
      Buffer.concat([jpeg("motion", 40_000), mp4("motion clip", 200_000)]),
    );
  },
  "re-save every office document": (src) => {
    for (const f of filesBelow(src)) {
      if (f.endsWith(".docx")) write(path.join(src, f), docx(`${f} resaved`, 10));
      if (f.endsWith(".xlsx")) write(path.join(src, f), xlsx(`${f} resaved`, 150));
    }
  },
  "database changes and VACUUM": (src) => {
    const db = new Database(`${src}/db/app.sqlite`);
    db.exec("DELETE FROM orders WHERE id % 3 = 0");
    const insert = db.prepare("INSERT INTO orders (client, note) VALUES (?, ?)");
    for (let i = 0; i < 400; i++) insert.run(`client new ${i}`, prose(`new order ${i}`, 200));
    db.exec("VACUUM");
    db.close();
  },
  "mass rename by a photo tool": (src) => {
    const photos = filesBelow(src).filter((f) => /^marketing\/.*\.(jpg|png)$/.test(f));
    for (const [i, f] of photos.entries()) {
      const renamed = `2026-11-30_${String(i).padStart(3, "0")}${path.extname(f).toUpperCase()}`;
      fs.renameSync(path.join(src, f), path.join(src, "marketing", renamed));
    }
  },
  "delete an old project": (src) => fs.rmSync(`${src}/projects/2019-archive`, { recursive: true }),
  "software upgrade": (src) => {
    fs.rmSync(`${src}/software/app/lib-3.dll`);
    writeSoftware(src, "2.0");
    write(`${src}/software/app/plugins.pak`, noise("new plugins", 150_000));
  },
};

// --------------------------------------------------------------------------------------------

function runScenario(kind, name, change) {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), "rempart-eval-"));
  try {
    const src = path.join(base, "src");
    const repo = path.join(base, "repo");
    makeTree(src);
    rempart("init", "--repo", repo);
    backup(repo, src);
    officeDay(src, "yesterday");
    backup(repo, src);
    change(src);
    const { verdict, score, reasons } = backup(repo, src);
    const margin = kind === "attack" ? score - SUSPICIOUS : SUSPICIOUS - 1 - score;
    return { kind, name, verdict, score, margin, reasons };
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
}

const only = process.argv[2];
const results = [];
for (const [kind, table] of [
  ["attack", attacks],
  ["benign", benign],
])
  for (const [name, change] of Object.entries(table)) {
    if (only && !name.includes(only)) continue;
    const result = runScenario(kind, name, change);
    results.push(result);
    console.log(
      `${kind.padEnd(6)}  ${name.padEnd(40)}  ${result.verdict.padEnd(10)}  score ${String(result.score).padStart(3)}  margin ${String(result.margin).padStart(4)}  ${result.reasons.join("; ")}`,
    );
  }
const attacked = results.filter((r) => r.kind === "attack");
const normal = results.filter((r) => r.kind === "benign");
const detected = attacked.filter((r) => r.verdict !== "ok").length;
const falsePositives = normal.filter((r) => r.verdict !== "ok").length;
const summary = {
  detection_rate: attacked.length ? detected / attacked.length : null,
  false_positive_rate: normal.length ? falsePositives / normal.length : null,
  smallest_attack_margin: Math.min(...attacked.map((r) => r.margin)),
  smallest_benign_margin: Math.min(...normal.map((r) => r.margin)),
};
console.log(
  `\ndetection rate ${detected}/${attacked.length}, false positives ${falsePositives}/${normal.length}; smallest margins: attacks ${summary.smallest_attack_margin}, benign ${summary.smallest_benign_margin} (points to the suspicious line, ${SUSPICIOUS})`,
);
fs.mkdirSync(path.join(ROOT, "bench", ".work"), { recursive: true });
fs.writeFileSync(
  path.join(ROOT, "bench", ".work", "eval-detect.json"),
  `${JSON.stringify({ summary, results }, null, 2)}\n`,
);
process.exitCode = detected === attacked.length && falsePositives === 0 ? 0 : 1;
