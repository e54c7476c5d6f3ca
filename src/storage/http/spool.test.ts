import assert from "node:assert/strict";
import { chmod, mkdtemp, readdir, rm, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { rejectsWith } from "../conformance-suite.js";
import { prepareSpoolDir } from "./spool.js";

describe("an agent's spool directory", () => {
  it("is made private, and sweeps stale files a killed backup left while keeping fresh ones", async (t) => {
    const base = await mkdtemp(join(tmpdir(), "rempart-spool-test-"));
    t.after(() => rm(base, { recursive: true, force: true }));
    const dir = join(base, "spool");
    assert.equal(await prepareSpoolDir(dir), dir);
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    await writeFile(join(dir, "killed"), "half a pack");
    await writeFile(join(dir, "live"), "being written");
    const twoHoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
    await utimes(join(dir, "killed"), twoHoursAgo, twoHoursAgo);
    await prepareSpoolDir(dir);
    assert.deepEqual(await readdir(dir), ["live"]);
  });

  it("refuses a directory others can open (made first by another user in a shared /tmp)", async (t) => {
    const base = await mkdtemp(join(tmpdir(), "rempart-spool-test-"));
    t.after(() => rm(base, { recursive: true, force: true }));
    const dir = join(base, "spool");
    await prepareSpoolDir(dir);
    await chmod(dir, 0o777);
    await rejectsWith(prepareSpoolDir(dir), "InvalidArgument");
  });
});
