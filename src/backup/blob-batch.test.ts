import assert from "node:assert/strict";
import { createHmac, randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { isRempartError } from "../errors.js";
import { BatchBuilder } from "./blob-batch.js";

const hexIdOf = (bytes: Uint8Array) => createHmac("sha256", "k").update(bytes).digest("hex");

describe("BatchBuilder", () => {
  it("carries each blob's hex id as its 32 bytes, in buffers of the batch's own", () => {
    const builder = new BatchBuilder(1024, 4);
    const blobs = [randomBytes(10), randomBytes(20), randomBytes(30)];
    for (const [i, blob] of blobs.entries())
      builder.add(i === 1 ? "tree" : "data", hexIdOf(blob), blob);
    const first = builder.take();
    builder.add("data", hexIdOf(blobs[0] as Uint8Array), blobs[0] as Uint8Array);
    const second = builder.take();
    assert.deepEqual(
      [0, 1, 2].map((i) => Buffer.from(first.ids.subarray(i * 32, i * 32 + 32)).toString("hex")),
      blobs.map(hexIdOf),
    );
    assert.deepEqual([...first.types], [0, 1, 0]);
    assert.deepEqual([...first.lengths], [10, 20, 30]);
    assert.deepEqual(Buffer.from(first.data), Buffer.concat(blobs));
    // Transferred to a worker: no two batches may share an ids buffer.
    assert.notEqual(first.ids.buffer, second.ids.buffer);
    assert.equal(first.ids.byteLength, first.ids.buffer.byteLength);
  });

  it("refuses an id that is not 64 hex digits", () => {
    const builder = new BatchBuilder(1024, 4);
    const good = hexIdOf(Buffer.from("x"));
    for (const id of [good.slice(0, 62), `${good.slice(0, 40)}zz${good.slice(42)}`, `${good}00`])
      assert.throws(
        () => builder.add("data", id, Buffer.from("x")),
        (error) => isRempartError(error, "InvalidArgument"),
        id,
      );
    assert.ok(builder.empty);
  });
});
