/**
 * Errors are values with a machine-readable code and a sentence for a person. The CLI maps codes
 * to exit codes and messages; the server (later) maps them to HTTP statuses.
 */
export type ErrorCode =
  | "WrongPassword"
  | "RepositoryCorrupt"
  | "RepositoryNotFound"
  | "RepositoryExists"
  | "NotFound"
  | "ObjectConflict"
  | "InvalidArgument"
  | "StorageFull"
  /** a server refused the agent credential (details.reason: revoked, expired, unknown, …) */
  | "CredentialRejected"
  | "Unsupported"
  | "Io";

export class RempartError extends Error {
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = code;
    this.code = code;
    this.details = details;
  }
}

export function isRempartError(error: unknown, code?: ErrorCode): error is RempartError {
  return error instanceof RempartError && (code === undefined || error.code === code);
}
