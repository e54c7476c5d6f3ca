/**
 * The verdict without a server, through the real CLI: a tree of office files is backed up, an
 * office day stays ok, encrypting a fifth of the files with AES is flagged, and the verdict is
 * kept in the snapshot (listed by `rempart snapshots`).
 */
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { csv, docx, encrypt, jpeg, pdf, png, prose, xlsx } from "../demo/sample-files.js";
import {
  backupSummary,
  expectExit,
  initAndBackup,
  jsonOutput,
  runCli,
  tempDir,
} from "../testing/cli.js";
import type { DetectionSummary } from "./summary.js";

type Detected = Pick<DetectionSummary, "verdict" | "score" | "reasons">;

function writeTree(src: string): string[] {
  const files: [string, Buffer][] = [];
  for (let i = 0; i < 6; i++) files.push([`docs/letter-${i}.docx`, docx(`letter ${i}`, 8)]);
  for (let i = 0; i < 4; i++) files.push([`finance/budget-${i}.xlsx`, xlsx(`budget ${i}`, 150)]);
  for (let i = 0; i < 4; i++) files.push([`finance/invoice-${i}.pdf`, pdf(`invoice ${i}`, 20)]);
  for (let i = 0; i < 4; i++) files.push([`images/chart-${i}.png`, png(`chart ${i}`, 40, 30)]);
  for (let i = 0; i < 3; i++) files.push([`images/photo-${i}.jpg`, jpeg(`photo ${i}`, 30_000)]);
  for (let i = 0; i < 2; i++)
    files.push([`notes/note-${i}.txt`, Buffer.from(prose(`note ${i}`, 6000))]);
  for (let i = 0; i < 2; i++)
    files.push([`finance/ledger-${i}.csv`, Buffer.from(csv(`ledger ${i}`, 200))]);
  for (const [name, bytes] of files) {
    mkdirSync(join(src, name, ".."), { recursive: true });
    writeFileSync(join(src, name), bytes);
  }
  return files.map(([name]) => name);
}

async function backupDetected(repo: string, src: string): Promise<Detected> {
  const result = expectExit(await runCli(["backup", "--repo", repo, "--json", src]), 0, "backup");
  const { detection } = backupSummary(result) as unknown as { detection: Detected };
  return detection;
}

describe("local verdict", () => {
  it("keeps an office day ok and flags a fifth of the files encrypted with AES", async (t) => {
    const base = tempDir(t, "detection-local");
    const src = join(base, "src");
    const repo = join(base, "repo");
    const names = writeTree(src);
    const first = (await initAndBackup(repo, [src])) as unknown as { detection: Detected };
    assert.equal(first.detection.verdict, "ok");

    writeFileSync(join(src, "notes/note-0.txt"), `${prose("note 0", 6000)}\nOne more line.\n`);
    writeFileSync(join(src, "docs/letter-1.docx"), docx("letter 1 revised", 9));
    writeFileSync(join(src, "finance/ledger-1.csv"), csv("ledger 1 next", 210));
    const office = await backupDetected(repo, src);
    assert.equal(office.verdict, "ok", office.reasons.join("; "));

    const victims = names.filter((_, i) => i % 5 === 0);
    for (const name of victims)
      writeFileSync(join(src, name), encrypt(readFileSync(join(src, name))));
    const attack = await backupDetected(repo, src);
    assert.notEqual(attack.verdict, "ok", `score ${attack.score}`);
    assert.ok(
      attack.reasons.some((r) => r.startsWith(`${victims.length} of ${victims.length} `)),
      attack.reasons.join("\n"),
    );

    const listed = jsonOutput<{ verdict: string | null }[]>(
      expectExit(await runCli(["snapshots", "--repo", repo, "--json"]), 0, "snapshots"),
    );
    assert.deepEqual(
      listed.map((s) => s.verdict),
      ["ok", "ok", attack.verdict],
    );
    const human = expectExit(await runCli(["snapshots", "--repo", repo]), 0, "snapshots");
    assert.match(human.stdout, new RegExp(`\\s${attack.verdict}\\s`));
    const printed = expectExit(await runCli(["backup", "--repo", repo, src]), 0, "backup again");
    assert.doesNotMatch(printed.stdout, /detection:/, "an unchanged tree has nothing to report");
  });
});
