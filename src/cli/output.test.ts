import assert from "node:assert/strict";
import { describe, it } from "node:test";
import stringWidth from "string-width";
import { fitToColumns } from "./status-line.js";

describe("the status line", () => {
  it("keeps a line that fits and cuts a longer one one column short of the width", () => {
    assert.equal(fitToColumns("12 files, 3.0 MiB", 40), "12 files, 3.0 MiB");
    assert.equal(fitToColumns("abcdefghij", 5), "abcd");
  });

  it("counts wide characters as two columns, so a path in Japanese does not wrap", () => {
    const line = "3 files  /srv/日本語のファイル名.txt";
    const fitted = fitToColumns(line, 20);
    assert.equal(fitted, "3 files  /srv/日本");
    assert.ok(stringWidth(fitted) < 20);
  });

  it("never splits a character made of several code points", () => {
    // An emoji with a skin tone (two code points, two columns) and an e with a combining accent.
    assert.equal(fitToColumns("ab👍🏽cd", 4), "ab");
    assert.equal(fitToColumns("ab👍🏽cd", 5), "ab👍🏽");
    assert.equal(fitToColumns("cafe\u0301s", 5), "cafe\u0301");
  });
});
