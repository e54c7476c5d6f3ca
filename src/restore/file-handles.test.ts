import assert from "node:assert/strict";
import { test } from "node:test";
import { FileHandles } from "./file-handles.js";

test("never holds more than its capacity, closing the least recently used first", () => {
  const closed: number[] = [];
  const handles = new FileHandles<string>(2, (fd) => closed.push(fd));
  let next = 10;
  const open = () => next++;
  assert.equal(handles.get("a", open), 10);
  assert.equal(handles.get("b", open), 11);
  assert.equal(handles.get("a", open), 10, "an open file is reused");
  assert.equal(handles.get("c", open), 12);
  assert.deepEqual(closed, [11], "b was the least recently used");
  assert.equal(handles.size, 2);
  handles.release("a");
  assert.deepEqual(closed, [11, 10]);
  handles.closeAll();
  assert.deepEqual(closed, [11, 10, 12]);
  assert.equal(handles.size, 0);
});
