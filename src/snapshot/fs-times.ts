/**
 * Times as utimes needs them, kept apart from fs-metadata.ts so that a restore worker can set
 * times through a file descriptor without loading the extended-attribute binding.
 */

/** Milliseconds to whole microseconds: the finest a time round-trips through Node. */
export function toMicroseconds(ms: number): number {
  return Math.round(ms * 1000);
}

/**
 * libuv before 1.52 (Node 20 has 1.46) converts the seconds given to utimes into a timespec and
 * truncates it to whole microseconds, so a time that the double puts a hair below a microsecond
 * loses all of it: 1700000000.000001 s is stored as .000000. libuv PR #4951 removed the truncation.
 */
const [UV_MAJOR = 0, UV_MINOR = 0] = process.versions.uv.split(".").map(Number);
const UTIMES_TRUNCATES_TO_MICROSECONDS = UV_MAJOR === 1 && UV_MINOR < 52;

/**
 * Seconds for utimes that land on the microsecond nearest `ms` where libuv truncates (by aiming
 * at the middle of that microsecond, away from zero as the truncation goes), and as near as a
 * double allows elsewhere. A numeric string because Node replaces a negative number (a time
 * before 1970) with the current time but passes a numeric string through.
 */
export function utimesSeconds(ms: number): string {
  if (!UTIMES_TRUNCATES_TO_MICROSECONDS) return String(ms / 1000);
  const micros = toMicroseconds(ms);
  const seconds = Math.trunc(micros / 1e6);
  const middle = micros < 0 ? -0.5 : 0.5;
  return String(seconds + (micros - seconds * 1e6 + middle) / 1e6);
}
