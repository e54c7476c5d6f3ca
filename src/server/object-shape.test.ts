import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { PackBuilder } from "../repository/pack.js";
import { MIN_PACK_BYTES, shapeProblem, sizeProblem, TailKeeper } from "./object-shape.js";

function trailer(headerLength: number): Buffer {
  const tail = Buffer.alloc(4);
  tail.writeUInt32LE(headerLength);
  return tail;
}

describe("the shape of an object, judged without keys", () => {
  it("accepts every pack the repository writes, whatever its blob count", () => {
    for (const blobs of [1, 2, 7, 100]) {
      const builder = new PackBuilder(randomBytes(32), 1024);
      for (let i = 0; i < blobs; i += 1)
        builder.add(i % 2 ? "tree" : "data", randomBytes(32), randomBytes(i * 13), i * 13, false);
      const { bytes } = builder.finish();
      assert.equal(shapeProblem("data", bytes.length, bytes.subarray(-4)), undefined, `${blobs}`);
    }
  });

  it("refuses packs whose trailer and size cannot add up, saying why", () => {
    const cases: [number, number, RegExp][] = [
      [3, 0, /cannot be a pack/],
      [MIN_PACK_BYTES - 1, 79, /cannot be a pack/],
      [400, 36, /fewer than the 79 of a one-blob header/],
      [400, 80, /not 37 \+ 42·n/],
      [400, 79 + 42 * 9, /would need/],
      [400, 2 ** 25, /more than the 16777216/],
      [4 + 121 + 55, 121, /2 blob\(s\) of at least 28 bytes each would need 56 bytes/],
    ];
    for (const [size, header, why] of cases) {
      const problem = shapeProblem("data", size, trailer(header));
      assert.equal(problem?.reason, "not-a-pack", `${size}/${header}`);
      assert.match(problem?.message ?? "", why);
    }
    assert.equal(shapeProblem("data", 4 + 121 + 56, trailer(121)), undefined);
  });

  it("refuses empty objects of every kind and sealed ones without room for nonce, tag and content", () => {
    for (const kind of ["config", "keys", "data", "index", "snapshots"] as const)
      assert.equal(sizeProblem(kind, 0)?.reason, "empty", kind);
    assert.equal(sizeProblem("index", 36)?.reason, "too-small");
    assert.equal(sizeProblem("index", 37), undefined);
    assert.equal(sizeProblem("snapshots", 29)?.reason, "too-small");
    assert.equal(sizeProblem("config", 30), undefined);
    assert.equal(sizeProblem("keys", 1), undefined);
    // Beyond its size, only a pack has a shape the server can see.
    assert.equal(shapeProblem("index", 500, trailer(1)), undefined);
  });
});

describe("TailKeeper", () => {
  it("keeps the last bytes however the stream is cut", () => {
    const body = randomBytes(1000);
    for (const cut of [1, 2, 3, 4, 5, 7, 999, 1000]) {
      const tail = new TailKeeper();
      for (let at = 0; at < body.length; at += cut) tail.update(body.subarray(at, at + cut));
      assert.deepEqual(tail.bytes(), body.subarray(-4), `chunks of ${cut}`);
    }
    const short = new TailKeeper();
    short.update(Buffer.from("ab"));
    short.update(Buffer.alloc(0));
    short.update(Buffer.from("c"));
    assert.deepEqual(short.bytes(), Buffer.from("abc"));
  });
});
