/**
 * TOTP (RFC 6238) as every authenticator app does it by default: SHA-1, 6 digits, 30 s steps.
 * A code is accepted for its own step and one step either side (clock drift, a code typed as it
 * changed); which step matched is answered so the caller can refuse a replay.
 */
import { Secret, TOTP } from "otpauth";

const PERIOD_S = 30;
const DIGITS = 6;
/** Steps either side of now whose code is still accepted. */
const WINDOW = 1;
const ISSUER = "Rempart";
const CODE = /^[0-9]{6}$/;

/** A new secret (160 bits, as RFC 4226 recommends), base32 as apps type it. */
export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

function totpOf(secret: string, username: string): TOTP {
  return new TOTP({
    issuer: ISSUER,
    label: username,
    secret: Secret.fromBase32(secret),
    algorithm: "SHA1",
    digits: DIGITS,
    period: PERIOD_S,
  });
}

/** The `otpauth://totp/…` URI an authenticator app scans. */
export function totpUri(secret: string, username: string): string {
  return totpOf(secret, username).toString();
}

/** The step whose code `code` is, within the window around `now`; undefined for a wrong code. */
export function totpStep(secret: string, code: string, now: Date): number | undefined {
  if (!CODE.test(code)) return undefined;
  const timestamp = now.getTime();
  const delta = totpOf(secret, "-").validate({ token: code, timestamp, window: WINDOW });
  return delta === null ? undefined : Math.floor(timestamp / 1000 / PERIOD_S) + delta;
}

/** The code of `now` (tests, and nothing else on the server, make codes). */
export function totpCode(secret: string, now: Date): string {
  return totpOf(secret, "-").generate({ timestamp: now.getTime() });
}

export const TOTP_PERIOD_MS = PERIOD_S * 1000;
