/**
 * A small office share as `rempart demo` backs it up: letters, spreadsheets, invoices, charts,
 * photos, notes and ledgers in department folders, every file a valid instance of its format
 * (sample-files.ts), deterministic so that two runs back up the same bytes.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { csv, docx, jpeg, pdf, png, prose, xlsx } from "./sample-files.js";

/** The files, by path below the share (forward slashes), with their content. */
export function officeFiles(): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (let i = 0; i < 7; i++) files.set(`letters/letter-${i}.docx`, docx(`letter ${i}`, 8));
  for (let i = 0; i < 5; i++) files.set(`finance/budget-${i}.xlsx`, xlsx(`budget ${i}`, 150));
  for (let i = 0; i < 5; i++) files.set(`finance/invoice-${i}.pdf`, pdf(`invoice ${i}`, 20));
  for (let i = 0; i < 2; i++)
    files.set(`finance/ledger-${i}.csv`, Buffer.from(csv(`ledger ${i}`, 200)));
  for (let i = 0; i < 4; i++) files.set(`marketing/chart-${i}.png`, png(`chart ${i}`, 40, 30));
  for (let i = 0; i < 4; i++) files.set(`marketing/photo-${i}.jpg`, jpeg(`photo ${i}`, 30_000));
  for (let i = 0; i < 3; i++)
    files.set(`notes/meeting-${i}.txt`, Buffer.from(prose(`meeting ${i}`, 6000)));
  return files;
}

/** Writes `files` below `root`; returns their paths below it. */
export async function writeFiles(
  root: string,
  files: ReadonlyMap<string, Buffer>,
): Promise<string[]> {
  for (const [name, bytes] of files) {
    await mkdir(dirname(join(root, name)), { recursive: true });
    await writeFile(join(root, name), bytes);
  }
  return [...files.keys()];
}

/** SHA-256 of a file, streamed. */
export async function hashFile(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** SHA-256 of each of `names` below `root`. */
export async function hashFiles(
  root: string,
  names: readonly string[],
): Promise<Map<string, string>> {
  const hashes = new Map<string, string>();
  for (const name of names) hashes.set(name, await hashFile(join(root, name)));
  return hashes;
}
