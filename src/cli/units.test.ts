import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isRempartError } from "../errors.js";
import {
  parseCount,
  parseDays,
  parseDuration,
  parsePercent,
  parseSize,
  parseSizeOrNone,
} from "./units.js";

/** The parser refuses `text` with an InvalidArgument naming the option and what it wants. */
function refuses(parse: (text: string) => unknown, text: string, message: RegExp): void {
  assert.throws(
    () => parse(text),
    (error: unknown) => isRempartError(error, "InvalidArgument") && message.test(error.message),
    `${JSON.stringify(text)} should be refused with ${message}`,
  );
}

describe("sizes on the command line", () => {
  it("reads K, M, G, T, P and KiB… as binary, KB… as decimal, a bare number as bytes", () => {
    const cases: [string, number][] = [
      ["1024", 1024],
      ["1b", 1],
      ["1K", 2 ** 10],
      ["512M", 512 * 2 ** 20],
      ["512MiB", 512 * 2 ** 20],
      ["2G", 2 * 2 ** 30],
      ["2gib", 2 * 2 ** 30],
      ["1T", 2 ** 40],
      ["1TiB", 2 ** 40],
      ["1.5T", 1.5 * 2 ** 40],
      ["1P", 2 ** 50],
      ["1KB", 1000],
      ["500GB", 500e9],
      ["2tb", 2e12],
      [" 10 G ", 10 * 2 ** 30],
    ];
    for (const [text, bytes] of cases) assert.equal(parseSize(text, "--quota"), bytes, text);
    assert.equal(parseSizeOrNone("none", "--quota"), null);
    assert.equal(parseSizeOrNone("NONE", "--quota"), null);
    assert.equal(parseSizeOrNone("2T", "--quota"), 2 * 2 ** 40);
  });

  it("refuses what is not a size of at least one byte, naming the option", () => {
    for (const text of [
      "",
      "5X",
      "G",
      "lots",
      "-1G",
      "0",
      "0.1",
      "2 T B",
      "1iB",
      "1e3",
      "9999999P",
    ])
      refuses(
        (t) => parseSize(t, "--disk-reserve"),
        text,
        /^--disk-reserve wants a size such as 500G/,
      );
    refuses((t) => parseSizeOrNone(t, "the quota"), "unlimited", /^the quota wants a size/);
  });
});

describe("durations and days on the command line", () => {
  it("reads s, m, h and d as milliseconds", () => {
    const cases: [string, number][] = [
      ["0s", 0],
      ["90s", 90_000],
      ["90m", 90 * 60_000],
      ["24h", 86_400_000],
      ["7d", 7 * 86_400_000],
    ];
    for (const [text, ms] of cases) assert.equal(parseDuration(text, "--grace"), ms, text);
  });

  it("refuses a duration without a unit, or with another one", () => {
    for (const text of ["24", "1w", "1.5h", "h", "24 hours", "-1h", "1y"])
      refuses(
        (t) => parseDuration(t, "--expires"),
        text,
        /^--expires wants a duration such as 30m, 24h or 7d, not "/,
      );
  });

  it("reads whole days with or without the d, and refuses anything else", () => {
    assert.equal(parseDays("14d", "--keep-within"), 14);
    assert.equal(parseDays("14", "--keep-within"), 14);
    for (const text of ["two weeks", "2w", "1.5d", "336h", ""])
      refuses((t) => parseDays(t, "--keep-within"), text, /^--keep-within wants whole days/);
  });
});

describe("counts and percentages on the command line", () => {
  it("reads whole numbers from a minimum", () => {
    assert.equal(parseCount("0", "--keep-daily"), 0);
    assert.equal(parseCount("7", "--keep-daily"), 7);
    refuses((t) => parseCount(t, "--limit"), "ten", /^--limit wants a whole number, not "ten"/);
    refuses((t) => parseCount(t, "--limit"), "-1", /wants a whole number/);
    refuses(
      (t) => parseCount(t, "--connections-per-address", 1),
      "0",
      /wants a whole number of at least 1/,
    );
  });

  it("reads percentages up to 100%, and 0% only where it is allowed", () => {
    assert.equal(parsePercent("10%", "--read-data-subset"), 10);
    assert.equal(parsePercent("2.5%", "--read-data-subset"), 2.5);
    assert.equal(parsePercent("100%", "--read-data-subset"), 100);
    assert.equal(parsePercent("0%", "--disk-reserve", true), 0);
    for (const text of ["0%", "150%", "10", "ten%"])
      refuses((t) => parsePercent(t, "--read-data-subset"), text, /wants a percentage above 0/);
  });
});
