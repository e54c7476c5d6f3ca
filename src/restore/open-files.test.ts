import assert from "node:assert/strict";
import { test } from "node:test";
import { isRempartError } from "../errors.js";
import { filesPerWorker, parseOpenFileLimit } from "./open-files.js";

test("reads the soft open-file limit from /proc/self/limits", () => {
  const limits = [
    "Limit                     Soft Limit           Hard Limit           Units",
    "Max processes             127431               127431               processes",
    "Max open files            1024                 524288               files",
  ].join("\n");
  assert.equal(parseOpenFileLimit(limits), 1024);
  assert.equal(
    parseOpenFileLimit("Max open files            unlimited            unlimited            files"),
    Number.POSITIVE_INFINITY,
  );
  assert.equal(parseOpenFileLimit("nothing here"), undefined);
});

test("files per worker stay well below the limit, and an absurd limit is refused", () => {
  assert.equal(filesPerWorker(1024, 2), 8);
  assert.equal(filesPerWorker(Number.POSITIVE_INFINITY, 2), 8);
  assert.equal(filesPerWorker(64, 2), 8);
  assert.equal(filesPerWorker(48, 2), 4);
  assert.equal(filesPerWorker(32, 2), 1);
  assert.throws(
    () => filesPerWorker(16, 2),
    (error: unknown) => isRempartError(error, "InvalidArgument") && /ulimit -n/.test(error.message),
  );
});
