/**
 * Entries the target refuses cost those entries, not the restore: a tree backed up near the
 * path limit and restored below a longer prefix crosses PATH_MAX part-way down. Every entry past
 * the limit is named with its reason, everything else comes back bit-exact, and the exit code
 * says the restore is incomplete (3) rather than failed (1) or corrupt (11).
 */

import assert from "node:assert/strict";
import {
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { EXIT } from "../cli/exit-codes.js";
import {
  expectExit,
  initAndBackup,
  jsonOutput,
  runCli,
  tempDir,
  writePseudoRandomFile,
} from "../testing/cli.js";

/** Linux's PATH_MAX counts the terminating NUL: a path may have 4095 bytes. */
const LONGEST_PATH = 4095;
const DIR_NAME_BYTES = 200;
const LONG_NAME = "n".repeat(250);

interface RestoreJson {
  readonly files: number;
  readonly damaged: readonly unknown[];
  readonly refused: readonly { readonly path: string; readonly error: string }[];
}

describe("restore: entries the target refuses", () => {
  it("a path past the target's limit is named and skipped; the rest comes back", async (t) => {
    const base = tempDir(t, "refused");
    const src = join(base, "s");
    const target = join(base, "t".repeat(250), "u".repeat(250));
    const prefix = target.length; // a restored path is the target followed by the source path
    mkdirSync(src);
    writePseudoRandomFile(join(src, "a-before.bin"), 300_000, "before");
    writeFileSync(join(src, "b-shared.txt"), "linked from deep down\n");

    // Levels of 200-byte names down to the last whose restored path still fits, and one more.
    const levelPath = (k: number): string =>
      join(src, "deep", ...Array.from({ length: k }, (_, i) => `${i}`.padEnd(DIR_NAME_BYTES, "d")));
    let last = 0;
    while (prefix + levelPath(last + 1).length + 1 + LONG_NAME.length <= LONGEST_PATH) last++;
    last++; // its restored path fits, its long names' do not
    const fits = levelPath(last);
    const tooLong = join(fits, "x".repeat(255));
    assert.ok(prefix + fits.length <= LONGEST_PATH && prefix + tooLong.length > LONGEST_PATH);
    assert.ok(tooLong.length + "/sub/g.txt".length <= LONGEST_PATH, "the source itself fits");
    mkdirSync(join(tooLong, "sub"), { recursive: true });
    writeFileSync(join(fits, "short.txt"), "restored\n");
    writeFileSync(join(fits, LONG_NAME), "refused: name past the limit\n");
    symlinkSync("short.txt", join(fits, `${LONG_NAME}.link`));
    linkSync(join(src, "b-shared.txt"), join(fits, `${LONG_NAME}.hard`));
    writeFileSync(join(tooLong, "f.txt"), "below a refused directory\n");
    writeFileSync(join(tooLong, "sub", "g.txt"), "further below\n");
    writePseudoRandomFile(join(src, "z-after.bin"), 300_000, "after");

    const repo = join(base, "repo");
    await initAndBackup(repo, [src]);
    const result = expectExit(
      await runCli(["restore", "--repo", repo, "--json", "latest", "--target", target]),
      EXIT.partial,
      "restore with refused entries",
    );
    const summary = jsonOutput<RestoreJson>(result);
    assert.deepEqual(summary.damaged, []);
    const refused = new Map(summary.refused.map((entry) => [entry.path, entry.error]));
    assert.deepEqual(
      [...refused.keys()].sort(),
      [
        tooLong,
        join(fits, LONG_NAME),
        join(fits, `${LONG_NAME}.hard`),
        join(fits, `${LONG_NAME}.link`),
      ].sort(),
      "each refused entry once; nothing below a refused directory listed",
    );
    for (const error of refused.values()) assert.match(error, /ENAMETOOLONG.*shorter target/);
    assert.match(refused.get(tooLong) ?? "", /nothing below it is restored/);
    assert.match(result.stderr, /the target refused it/);
    assert.match(result.stdout, /"refused"/);

    // Before, beside and after the refused entries, everything is there and exact.
    const restored = (path: string): string => `${target}${path}`;
    for (const name of ["a-before.bin", "z-after.bin", "b-shared.txt"])
      assert.deepEqual(readFileSync(restored(join(src, name))), readFileSync(join(src, name)));
    assert.equal(readFileSync(restored(join(fits, "short.txt")), "utf8"), "restored\n");
    assert.equal(summary.files, 4);

    // Restored again into a target short enough, nothing is refused.
    const short = join(base, "r");
    const again = jsonOutput<RestoreJson>(
      expectExit(
        await runCli(["restore", "--repo", repo, "--json", "latest", "--target", short]),
        0,
        "restore into a short target",
      ),
    );
    assert.deepEqual(again.refused, []);
    assert.equal(existsSync(`${short}${join(tooLong, "sub", "g.txt")}`), true);
  });

  it("never passes through a link planted where a directory goes, and restores the rest", async (t) => {
    const base = tempDir(t, "refused-planted");
    const src = join(base, "s");
    mkdirSync(join(src, "docs"), { recursive: true });
    writeFileSync(join(src, "docs", "contract.txt"), "signed\n");
    writeFileSync(join(src, "zz-after.txt"), "after\n");
    const repo = join(base, "repo");
    await initAndBackup(repo, [src]);

    // Someone with access to the target plants a link to a directory outside it.
    const target = join(base, "target");
    const outside = join(base, "outside");
    mkdirSync(outside);
    mkdirSync(`${target}${src}`, { recursive: true });
    symlinkSync(outside, `${target}${join(src, "docs")}`);
    const result = expectExit(
      await runCli(["restore", "--repo", repo, "--json", "latest", "--target", target]),
      EXIT.partial,
      "restore onto a planted link",
    );
    const summary = jsonOutput<RestoreJson>(result);
    assert.deepEqual(
      summary.refused.map((entry) => entry.path),
      [join(src, "docs")],
    );
    assert.match(summary.refused[0]?.error ?? "", /exists and is not a directory/);
    assert.deepEqual(readdirSync(outside), [], "nothing written through the link");
    assert.equal(readFileSync(`${target}${join(src, "zz-after.txt")}`, "utf8"), "after\n");
  });
});
