import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { FsObjectStore } from "../storage/fs/fs-store.js";
import { flipByte, tempDir } from "../testing/cli.js";
import { unwrapMasterKey } from "./forge-test-support.js";
import { PackBuilder } from "./pack.js";
import { type PackBlob, Repository } from "./repository.js";

const CHEAP = { N: 2 ** 10, r: 8, p: 1 };
const CHUNKER = { minSize: 16 * 1024, avgSize: 64 * 1024, maxSize: 256 * 1024 };

/** A repository holding one pack of `blobs`, stored under its objects directory. */
async function onePack(t: Parameters<typeof tempDir>[0], blobs: Buffer[]) {
  const root = tempDir(t, "pack-reader");
  const store = await FsObjectStore.create(root);
  const repo = await Repository.init(store, {
    password: "pw",
    label: "t",
    chunker: CHUNKER,
    kdfCost: CHEAP,
  });
  const builder = new PackBuilder((await unwrapMasterKey(store, "pw")).encryption, 1024);
  for (const blob of blobs)
    builder.add("data", Buffer.from(repo.keyedId(blob), "hex"), blob, blob.length, false);
  const pack = builder.finish();
  await store.put({ kind: "data", name: pack.name }, pack.bytes);
  return { root, repo, pack, file: `${root}/data/${pack.name.slice(0, 2)}/${pack.name}` };
}

async function collect(blobs: AsyncIterable<PackBlob>): Promise<PackBlob[]> {
  const all: PackBlob[] = [];
  for await (const blob of blobs) all.push(blob);
  return all;
}

describe("pack reader", () => {
  it("yields every wanted blob, and a damaged one's error without hiding the others", async (t) => {
    const blobs = [randomBytes(2000), randomBytes(3000), randomBytes(4000)];
    const { repo, pack, file } = await onePack(t, blobs);
    const middle = pack.entries[1];
    assert.ok(middle);
    flipByte(file, middle.offset + 30);
    const read = await collect(repo.packBlobs(pack.name, pack.entries));
    assert.deepEqual(
      read.map((blob) => ("plaintext" in blob ? Buffer.from(blob.plaintext) : blob.error.code)),
      [blobs[0], "RepositoryCorrupt", blobs[2]],
    );
  });

  it("reads only the wanted ranges of a pack, and shows a whole read to the caller", async (t) => {
    const blobs = [randomBytes(50_000), randomBytes(100), randomBytes(50_000)];
    const { repo, pack } = await onePack(t, blobs);
    const small = pack.entries[1];
    assert.ok(small);
    const ranged = await collect(repo.packBlobs(pack.name, [small]));
    assert.deepEqual(ranged.length, 1);
    assert.ok("plaintext" in (ranged[0] as PackBlob));
    let whole = 0;
    await collect(
      repo.packBlobs(pack.name, [small], {
        onWholePack: (bytes) => {
          whole = bytes.length;
        },
      }),
    );
    assert.equal(whole, pack.bytes.length);
  });

  it("reports a blob an index places beyond the pack's end, and still yields the rest", async (t) => {
    const blobs = [randomBytes(2000), randomBytes(2000)];
    const { repo, pack } = await onePack(t, blobs);
    const [first, second] = pack.entries as [(typeof pack.entries)[0], (typeof pack.entries)[0]];
    const read = await collect(
      repo.packBlobs(pack.name, [first, { ...second, offset: pack.bytes.length }]),
    );
    assert.equal(read.length, 2);
    const errors = read.flatMap((blob) => ("error" in blob ? [blob.error] : []));
    assert.equal(errors.length, 1);
    assert.match(errors[0]?.message ?? "", /beyond the end/);
    assert.ok(read.some((blob) => "plaintext" in blob && blob.location.id === first.id));
  });

  it("fails as a whole, RepositoryCorrupt, when the pack is missing", async (t) => {
    const { repo, pack } = await onePack(t, [randomBytes(100)]);
    await assert.rejects(collect(repo.packBlobs("0".repeat(64), pack.entries)), /is missing/);
  });
});
