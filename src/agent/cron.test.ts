import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { isRempartError } from "../errors.js";
import { nextRun, parseCron } from "./cron.js";

/** Local time, as cron reads it: "2024-01-15 02:00[:30]" (15 January 2024 was a Monday). */
function at(text: string): Date {
  const [y, mo, d, h, mi, s = 0] = text.split(/[- :]/).map(Number) as number[];
  return new Date(y as number, (mo as number) - 1, d, h, mi, s);
}

function show(date: Date): string {
  const two = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())} ${two(date.getHours())}:${two(date.getMinutes())}`;
}

describe("the cron schedule", () => {
  const cases: readonly (readonly [expression: string, after: string, next: string])[] = [
    ["0 2 * * *", "2024-01-15 01:59", "2024-01-15 02:00"],
    ["0 2 * * *", "2024-01-15 02:00", "2024-01-16 02:00"],
    ["0 2 * * *", "2024-01-15 02:00:30", "2024-01-16 02:00"],
    ["0 2 * * *", "2024-12-31 23:00", "2025-01-01 02:00"],
    ["* * * * *", "2024-01-15 10:07", "2024-01-15 10:08"],
    ["*/15 * * * *", "2024-01-15 10:07", "2024-01-15 10:15"],
    ["*/15 * * * *", "2024-01-15 10:45", "2024-01-15 11:00"],
    ["5/20 * * * *", "2024-01-15 10:26", "2024-01-15 10:45"],
    ["0,30 9-17 * * *", "2024-01-15 17:30", "2024-01-16 09:00"],
    ["0,30 9-17 * * *", "2024-01-15 12:10", "2024-01-15 12:30"],
    ["0 22 * * 1-5", "2024-01-19 22:00", "2024-01-22 22:00"],
    ["0 22 * * mon-fri", "2024-01-19 22:00", "2024-01-22 22:00"],
    ["0 3 * * 0", "2024-01-15 00:00", "2024-01-21 03:00"],
    ["0 3 * * 7", "2024-01-15 00:00", "2024-01-21 03:00"],
    ["0 3 * * sun", "2024-01-15 00:00", "2024-01-21 03:00"],
    // Sunday is 0 by name too: "0-sun" is Sunday alone, not the whole week.
    ["0 3 * * 0-sun", "2024-01-15 00:00", "2024-01-21 03:00"],
    ["0 0 1 * *", "2024-01-15 00:00", "2024-02-01 00:00"],
    ["0 0 31 * *", "2024-04-01 00:00", "2024-05-31 00:00"],
    ["0 0 29 2 *", "2024-03-01 00:00", "2028-02-29 00:00"],
    // Both day fields restricted: a day matching either runs (crontab(5)).
    ["0 12 1-7 * 1", "2024-01-15 00:00", "2024-01-15 12:00"],
    ["0 12 1-7 * 1", "2024-01-29 12:00", "2024-02-01 12:00"],
    ["0 12 13 * 5", "2024-01-15 00:00", "2024-01-19 12:00"],
    ["0 0 * jun,dec *", "2024-01-15 00:00", "2024-06-01 00:00"],
    ["30 4 1,15 * *", "2024-01-15 04:30", "2024-02-01 04:30"],
    ["0 */6 * * *", "2024-01-15 13:00", "2024-01-15 18:00"],
    ["@daily", "2024-01-15 13:00", "2024-01-16 00:00"],
    ["@hourly", "2024-01-15 13:00", "2024-01-15 14:00"],
    ["@weekly", "2024-01-15 13:00", "2024-01-21 00:00"],
  ];
  for (const [expression, after, next] of cases) {
    it(`runs "${expression}" next at ${next} after ${after}`, () => {
      assert.equal(show(nextRun(expression, at(after))), next);
    });
  }

  const refused: readonly (readonly [string, RegExp])[] = [
    ["", /five fields/],
    ["0 2 * *", /five fields/],
    ["0 2 * * * *", /five fields/],
    ["60 * * * *", /not a minute/],
    ["* 24 * * *", /not a hour/],
    ["* * 0 * *", /not a day of month/],
    ["* * * 13 *", /not a month/],
    ["* * * * 8", /not a day of week/],
    ["*/0 * * * *", /step/],
    ["5-1 * * * *", /ends before it starts/],
    ["a * * * *", /not a minute/],
    ["1,,2 * * * *", /not a minute value/],
    ["* * * foo *", /not a month/],
    // croner reads these (Quartz and its own extensions); crontab(5) does not.
    ["0 2 * * * 2024", /five fields/],
    ["0 0 L * *", /not a day of month/],
    ["0 0 15W * *", /not a day of month/],
    ["0 0 * * 5#2", /not a day of week value/],
    ["0 0 * * 5L", /not a day of week/],
    ["? * * * *", /not a minute value/],
    ["0 0 ? * *", /not a day of month value/],
    ["/5 * * * *", /not a minute value/],
    ["*/60 * * * *", /step/],
  ];
  for (const [expression, why] of refused) {
    it(`refuses "${expression}" with a reason`, () => {
      assert.throws(
        () => parseCron(expression),
        (error: unknown) => isRempartError(error, "InvalidArgument") && why.test(error.message),
      );
    });
  }

  it("says so when a schedule names a date that never comes", () => {
    assert.throws(
      () => nextRun("0 0 31 2 *", at("2024-01-15 00:00")),
      (error: unknown) =>
        isRempartError(error, "InvalidArgument") && /never runs/.test(error.message),
    );
  });

  // Times in the spring gap and the autumn repeat, in a zone with daylight saving. Instants are
  // written with their offset, so each names one moment whatever the zone.
  describe("across daylight-saving changes (Europe/Paris)", () => {
    const zone = process.env.TZ;
    before(() => {
      process.env.TZ = "Europe/Paris";
    });
    after(() => {
      if (zone === undefined) delete process.env.TZ;
      else process.env.TZ = zone;
    });
    const cases: readonly (readonly [
      expression: string,
      after: string,
      next: string,
      why: string,
    ])[] = [
      [
        "30 2 * * *",
        "2024-03-31T01:00:00+01:00",
        "2024-03-31T03:00:00+02:00",
        "a daily run in the skipped hour runs right after it, not a day late",
      ],
      [
        "0 * * * *",
        "2024-03-31T01:30:00+01:00",
        "2024-03-31T03:00:00+02:00",
        "an hourly run goes on after the skipped hour",
      ],
      [
        "30 2 * * *",
        "2024-10-27T02:10:00+02:00",
        "2024-10-27T02:30:00+02:00",
        "a daily run in the repeated hour runs at its first occurrence",
      ],
      [
        "30 2 * * *",
        "2024-10-27T02:10:00+01:00",
        "2024-10-28T02:30:00+01:00",
        "and not again at its second",
      ],
      [
        "*/30 * * * *",
        "2024-10-27T02:31:00+02:00",
        "2024-10-27T02:00:00+01:00",
        "a run every 30 minutes keeps its pace through the repeated hour",
      ],
    ];
    for (const [expression, after, next, why] of cases) {
      it(`${why} ("${expression}" after ${after})`, () => {
        assert.equal(
          nextRun(expression, new Date(after)).toISOString(),
          new Date(next).toISOString(),
        );
      });
    }
  });
});
