/** The one `Range: bytes=…` form restore needs, as a pure function of the header and the size. */
import type { ByteRange } from "../storage/object-store.js";
import { ApiError } from "./api-error.js";

const SINGLE = /^bytes=(\d{0,16})-(\d{0,16})$/;

/**
 * The byte range to send: `bytes=a-b`, `bytes=a-` or the suffix `bytes=-n`. Several ranges or
 * another unit are refused (400) rather than ignored, so a client bug shows at once; a range
 * that starts past the end is 416, with the size in `Content-Range` as RFC 9110 asks.
 */
export function parseRange(header: string, size: number): ByteRange {
  const match = SINGLE.exec(header.trim());
  const first = match?.[1] ?? "";
  const last = match?.[2] ?? "";
  if (!match || (first === "" && last === ""))
    throw new ApiError(
      "BadRequest",
      'Range must be one "bytes=first-last", "bytes=first-" or "bytes=-count"',
    );
  const unsatisfiable = () =>
    new ApiError(
      "RangeNotSatisfiable",
      `the range ${header} is outside the object's ${size} bytes`,
      { size },
      { "Content-Range": `bytes */${size}` },
    );
  if (first === "") {
    const count = Number(last);
    if (count === 0 || size === 0) throw unsatisfiable();
    const length = Math.min(count, size);
    return { offset: size - length, length };
  }
  const offset = Number(first);
  if (offset >= size) throw unsatisfiable();
  if (last === "") return { offset, length: size - offset };
  const end = Number(last);
  if (end < offset) throw new ApiError("BadRequest", `the range ${header} ends before it starts`);
  return { offset, length: Math.min(end, size - 1) - offset + 1 };
}
