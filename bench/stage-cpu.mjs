// CPU time of one backup stage, compared between checkouts in one process, on a shared machine
// where wall time says little: each round runs every checkout once, and the best round counts.
//
// Usage: node bench/stage-cpu.mjs read|seal CHECKOUT [CHECKOUT ...]   (each one built: npx tsc)
//   read  the main thread's path: open, read, FastCDC, keyed ids (FileChunker) over the whole share
//   seal  a blob worker's path: zstd, AES-GCM, pack spooling and hashing, over every 4th file
// Options through the environment: SHARE (default /tmp/corpus/share), ROUNDS (default 3).
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const [stage, ...checkouts] = process.argv.slice(2);
if (!["read", "seal"].includes(stage) || checkouts.length === 0) {
  console.error("usage: node bench/stage-cpu.mjs read|seal CHECKOUT [CHECKOUT ...]");
  process.exit(2);
}
const share = process.env.SHARE ?? "/tmp/corpus/share";
const rounds = Number(process.env.ROUNDS ?? 3);

function filesUnder(dir) {
  const found = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...filesUnder(path));
    else if (entry.isFile()) found.push(path);
  }
  return found.sort();
}

const load = (checkout, module) =>
  import(pathToFileURL(join(resolve(checkout), "dist", module)).href);

function cpuMs(since) {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
}

const files = filesUnder(share);
const idKey = randomBytes(32);
const encryptionKey = randomBytes(32);

async function readStage(checkout) {
  const { FileChunker } = await load(checkout, "backup/file-reader.js");
  const { DEFAULT_CHUNKER_PARAMS, gearTable } = await load(checkout, "chunker/fastcdc.js");
  const chunker = new FileChunker(idKey, gearTable(randomBytes(32)), DEFAULT_CHUNKER_PARAMS);
  const sink = { chunk() {}, pause: () => Promise.resolve() };
  return async () => {
    for (const file of files) await chunker.read(file, statSync(file).size, sink);
  };
}

async function sealStage(checkout) {
  const { BlobCompressor } = await load(checkout, "repository/compression.js");
  const { PackSpooler } = await load(checkout, "repository/pack.js");
  const { DEFAULT_CHUNKER_PARAMS, gearTable, splitAll } = await load(
    checkout,
    "chunker/fastcdc.js",
  );
  const { blobId } = await load(checkout, "crypto/blob-id.js");
  const gear = gearTable(randomBytes(32));
  const blobs = [];
  for (const file of files.filter((_, i) => i % 4 === 0)) {
    const bytes = readFileSync(file);
    let start = 0;
    for (const length of splitAll(bytes, gear, DEFAULT_CHUNKER_PARAMS)) {
      const plain = bytes.subarray(start, start + length);
      blobs.push({ id: blobId(idKey, plain), plain });
      start += length;
    }
  }
  const spoolDir = mkdtempSync(join(tmpdir(), "rempart-stage-cpu-"));
  spoolDirs.push(spoolDir);
  const compressor = new BlobCompressor();
  const packSize = 16 * 1024 * 1024;
  return () => {
    const spooler = new PackSpooler(encryptionKey, spoolDir);
    for (const { id, plain } of blobs) {
      const compressed = compressor.compress(plain);
      spooler.add("data", id, compressed ?? plain, plain.length, compressed !== undefined);
      if (spooler.size >= packSize) rmSync(spooler.finish().path);
    }
    if (spooler.blobCount > 0) rmSync(spooler.finish().path);
  };
}

const spoolDirs = [];
const runs = [];
for (const checkout of checkouts)
  runs.push({ checkout, run: await (stage === "read" ? readStage : sealStage)(checkout) });
const best = new Map();
for (let round = 0; round < rounds; round++) {
  for (const { checkout, run } of runs) {
    const since = process.cpuUsage();
    await run();
    const ms = cpuMs(since);
    best.set(checkout, Math.min(best.get(checkout) ?? Number.POSITIVE_INFINITY, ms));
    console.log(`round ${round + 1}  ${checkout}  ${ms.toFixed(0)} ms CPU`);
  }
}
for (const [checkout, ms] of best) console.log(`best  ${checkout}  ${ms.toFixed(0)} ms CPU`);
for (const dir of spoolDirs) rmSync(dir, { recursive: true, force: true });
