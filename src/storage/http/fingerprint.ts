/**
 * Certificate fingerprints as people copy them: `openssl x509 -fingerprint -sha256` prints
 * `AB:CD:…`, other tools print bare hex in either case. Every spelling is brought to the one
 * Node reports (`X509Certificate.fingerprint256`), so a pin compares with a plain `===`.
 */
import { RempartError } from "../../errors.js";

const SHA256_HEX = /^[0-9A-F]{64}$/;

/** Colon-separated uppercase hex; `InvalidArgument` unless the input is 32 bytes of hex. */
export function normalizeFingerprint(input: string): string {
  const hex = input
    .trim()
    .replace(/^sha256\s*fingerprint\s*=\s*/i, "")
    .replace(/[:\s]/g, "")
    .toUpperCase();
  if (!SHA256_HEX.test(hex))
    throw new RempartError(
      "InvalidArgument",
      `"${input}" is not a SHA-256 certificate fingerprint (64 hex digits, colons allowed, as the server prints it)`,
    );
  return hex.match(/../g)?.join(":") ?? hex;
}
