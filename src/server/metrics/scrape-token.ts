/**
 * The scrape token that guards `GET /metrics`: a bearer secret the MSP configures on the server
 * (`--metrics-token-file`) and in Prometheus (`authorization.credentials_file`). Metrics name
 * every client and machine and how well each is protected: what an attacker choosing targets
 * wants. Only its SHA-256 is kept; a presented token is hashed and compared in constant time,
 * so neither its length nor its first wrong byte shows in the timing.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { readFile } from "node:fs/promises";
import { RempartError } from "../../errors.js";

/** Long enough that guessing it over the network is hopeless (`openssl rand -hex 32` gives 64). */
export const MIN_SCRAPE_TOKEN_LENGTH = 32;

export type ScrapeTokenDigest = Buffer & { readonly __scrapeToken: true };

export function digestScrapeToken(token: string): ScrapeTokenDigest {
  if (token.length < MIN_SCRAPE_TOKEN_LENGTH || !/^[\x21-\x7e]+$/.test(token))
    throw new RempartError(
      "InvalidArgument",
      `the metrics scrape token must be at least ${MIN_SCRAPE_TOKEN_LENGTH} printable characters without spaces (openssl rand -hex 32)`,
    );
  return createHash("sha256").update(token).digest() as ScrapeTokenDigest;
}

/** The token in a file (its one line; a final newline is ignored). */
export async function readScrapeTokenFile(path: string): Promise<ScrapeTokenDigest> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new RempartError(
      "NotFound",
      `cannot read the metrics token file ${path}: ${(error as Error).message}`,
      { path },
    );
  }
  return digestScrapeToken(text.replace(/\r?\n$/, ""));
}

/** Whether `authorization` is `Bearer <the token>`. */
export function isScrapeToken(
  authorization: string | undefined,
  digest: ScrapeTokenDigest,
): boolean {
  const match = /^Bearer ([\x21-\x7e]+)$/.exec(authorization ?? "");
  if (match === null) return false;
  return timingSafeEqual(
    createHash("sha256")
      .update(match[1] as string)
      .digest(),
    digest,
  );
}
