// Chunk-size choices compared on real files: chunking speed, chunk count (index memory) and
// dedup (unique chunk bytes / total bytes, chunks identified by sha256).
//
// Usage: npx tsc -p . && node bench/chunk-sizes.mjs <dir> [<dir> ...]
// All directories form one dedup set, read in the order given, so passing successive releases
// (e.g. bench/.work/corpus/versions/typescript/*) shows what each new version adds.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { findBoundary, gearTable } from "../dist/chunker/fastcdc.js";

const KiB = 1024;
const MiB = 1024 * KiB;

const CHOICES = [
  ...[64, 128, 256, 512, 1024, 2048].map((avg) => ({
    minSize: (avg * KiB) / 4,
    avgSize: avg * KiB,
    maxSize: avg * KiB * 4,
  })),
  // restic's sizes, for comparison
  { minSize: 512 * KiB, avgSize: MiB, maxSize: 8 * MiB },
];

const dirs = process.argv.slice(2);
if (dirs.length === 0) {
  console.error("usage: node bench/chunk-sizes.mjs <dir> [<dir> ...]");
  process.exit(2);
}

// Fixed so runs compare; another seed moves boundaries but not the statistics.
const table = gearTable(new Uint8Array(32).fill(0x42));

function filesUnder(dir) {
  return readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .flatMap((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return filesUnder(path);
      return entry.isFile() ? [path] : [];
    });
}

function digest(bytes) {
  return createHash("sha256").update(bytes).digest("base64");
}

const results = CHOICES.map((params) => ({
  params,
  seen: new Set(),
  cpuMicroseconds: 0,
  chunks: 0,
  unique: 0,
  addedPerDir: [],
}));
const wholeFiles = { seen: new Set(), unique: 0, addedPerDir: [] };
let files = 0;
let total = 0;
const lengths = [];

for (const dir of dirs) {
  for (const r of [...results, wholeFiles]) r.addedPerDir.push(0);
  for (const path of filesUnder(dir)) {
    const data = readFileSync(path);
    files++;
    total += data.length;
    const fileId = digest(data);
    if (!wholeFiles.seen.has(fileId)) {
      wholeFiles.seen.add(fileId);
      wholeFiles.unique += data.length;
      wholeFiles.addedPerDir[wholeFiles.addedPerDir.length - 1] += data.length;
    }
    for (const r of results) {
      lengths.length = 0;
      // CPU time, not wall time: this machine is shared, and a descheduled chunker is not slow.
      const started = process.cpuUsage();
      for (let start = 0; start < data.length; ) {
        const length = findBoundary(data, start, data.length, true, table, r.params);
        lengths.push(length);
        start += length;
      }
      r.cpuMicroseconds += process.cpuUsage(started).user;
      let offset = 0;
      for (const length of lengths) {
        const id = digest(data.subarray(offset, offset + length));
        offset += length;
        r.chunks++;
        if (r.seen.has(id)) continue;
        r.seen.add(id);
        r.unique += length;
        r.addedPerDir[r.addedPerDir.length - 1] += length;
      }
    }
  }
}

const mib = (bytes) => (bytes / MiB).toFixed(1);
const kib = (bytes) => `${bytes / KiB} KiB`;
const percent = (part) => `${((100 * part) / total).toFixed(1)} %`;

console.log(`${dirs.join(" ")}: ${files} files, ${mib(total)} MiB\n`);
console.log(
  "| min / avg / max | MB/s (CPU) | chunks | mean chunk | unique chunks | stored MiB | stored / total |",
);
console.log("|---|---:|---:|---:|---:|---:|---:|");
for (const r of results) {
  const { minSize, avgSize, maxSize } = r.params;
  const seconds = r.cpuMicroseconds / 1e6;
  console.log(
    `| ${kib(minSize)} / ${kib(avgSize)} / ${kib(maxSize)} | ${(total / 1e6 / seconds).toFixed(0)} | ${r.chunks} | ${kib(Math.round(total / r.chunks / KiB) * KiB)} | ${r.seen.size} | ${mib(r.unique)} | ${percent(r.unique)} |`,
  );
}
console.log(
  `| whole files (no chunking) | | ${files} | | ${wholeFiles.seen.size} | ${mib(wholeFiles.unique)} | ${percent(wholeFiles.unique)} |`,
);

if (dirs.length > 1) {
  console.log(`\nMiB each directory adds to the set, in order:\n`);
  console.log(`| avg | ${dirs.map((dir) => basename(dir)).join(" | ")} |`);
  console.log(`|---|${dirs.map(() => "---:").join("|")}|`);
  for (const r of [...results, wholeFiles]) {
    const label = r.params
      ? `${kib(r.params.avgSize)} (max ${kib(r.params.maxSize)})`
      : "whole files";
    console.log(`| ${label} | ${r.addedPerDir.map(mib).join(" | ")} |`);
  }
}
