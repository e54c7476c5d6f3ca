/**
 * The agent's schedule: a five-field cron expression (minute hour day-of-month month
 * day-of-week) with `*`, lists, ranges and steps, in the machine's local time, as crontab(5)
 * reads it. Pure functions of the expression and the time given: nothing here reads the clock.
 */
import { RempartError } from "../errors.js";

export interface CronSchedule {
  readonly minutes: ReadonlySet<number>;
  readonly hours: ReadonlySet<number>;
  readonly days: ReadonlySet<number>;
  /** 1 to 12 */
  readonly months: ReadonlySet<number>;
  /** 0 (Sunday) to 6; 7 is read as Sunday */
  readonly weekdays: ReadonlySet<number>;
  /** crontab(5): when both day fields are restricted, a day matching either one runs */
  readonly daysRestricted: boolean;
  readonly weekdaysRestricted: boolean;
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

/** Four years and a day: every combination of weekday and date (29 February too) comes round. */
const SEARCH_LIMIT_MS = (4 * 366 + 1) * 24 * 3600 * 1000;

export function parseCron(expression: string): CronSchedule {
  const text = MACROS[expression.trim().toLowerCase()] ?? expression;
  const parts = text.trim().split(/\s+/);
  if (parts.length !== 5)
    throw invalid(expression, "it needs five fields: minute hour day-of-month month day-of-week");
  const [minutes, hours, days, months, weekdays] = parts.map((part, i) =>
    parseField(part, FIELDS[i] as Field, expression),
  ) as [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>];
  if (weekdays.delete(7)) weekdays.add(0);
  return {
    minutes,
    hours,
    days,
    months,
    weekdays,
    daysRestricted: !parts[2]?.startsWith("*"),
    weekdaysRestricted: !parts[4]?.startsWith("*"),
  };
}

function parseField(text: string, field: Field, expression: string): Set<number> {
  const values = new Set<number>();
  for (const item of text.split(",")) {
    const match = /^(\*|[a-z0-9]+(?:-[a-z0-9]+)?)(?:\/(\d+))?$/i.exec(item);
    if (!match) throw invalid(expression, `"${item}" is not a ${field.name} value, range or step`);
    const [, span = "", stepText] = match;
    const step = stepText === undefined ? 1 : Number(stepText);
    if (step < 1 || step > field.max)
      throw invalid(expression, `the step in "${item}" must be from 1 to ${field.max}`);
    let first = field.min;
    let last = field.max;
    if (span !== "*") {
      const [from = "", to] = span.split("-");
      first = value(from, field, expression);
      // "5/15" means from 5 to the end in steps of 15, as in cronie.
      last = to !== undefined ? value(to, field, expression) : stepText ? field.max : first;
      if (last < first) throw invalid(expression, `the range "${span}" ends before it starts`);
    }
    for (let v = first; v <= last; v += step) values.add(v);
  }
  return values;
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

function dayMatches(schedule: CronSchedule, date: Date): boolean {
  const byDate = schedule.days.has(date.getDate());
  const byWeekday = schedule.weekdays.has(date.getDay());
  if (schedule.daysRestricted && schedule.weekdaysRestricted) return byDate || byWeekday;
  return byDate && byWeekday;
}

/** The first minute strictly after `after` that the expression selects, in local time. */
export function nextRun(expression: string | CronSchedule, after: Date): Date {
  const schedule = typeof expression === "string" ? parseCron(expression) : expression;
  const t = new Date(after.getTime());
  t.setSeconds(0, 0);
  t.setMinutes(t.getMinutes() + 1);
  const limit = after.getTime() + SEARCH_LIMIT_MS;
  // Skips whole months, days and hours that cannot match, so the loop runs a few hundred times.
  while (t.getTime() <= limit) {
    if (!schedule.months.has(t.getMonth() + 1)) {
      t.setMonth(t.getMonth() + 1, 1);
      t.setHours(0, 0, 0, 0);
    } else if (!dayMatches(schedule, t)) {
      t.setDate(t.getDate() + 1);
      t.setHours(0, 0, 0, 0);
    } else if (!schedule.hours.has(t.getHours())) {
      t.setHours(t.getHours() + 1, 0, 0, 0);
    } else if (!schedule.minutes.has(t.getMinutes())) {
      t.setMinutes(t.getMinutes() + 1, 0, 0);
    } else {
      return t;
    }
  }
  throw new RempartError(
    "InvalidArgument",
    `the schedule "${typeof expression === "string" ? expression : "given"}" never runs (a date that does not exist?)`,
  );
}
