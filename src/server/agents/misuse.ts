/**
 * What the Rempart agent never does. The agent program only lists, reads and adds objects by
 * their SHA-256 names under its own tenant, which the server takes from the credential: so a
 * request with an agent credential that deletes, overwrites, sends bytes that do not match their
 * name, sends an object that cannot be what its kind says, or aims outside the tenant (a path
 * that climbs, a tenant route) comes from something else holding that credential. Such a request
 * is refused as before; this module only says which refusals betray it, so that one recorder
 * (watch.ts) can audit them and alert.
 */
import { ApiError } from "../api-error.js";

export const MISUSE_KINDS = [
  "delete",
  "overwrite",
  "forged-bytes",
  "malformed-object",
  "outside-tenant",
] as const;
export type MisuseKind = (typeof MISUSE_KINDS)[number];

export interface Misuse {
  readonly kind: MisuseKind;
  /** What it aimed at: `kind/name`, or the request path (at most `MAX_TARGET` characters). */
  readonly target: string;
  /** The refusal's own reason, when it gives one (`not-a-pack`…). */
  readonly reason?: string;
}

/** Enough of a path to recognise it in the audit log, not enough to fill it. */
const MAX_TARGET = 200;

/** A refusal that also says the agent tried something it never does; answered like `refusal`. */
export class MisuseRefusal extends ApiError {
  readonly misuse: Misuse;

  constructor(misuse: Misuse, refusal: ApiError) {
    super(
      refusal.code,
      refusal.message,
      refusal.details === undefined ? undefined : { ...refusal.details },
      { ...refusal.headers },
    );
    const reason = refusal.details?.reason;
    this.misuse = {
      kind: misuse.kind,
      target: misuse.target.slice(0, MAX_TARGET),
      ...(typeof reason === "string" ? { reason } : {}),
    };
  }
}

export function misuseRefusal(kind: MisuseKind, target: string, refusal: ApiError): MisuseRefusal {
  return new MisuseRefusal({ kind, target }, refusal);
}

/**
 * What the request itself gives away, whichever check refused it: a DELETE (the server is
 * append-only, and refuses it before reading anything else), or a path segment that is or hides
 * `.`/`..` or a slash (percent-encoded, so that a decoding layer would climb out of the tenant).
 */
export function misuseOfRequest(
  method: string | undefined,
  url: string | undefined,
): Misuse | undefined {
  const path = (url ?? "").split("?")[0] ?? "";
  if (method === "DELETE") return { kind: "delete", target: path.slice(0, MAX_TARGET) };
  for (const segment of path.split("/")) {
    const decoded = decodedOrRaw(segment);
    if (decoded === "." || decoded === ".." || /[/\\]/.test(decoded))
      return { kind: "outside-tenant", target: path.slice(0, MAX_TARGET) };
  }
  return undefined;
}

/**
 * The misuse a refused request betrays, if any. None when its credential was refused: nobody
 * authenticated tried anything (a leftover agent is recorded as such by the authentication).
 */
export function misuseOf(
  method: string | undefined,
  url: string | undefined,
  error: unknown,
): Misuse | undefined {
  if (error instanceof MisuseRefusal) return error.misuse;
  if (error instanceof ApiError && credentialRefused(error)) return undefined;
  return misuseOfRequest(method, url);
}

function credentialRefused(error: ApiError): boolean {
  return (
    error.code === "Unauthorized" ||
    error.code === "CredentialRevoked" ||
    error.code === "CredentialExpired" ||
    (error.code === "Forbidden" && error.details?.reason === "tenant-inactive")
  );
}

function decodedOrRaw(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
