/**
 * Why a server refused an agent's credential, and what the machine's user can do about it. The
 * server tells a real credential why it is refused (revoked, expired, its tenant offboarded) and
 * answers anything else, a wrong secret for a known agent included, as not valid (src/server/
 * auth.ts): "unknown" here therefore covers a credential altered in agent.json too.
 */
import type { ApiErrorBody } from "../../protocol/api.js";

export type CredentialRejectionReason = "revoked" | "expired" | "unknown" | "tenant-inactive";

export interface CredentialRejection {
  readonly reason: CredentialRejectionReason;
  /** the sentence that tells the user what to do */
  readonly advice: string;
}

const ENROLL_AGAIN =
  "enroll this machine again with a new enrollment token from your MSP (rempart agent enroll)";

const ADVICE: Record<CredentialRejectionReason, string> = {
  revoked: `This machine's agent credential was revoked: ${ENROLL_AGAIN}`,
  expired: `This machine's agent credential has expired: ${ENROLL_AGAIN}`,
  unknown: `The server does not accept this machine's agent credential (unknown to it, or altered in the agent configuration): ${ENROLL_AGAIN}`,
  "tenant-inactive":
    "This machine's tenant is no longer active on the server (offboarded): ask your MSP",
};

/** The rejection an error answer means, or undefined for any other refusal. */
export function credentialRejection(
  status: number,
  error: ApiErrorBody["error"] | undefined,
): CredentialRejection | undefined {
  const reason = reasonOf(status, error);
  return reason === undefined ? undefined : { reason, advice: ADVICE[reason] };
}

function reasonOf(
  status: number,
  error: ApiErrorBody["error"] | undefined,
): CredentialRejectionReason | undefined {
  switch (error?.code) {
    case "CredentialRevoked":
      return "revoked";
    case "CredentialExpired":
      return "expired";
    case "Unauthorized":
      return "unknown";
    case "Forbidden":
      return error.details?.reason === "tenant-inactive" ? "tenant-inactive" : undefined;
    case undefined:
      // A 401 without a Rempart error body (a proxy's): the credential was not accepted.
      return status === 401 ? "unknown" : undefined;
    default:
      return undefined;
  }
}
