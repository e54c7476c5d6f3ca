/**
 * `rempart diff A B` shows B's detection signals against A beside the file changes: counted by
 * the backup's own detector from the two snapshots' trees and B's content read back, so for a
 * snapshot and its parent they are the very signals B's backup sealed.
 */
import assert from "node:assert/strict";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { encrypt } from "../../demo/sample-files.js";
import { officeFiles, writeFiles } from "../../demo/sample-tree.js";
import type { DetectionSignals } from "../../detection/summary.js";
import {
  backupSummary,
  expectExit,
  initAndBackup,
  jsonOutput,
  runCli,
  tempDir,
} from "../../testing/cli.js";

interface DiffJson {
  changes: { change: string }[];
  detection: {
    signals: DetectionSignals;
    verdict: string | null;
    score: number | null;
    reasons: string[];
    judged_against: string | null;
  };
}

describe("rempart diff's detection section", () => {
  it("counts encryptions, renames to a new extension and notes between two real snapshots", async (t) => {
    const base = tempDir(t, "diff-signals");
    const repo = join(base, "repo");
    const src = join(base, "share");
    const names = await writeFiles(src, officeFiles());
    const first = (await initAndBackup(repo, [src])).snapshot_id;

    // Six files encrypted in place, four encrypted and renamed to .locked, one ransom note.
    const inPlace = names.filter((name) => name.endsWith(".docx")).slice(0, 6);
    const renamed = names.filter((name) => name.endsWith(".xlsx")).slice(0, 4);
    for (const name of [...inPlace, ...renamed])
      writeFileSync(join(src, name), encrypt(readFileSync(join(src, name))));
    for (const name of renamed) renameSync(join(src, name), join(src, `${name}.locked`));
    writeFileSync(join(src, "finance", "HOW_TO_DECRYPT.txt"), "pay us\n");
    const backup = backupSummary(
      expectExit(await runCli(["backup", "--repo", repo, "--json", src]), 0, "second backup"),
    ) as unknown as { snapshot_id: string; detection: { verdict: string; reasons: string[] } };
    const second = backup.snapshot_id;

    const diff = jsonOutput<DiffJson>(
      expectExit(await runCli(["diff", "--repo", repo, first, second, "--json"]), 0, "diff"),
    );
    const { signals } = diff.detection;
    assert.equal(signals.files_total, names.length + 1);
    assert.equal(signals.files_changed, inPlace.length);
    assert.equal(signals.files_renamed, renamed.length);
    assert.equal(signals.extension_changes, renamed.length);
    assert.deepEqual(signals.new_extensions, [".locked"]);
    assert.equal(signals.type_mismatches, inPlace.length + renamed.length);
    assert.equal(signals.ransom_notes, 1);
    assert.equal(signals.known_ransom_extensions, renamed.length);
    assert.equal(signals.files_added, 1);
    assert.equal(signals.files_deleted, 0);
    // B's own verdict, as its backup sealed it against its parent (here: A).
    assert.equal(diff.detection.verdict, backup.detection.verdict);
    assert.notEqual(diff.detection.verdict, "ok");
    assert.deepEqual(diff.detection.reasons, backup.detection.reasons);
    assert.equal(diff.detection.judged_against, first);
    // One detector: A being B's parent, the diff counts what the backup counted.
    const listed = jsonOutput<
      { id: string; summary: { detection?: { signals: DetectionSignals } } }[]
    >(expectExit(await runCli(["snapshots", "--repo", repo, "--json"]), 0, "snapshots"));
    assert.deepEqual(signals, listed.find((s) => s.id === second)?.summary.detection?.signals);

    const human = expectExit(await runCli(["diff", "--repo", repo, first, second]), 0, "diff");
    assert.match(human.stdout, /detection signals of SNAPSHOT2 against SNAPSHOT1/);
    assert.match(human.stdout, /4 renamed to another extension; new extensions: \.locked/);
    assert.match(human.stdout, /10 lost their file-type signature/);
    assert.match(human.stdout, /1 named like ransom notes/);
    assert.match(
      human.stdout,
      new RegExp(
        `verdict of SNAPSHOT2's backup \\(against its parent ${first.slice(0, 8)}\\): (suspicious|ransomware)`,
      ),
    );

    // Backwards, B to A: the encrypted files are "repaired", nothing is flagged as damage.
    const back = jsonOutput<DiffJson>(
      expectExit(await runCli(["diff", "--repo", repo, second, first, "--json"]), 0, "diff back"),
    );
    assert.equal(back.detection.signals.type_mismatches, 0);
    assert.equal(back.detection.signals.ransom_notes, 0);
    assert.equal(back.detection.verdict, "ok");
  });
});
