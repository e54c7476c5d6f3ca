/**
 * The one error type a route throws, and the translation of every other failure into it. Each
 * answer carries a code from `ERROR_STATUS` (src/protocol/api.ts), so the status follows from the
 * code and a client never has to parse a message.
 */
import { isRempartError } from "../errors.js";
import { type ApiErrorCode, ERROR_STATUS, ValidationError } from "../protocol/api.js";

export class ApiError extends Error {
  readonly code: ApiErrorCode;
  readonly details: Readonly<Record<string, unknown>> | undefined;
  /** Extra response headers (`Allow`, `WWW-Authenticate`, `Content-Range`). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    code: ApiErrorCode,
    message: string,
    details?: Record<string, unknown>,
    headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = code;
    this.code = code;
    this.details = details;
    this.headers = headers;
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

/**
 * The API error for any failure. Expected refusals keep their message; anything else becomes
 * `Internal` with a generic message, because store and catalog errors name server paths that are
 * none of a client's business (the caller logs the original).
 */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof ValidationError)
    return new ApiError("BadRequest", error.message, { field: error.field });
  if (isRempartError(error)) {
    const details = { ...error.details };
    switch (error.code) {
      case "NotFound":
        return new ApiError("NotFound", error.message, details);
      case "ObjectConflict":
        return new ApiError("Conflict", error.message, details);
      case "InvalidArgument":
        return new ApiError("BadRequest", error.message, details);
      case "WrongPassword":
        return new ApiError("Unauthorized", error.message);
      case "StorageFull":
        // The disk under every tenant is full: refused like a quota, so an agent backs off the same way.
        return new ApiError("QuotaExceeded", "the server's storage is full; try again later", {
          reason: "server-storage-full",
        });
      default:
        break;
    }
  }
  return new ApiError("Internal", "the server failed to handle this request; see its log");
}

/** Whether the failure is the server's own (logged with its stack) rather than the client's. */
export function isInternal(error: ApiError): boolean {
  return error.status >= 500 && error.code !== "QuotaExceeded";
}
