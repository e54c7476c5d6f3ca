/** The filesystem store's errors: an operating system's error code made into one a person can act on. */
import { isRempartError, RempartError } from "../../errors.js";

export function errnoOf(error: unknown): string | undefined {
  if (!(error instanceof Error) || !("code" in error)) return undefined;
  return typeof error.code === "string" ? error.code : undefined;
}

/** Turns an operating-system error into a RempartError a person can act on; others pass through. */
export function storeError(error: unknown, root: string, doing: string): unknown {
  if (isRempartError(error)) return error;
  const code = errnoOf(error);
  if (code === undefined) return error;
  const details = { root, errno: code };
  switch (code) {
    case "ENOSPC":
    case "EDQUOT":
      return new RempartError(
        "StorageFull",
        `The backup storage at ${root} is full (${code}) while ${doing}; free space or raise the quota there, then run the backup again.`,
        details,
      );
    case "EACCES":
    case "EPERM":
      return new RempartError(
        "Io",
        `Permission was denied at the backup storage ${root} while ${doing}; check the owner and permissions of that directory.`,
        details,
      );
    case "EROFS":
      return new RempartError(
        "Io",
        `The backup storage at ${root} is on a read-only filesystem, so ${doing} failed; remount it read-write or choose another location.`,
        details,
      );
    default:
      return new RempartError(
        "Io",
        `The backup storage at ${root} failed (${code}) while ${doing}: ${(error as Error).message}`,
        details,
      );
  }
}
