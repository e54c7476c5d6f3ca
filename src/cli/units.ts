/**
 * Every size, duration, day count, whole number and percentage typed on the command line is read
 * here, so that `--quota 2T`, `--disk-reserve 2G` and `admin tenant set-quota acme 2T` mean the
 * same bytes, and `--expires 24h`, `--delay 72h` and `--grace 24h` the same time.
 *
 * Sizes: a bare number is bytes; K, M, G, T, P and KiB, MiB, GiB, TiB, PiB are binary (2^10…), the
 * units `formatBytes` prints; KB, MB, GB, TB, PB are decimal (10^3…), as disks are sold. Case does
 * not matter. Before this module `500GB` meant 500 GiB; it now means 500 × 10^9 bytes.
 */
import { RempartError } from "../errors.js";

const BINARY: Readonly<Record<string, number>> = {
  k: 2 ** 10,
  m: 2 ** 20,
  g: 2 ** 30,
  t: 2 ** 40,
  p: 2 ** 50,
};
const DECIMAL: Readonly<Record<string, number>> = { k: 1e3, m: 1e6, g: 1e9, t: 1e12, p: 1e15 };

function invalid(label: string, wanted: string, text: string): RempartError {
  return new RempartError(
    "InvalidArgument",
    `${label} wants ${wanted}, not ${JSON.stringify(text)}`,
  );
}

/** A size in bytes, at least 1: `1024`, `512M`, `512MiB`, `1.5T`, `500GB`. */
export function parseSize(text: string, label: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(?:([kmgtp])(i?b)?|b)?$/i.exec(text.trim());
  const prefix = match?.[2]?.toLowerCase();
  // `K` alone and `KiB` are binary; only `KB` (a B without the i) is decimal.
  const scale =
    prefix === undefined
      ? 1
      : ((match?.[3]?.toLowerCase() === "b" ? DECIMAL : BINARY)[prefix] ?? Number.NaN);
  const bytes = match ? Math.floor(Number(match[1]) * scale) : 0;
  if (!Number.isSafeInteger(bytes) || bytes < 1)
    throw invalid(label, "a size such as 500G or 2TiB (binary) or 500GB (decimal)", text);
  return bytes;
}

/** A size, or `none` for no limit (quotas). */
export function parseSizeOrNone(text: string, label: string): number | null {
  return text.trim().toLowerCase() === "none" ? null : parseSize(text, label);
}

const MILLISECONDS: Readonly<Record<string, number>> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** A duration in milliseconds: `90s`, `30m`, `24h`, `7d` (a unit is required: `30` is ambiguous). */
export function parseDuration(text: string, label: string): number {
  const match = /^(\d{1,9})([smhd])$/.exec(text.trim());
  if (!match) throw invalid(label, "a duration such as 30m, 24h or 7d", text);
  return Number(match[1]) * (MILLISECONDS[match[2] as string] as number);
}

/** Whole days, as retention counts them: `14d` or `14`. */
export function parseDays(text: string, label: string): number {
  const match = /^(\d{1,5})d?$/.exec(text.trim());
  if (!match) throw invalid(label, "whole days such as 14d", text);
  return Number(match[1]);
}

/** A whole number of at least `min`: counts, limits. */
export function parseCount(text: string, label: string, min = 0): number {
  const count = /^\d{1,9}$/.test(text.trim()) ? Number(text.trim()) : Number.NaN;
  if (!(count >= min))
    throw invalid(label, `a whole number${min > 0 ? ` of at least ${min}` : ""}`, text);
  return count;
}

/** A percentage up to 100%: `10%`, `2.5%`; `0%` only where it means "none". */
export function parsePercent(text: string, label: string, allowZero = false): number {
  const match = /^(\d+(?:\.\d+)?)%$/.exec(text.trim());
  const percent = match ? Number(match[1]) : Number.NaN;
  if (!((allowZero ? percent >= 0 : percent > 0) && percent <= 100))
    throw invalid(
      label,
      `a percentage ${allowZero ? "from 0" : "above 0"} to 100%, such as 10%`,
      text,
    );
  return percent;
}
