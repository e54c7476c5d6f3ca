import assert from "node:assert/strict";
import { randomBytes, randomInt } from "node:crypto";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import { isRempartError } from "../../errors.js";
import { FileWriter } from "./file-writer.js";

async function scratch(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "rempart-file-writer-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe("FileWriter", () => {
  it("writes parts of any size in the order they came, across many slices, as a read-only file", async (t) => {
    const path = join(await scratch(t), "body");
    const body = randomBytes(3 * 1024 * 1024 + 12_345);
    const writer = await FileWriter.create(path);
    for (let at = 0; at < body.length; ) {
      const size = Math.min(body.length - at, randomInt(1, 100 * 1024));
      // Its own buffer per part, as the socket gives them, and given back at once.
      writer.append(Buffer.from(body.subarray(at, at + size)));
      at += size;
    }
    assert.equal(await writer.finish(), body.length);
    assert.ok((await readFile(path)).equals(body));
    assert.equal((await stat(path)).mode & 0o777, 0o400);
  });

  it("leaves an empty file for an empty body", async (t) => {
    const path = join(await scratch(t), "empty");
    const writer = await FileWriter.create(path);
    assert.equal(await writer.finish(), 0);
    assert.equal((await stat(path)).size, 0);
  });

  it("never opens a file that exists, leaving it as it was", async (t) => {
    const path = join(await scratch(t), "taken");
    await writeFile(path, "someone else's");
    await assert.rejects(FileWriter.create(path), (error) => isRempartError(error, "Io"));
    assert.equal(await readFile(path, "utf8"), "someone else's");
  });

  it("removes its file when abandoned, even with a write under way", async (t) => {
    const dir = await scratch(t);
    const path = join(dir, "abandoned");
    const writer = await FileWriter.create(path);
    writer.append(randomBytes(2 * 1024 * 1024));
    writer.append(randomBytes(1024));
    await writer.abandon();
    await assert.rejects(stat(path), { code: "ENOENT" });
    // What comes after is dropped, not written to a file that is gone.
    writer.append(randomBytes(2 * 1024 * 1024));
    await assert.rejects(stat(path), { code: "ENOENT" });
  });
});
