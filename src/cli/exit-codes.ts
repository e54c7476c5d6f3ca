/** The CLI's exit codes: a contract scripts rely on (see README). */
import type { ErrorCode } from "../errors.js";

export const EXIT = {
  ok: 0,
  error: 1,
  /** backup or restore completed, but some entries could not be read (backup) or written (restore) */
  partial: 3,
  wrongPassword: 10,
  /** repository corrupt or objects missing (check, restore) */
  corrupt: 11,
  /** the server refused this machine's agent credential (revoked, expired, unknown): re-enroll */
  credentialRejected: 12,
} as const;

export function exitCodeFor(code: ErrorCode): number {
  switch (code) {
    case "WrongPassword":
      return EXIT.wrongPassword;
    case "RepositoryCorrupt":
      return EXIT.corrupt;
    case "CredentialRejected":
      return EXIT.credentialRejected;
    default:
      return EXIT.error;
  }
}
