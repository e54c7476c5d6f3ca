/**
 * Where an agent's request comes from, as its check-in records it: the host name and version the
 * agent client sends in headers (src/storage/http/pinned-client.ts) and the address the server
 * sees. The headers are the caller's word, kept for the operator to read, never trusted for a
 * decision; one that is not a plausible label is left out rather than refusing the request.
 */
import type { IncomingMessage } from "node:http";
import type { AgentSighting } from "../../catalog/catalog.js";
import {
  AGENT_HOST_HEADER,
  AGENT_VERSION_HEADER,
  MAX_HOSTNAME_LENGTH,
  MAX_VERSION_LENGTH,
} from "../../protocol/api.js";

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds
const CONTROL = /[\u0000-\u001f\u007f]/;

function label(value: string | string[] | undefined, maxLength: number): string | undefined {
  if (typeof value !== "string") return undefined;
  const text = value.trim();
  return text.length === 0 || text.length > maxLength || CONTROL.test(text) ? undefined : text;
}

/** `::ffff:192.0.2.7` (an IPv4 client of a dual-stack socket) as the `192.0.2.7` people know. */
export function plainAddress(address: string | undefined): string | undefined {
  if (address === undefined) return undefined;
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}

export function sightingOf(req: IncomingMessage): AgentSighting {
  const host = label(req.headers[AGENT_HOST_HEADER], MAX_HOSTNAME_LENGTH);
  const version = label(req.headers[AGENT_VERSION_HEADER], MAX_VERSION_LENGTH);
  const address = plainAddress(req.socket.remoteAddress);
  return {
    ...(host === undefined ? {} : { host }),
    ...(version === undefined ? {} : { version }),
    ...(address === undefined ? {} : { address }),
  };
}
