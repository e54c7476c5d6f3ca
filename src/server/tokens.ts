/**
 * Bearer tokens: agent credentials, operator sessions, enrollment tokens and API tokens. Each is a type prefix (src/protocol/api.ts) and 32 random bytes; the server keeps
 * only SHA-256 hashes, so a stolen catalog holds no usable credential.
 */
import { createHash, randomBytes } from "node:crypto";
import {
  AGENT_TOKEN_PREFIX,
  API_TOKEN_PREFIX,
  ENROLL_TOKEN_PREFIX,
  SESSION_TOKEN_PREFIX,
} from "../protocol/api.js";

const SECRET_BYTES = 32;
/** 32 bytes in base64url, without padding. */
const SECRET = /^[A-Za-z0-9_-]{43}$/;
/** Catalog ids: SQLite makes 16 hex digits; PostgreSQL may make UUIDs. Never an underscore. */
const AGENT_ID = /^[A-Za-z0-9-]{1,64}$/;
const BEARER = /^Bearer +([\x21-\x7e]{1,512}) *$/;

export type TokenKind = "agent" | "session" | "enroll" | "api";

/** The kinds that are a prefix and a secret, with no id inside. */
type PlainKind = "session" | "enroll" | "api";

const PREFIX: Readonly<Record<PlainKind, string>> = {
  session: SESSION_TOKEN_PREFIX,
  enroll: ENROLL_TOKEN_PREFIX,
  api: API_TOKEN_PREFIX,
};

export function sha256Hex(value: string | Uint8Array): string {
  return createHash("sha256").update(value).digest("hex");
}

export function newSecret(): string {
  return randomBytes(SECRET_BYTES).toString("base64url");
}

/** A fresh token of a kind without an embedded id, and the hash the catalog stores. */
export function newToken(kind: PlainKind): { token: string; hash: string } {
  const token = `${PREFIX[kind]}${newSecret()}`;
  return { token, hash: sha256Hex(token) };
}

export function agentCredential(agentId: string, secret: string): string {
  return `${AGENT_TOKEN_PREFIX}${agentId}_${secret}`;
}

/** The token of an `Authorization: Bearer …` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  return header === undefined ? undefined : BEARER.exec(header)?.[1];
}

export function tokenKind(token: string): TokenKind | undefined {
  if (token.startsWith(AGENT_TOKEN_PREFIX)) return "agent";
  if (token.startsWith(SESSION_TOKEN_PREFIX)) return "session";
  if (token.startsWith(ENROLL_TOKEN_PREFIX)) return "enroll";
  if (token.startsWith(API_TOKEN_PREFIX)) return "api";
  return undefined;
}

/** `rmpa_<agent id>_<secret>` split in two, or undefined when it has another shape. */
export function parseAgentCredential(
  token: string,
): { agentId: string; secret: string } | undefined {
  if (!token.startsWith(AGENT_TOKEN_PREFIX)) return undefined;
  const rest = token.slice(AGENT_TOKEN_PREFIX.length);
  const split = rest.indexOf("_");
  if (split < 0) return undefined;
  const agentId = rest.slice(0, split);
  const secret = rest.slice(split + 1);
  return AGENT_ID.test(agentId) && SECRET.test(secret) ? { agentId, secret } : undefined;
}

/** Whether token has the shape of a token of kind made by `newToken`. */
export function isWellFormedToken(token: string, kind: PlainKind): boolean {
  const prefix = PREFIX[kind];
  return token.startsWith(prefix) && SECRET.test(token.slice(prefix.length));
}
