/**
 * The agent's schedule: a five-field cron expression (minute hour day-of-month month
 * day-of-week) with `*`, lists, ranges and steps, in the machine's local time, as crontab(5)
 * reads it. Pure functions of the expression and the time given: nothing here reads the clock.
 *
 * croner finds the next run, daylight-saving changes included: a fixed-time job whose time falls
 * in the hour skipped in spring runs right after it (the hand-written search skipped that day),
 * and runs once in the hour repeated in autumn, as in Vixie cron. croner reads more than
 * crontab(5) (seconds, L, W, #, ?), so this module first holds the expression to crontab's syntax
 * and says in its own words what is wrong with it.
 */
import { Cron } from "croner";
import { RempartError } from "../errors.js";

/** A checked expression, ready to answer `nextRun`. */
export interface CronSchedule {
  readonly expression: string;
  readonly cron: Cron;
}

interface Field {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
}

const FIELDS: readonly Field[] = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31 },
  {
    name: "month",
    min: 1,
    max: 12,
    names: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
  },
  {
    name: "day of week",
    min: 0,
    max: 7,
    names: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
  },
];

const MACROS: Readonly<Record<string, string>> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

/** crontab(5)'s whole item grammar: `*` or a value or a range, then an optional step. */
const ITEM = /^(\*|[a-z0-9]+(?:-[a-z0-9]+)?)(?:\/(\d+))?$/i;

export function parseCron(expression: string): CronSchedule {
  const text = MACROS[expression.trim().toLowerCase()] ?? expression.trim();
  const parts = text.split(/\s+/);
  if (parts.length !== 5)
    throw invalid(expression, "it needs five fields: minute hour day-of-month month day-of-week");
  const fields = parts.map((part, i) => checkField(part, FIELDS[i] as Field, expression));
  const [, , days = "", , weekdays = ""] = parts;
  const cron = new Cron(fields.join(" "), {
    mode: "5-part",
    // "5/15" means from 5 to the end in steps of 15, as in cronie.
    sloppyRanges: true,
    // crontab(5): when both day fields are restricted (neither starts with "*"), a day matching
    // either one runs; otherwise both must match.
    domAndDow: days.startsWith("*") || weekdays.startsWith("*"),
    // Vixie cron treats a job as fixed-time unless its minute or hour is a wildcard or a step.
    fixedTimeRule: "no-wildcard",
  });
  return { expression, cron };
}

/**
 * The field with names written as numbers: croner reads "-sun" as 7, so "0-sun" would be the
 * whole week instead of Sunday.
 */
function checkField(text: string, field: Field, expression: string): string {
  return text
    .split(",")
    .map((item) => {
      const match = ITEM.exec(item);
      if (!match)
        throw invalid(expression, `"${item}" is not a ${field.name} value, range or step`);
      const [, span = "", step] = match;
      if (step !== undefined && (Number(step) < 1 || Number(step) > field.max))
        throw invalid(expression, `the step in "${item}" must be from 1 to ${field.max}`);
      const suffix = step === undefined ? "" : `/${step}`;
      if (span === "*") return `*${suffix}`;
      const [from = "", to] = span.split("-");
      const first = value(from, field, expression);
      if (to === undefined) return `${first}${suffix}`;
      const last = value(to, field, expression);
      if (last < first) throw invalid(expression, `the range "${span}" ends before it starts`);
      return `${first}-${last}${suffix}`;
    })
    .join(",");
}

function value(text: string, field: Field, expression: string): number {
  const named = field.names?.indexOf(text.toLowerCase()) ?? -1;
  const number = named >= 0 ? named + field.min : /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!(number >= field.min && number <= field.max))
    throw invalid(
      expression,
      `"${text}" is not a ${field.name} (${field.min} to ${field.max}${field.names ? ` or a name` : ""})`,
    );
  return number;
}

function invalid(expression: string, why: string): RempartError {
  return new RempartError("InvalidArgument", `the schedule "${expression}" is invalid: ${why}`);
}

/** The first minute strictly after `after` that the expression selects, in local time. */
export function nextRun(expression: string | CronSchedule, after: Date): Date {
  const schedule = typeof expression === "string" ? parseCron(expression) : expression;
  const next = schedule.cron.nextRun(after);
  if (next === null)
    throw new RempartError(
      "InvalidArgument",
      `the schedule "${schedule.expression}" never runs (a date that does not exist?)`,
    );
  return next;
}
