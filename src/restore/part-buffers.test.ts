import assert from "node:assert/strict";
import { it } from "node:test";
import { PartBuffers } from "./part-buffers.js";

it("hands a returned buffer out again, and gives a part too large for it one of its own", () => {
  const buffers = new PartBuffers(1024);
  const first = buffers.take(1000);
  assert.equal(first.length, 1000);
  buffers.give(first.buffer as ArrayBuffer);
  const again = buffers.take(10);
  assert.equal(again.buffer, first.buffer);
  assert.equal(again.length, 10);
  const other = buffers.take(1024);
  assert.notEqual(other.buffer, first.buffer);

  const large = buffers.take(4096);
  assert.equal(large.length, 4096);
  buffers.give(large.buffer as ArrayBuffer);
  buffers.give(other.buffer as ArrayBuffer);
  // The large one was not kept: only the pooled size comes back out.
  assert.equal(buffers.take(1).buffer.byteLength, 1024);
});
