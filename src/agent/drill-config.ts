/**
 * The restore drill's part of the agent configuration (`"drill"` in agent.json): when, how big a
 * sample and where to restore it. Every field is optional; `"drill": false` turns drills off.
 */
import { isAbsolute } from "node:path";
import { nextRun } from "./cron.js";

export interface DrillSettings {
  /** five-field cron expression, local time; weekly by default */
  readonly schedule: string;
  /** share of the snapshot's files to restore, in percent */
  readonly percent: number;
  /** at most this many files… */
  readonly maxFiles: number;
  /** …and this many bytes, so a drill never fills the disk nor runs for hours */
  readonly maxBytes: number;
  /** the folder the scratch folder is made in: the system's temporary folder by default */
  readonly scratchParent?: string;
}

export const DEFAULT_DRILL: DrillSettings = {
  schedule: "30 3 * * 0",
  percent: 1,
  maxFiles: 200,
  maxBytes: 1024 ** 3,
};

/** `false` when drills are off; throws a sentence naming the field at fault. */
export function parseDrillSettings(value: unknown): DrillSettings | false {
  if (value === undefined) return DEFAULT_DRILL;
  if (value === false) return false;
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new Error(`"drill" must be false or an object`);
  const body = value as Record<string, unknown>;
  const number = (field: string, fallback: number, valid: (n: number) => boolean): number => {
    const found = body[field] ?? fallback;
    if (typeof found !== "number" || !valid(found))
      throw new Error(`"drill.${field}" is out of range`);
    return found;
  };
  const schedule = body.schedule ?? DEFAULT_DRILL.schedule;
  if (typeof schedule !== "string") throw new Error(`"drill.schedule" must be a cron expression`);
  nextRun(schedule, new Date());
  const scratch = body.scratchParent;
  if (scratch !== undefined && (typeof scratch !== "string" || !isAbsolute(scratch)))
    throw new Error(`"drill.scratchParent" must be an absolute path`);
  return {
    schedule,
    percent: number("percent", DEFAULT_DRILL.percent, (n) => n > 0 && n <= 100),
    maxFiles: number("maxFiles", DEFAULT_DRILL.maxFiles, (n) => Number.isInteger(n) && n >= 1),
    maxBytes: number("maxBytes", DEFAULT_DRILL.maxBytes, (n) => Number.isSafeInteger(n) && n >= 1),
    ...(scratch === undefined ? {} : { scratchParent: scratch }),
  };
}
