/**
 * Reading requests and writing answers over node:http(s), with the limits of the wire contract:
 * JSON bodies need `application/json` and at most MAX_JSON_BYTES, object bodies
 * `application/octet-stream`, a Content-Length and at most MAX_OBJECT_BYTES. A body that breaks a
 * limit or stops short is refused with an ApiError and never reaches a store.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { MAX_JSON_BYTES, MAX_OBJECT_BYTES } from "../protocol/api.js";
import { ApiError } from "./api-error.js";

export interface Target {
  /** Path segments, exactly as sent: never percent-decoded, so `%2e%2e%2f` stays a plain name. */
  readonly segments: readonly string[];
  readonly query: URLSearchParams;
}

const MAX_TARGET_LENGTH = 4096;

/**
 * The request target split into segments. Dot and empty segments are refused rather than
 * normalized away: `objects/data/../config` must not quietly become `objects/config`.
 */
export function parseTarget(url: string | undefined): Target {
  if (url === undefined || !url.startsWith("/") || url.length > MAX_TARGET_LENGTH)
    throw new ApiError(
      "BadRequest",
      "the request target must be a path of at most 4096 characters",
    );
  const queryAt = url.indexOf("?");
  const path = queryAt < 0 ? url : url.slice(0, queryAt);
  const segments = path.slice(1).split("/");
  for (const segment of segments) {
    if (segment === "")
      throw new ApiError("BadRequest", "the path has an empty segment (a doubled or trailing /)");
    if (segment === "." || segment === "..")
      throw new ApiError("BadRequest", "the path has a . or .. segment; names are never paths");
  }
  return { segments, query: new URLSearchParams(queryAt < 0 ? "" : url.slice(queryAt + 1)) };
}

/** The Content-Length, or undefined when the request has none. */
export function declaredLength(req: IncomingMessage): number | undefined {
  const header = req.headers["content-length"];
  if (header === undefined) return undefined;
  // Node has already refused repeated or conflicting values; this refuses signs and spaces.
  if (!/^\d{1,16}$/.test(header))
    throw new ApiError("BadRequest", "Content-Length must be a whole number of bytes");
  return Number(header);
}

export function requireContentType(req: IncomingMessage, expected: string): void {
  const type = req.headers["content-type"]?.split(";")[0]?.trim().toLowerCase();
  if (type !== expected)
    throw new ApiError("UnsupportedMediaType", `the body must be sent as ${expected}`, {
      expected,
      received: req.headers["content-type"] ?? null,
    });
}

/** Tells a client that sent `Expect: 100-continue` to go ahead, once the request is accepted. */
function continueIfExpected(req: IncomingMessage, res: ServerResponse): void {
  if (req.headers.expect?.toLowerCase() === "100-continue" && !res.headersSent) res.writeContinue();
}

function tooLarge(limit: number): ApiError {
  return new ApiError("PayloadTooLarge", `the body is larger than ${limit} bytes`, { limit });
}

/**
 * Feeds the body to onChunk and resolves with its length once it is complete. Over `limit`, the
 * rest is discarded (the answer can still reach the client) and the promise rejects; a client that
 * disconnects or sends less than its Content-Length makes it reject too.
 */
function readBody(
  req: IncomingMessage,
  limit: number,
  onChunk: (chunk: Buffer) => void,
): Promise<number> {
  return new Promise((resolve, reject) => {
    let received = 0;
    const stop = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onAbort);
      req.off("close", onClose);
    };
    const truncated = () => {
      stop();
      reject(
        new ApiError("BadRequest", "the body ended before its Content-Length: nothing was stored", {
          received,
        }),
      );
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > limit) {
        stop();
        req.resume();
        reject(tooLarge(limit));
        return;
      }
      onChunk(chunk);
    };
    const onEnd = () => {
      stop();
      if (req.complete) resolve(received);
      else truncated();
    };
    const onAbort = () => truncated();
    const onClose = () => {
      if (!req.complete) truncated();
    };
    // A client that left while the request waited (for a budget, say) sends no more events.
    if (req.destroyed) {
      truncated();
      return;
    }
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onAbort);
    req.on("close", onClose);
  });
}

/** The parsed JSON body: 415 without application/json, 413 over the limit, 400 when malformed. */
export async function readJson(
  req: IncomingMessage,
  res: ServerResponse,
  limit = MAX_JSON_BYTES,
): Promise<unknown> {
  requireContentType(req, "application/json");
  const length = declaredLength(req);
  if (length !== undefined && length > limit) throw tooLarge(limit);
  continueIfExpected(req, res);
  const chunks: Buffer[] = [];
  await readBody(req, limit, (chunk) => chunks.push(chunk));
  const text = Buffer.concat(chunks).toString("utf8");
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ApiError("BadRequest", `the body is not valid JSON: ${(error as Error).message}`);
  }
}

/** Checks an object upload's headers, and answers its declared length. */
export function objectBodyLength(req: IncomingMessage): number {
  requireContentType(req, "application/octet-stream");
  if (req.headers["transfer-encoding"] !== undefined)
    throw new ApiError("BadRequest", "send objects with a Content-Length, not chunked");
  const length = declaredLength(req);
  if (length === undefined)
    throw new ApiError("BadRequest", "an object upload needs a Content-Length header");
  if (length > MAX_OBJECT_BYTES) throw tooLarge(MAX_OBJECT_BYTES);
  return length;
}

/**
 * Reads exactly `length` bytes into one buffer (the only copy the server holds) and hands every
 * chunk to `observe` on the way (hashing while receiving).
 */
export async function readObjectBody(
  req: IncomingMessage,
  res: ServerResponse,
  length: number,
  observe: (chunk: Buffer) => void,
): Promise<Buffer> {
  continueIfExpected(req, res);
  const body = Buffer.allocUnsafe(length);
  let filled = 0;
  await readBody(req, length, (chunk) => {
    chunk.copy(body, filled);
    filled += chunk.length;
    observe(chunk);
  });
  if (filled !== length)
    throw new ApiError(
      "BadRequest",
      "the body ended before its Content-Length: nothing was stored",
      {
        received: filled,
        expected: length,
      },
    );
  return body;
}

const COMMON_HEADERS = {
  "Cache-Control": "no-store",
  "X-Content-Type-Options": "nosniff",
} as const;

function writable(res: ServerResponse): boolean {
  return !res.destroyed && !res.writableEnded && res.socket?.destroyed !== true;
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (!writable(res)) return;
  let text: Buffer;
  let code = status;
  try {
    text = Buffer.from(JSON.stringify(body));
  } catch {
    // Details that do not serialize (a BigInt from a driver, say) must not leave the client hanging.
    text = Buffer.from('{"error":{"code":"Internal","message":"the answer could not be encoded"}}');
    code = 500;
  }
  res.writeHead(code, {
    ...COMMON_HEADERS,
    ...headers,
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": String(text.length),
  });
  res.end(text);
}

export function sendEmpty(
  res: ServerResponse,
  status: number,
  headers: Record<string, string> = {},
): void {
  if (!writable(res)) return;
  res.writeHead(status, { ...COMMON_HEADERS, ...headers });
  res.end();
}

/**
 * The error answer. A body still arriving is drained by Node after the answer when it is bounded
 * (so the client reads the answer rather than a reset); an unbounded or oversize one ends the
 * connection instead. After the headers are out, only closing the connection can signal failure.
 */
export function sendError(req: IncomingMessage, res: ServerResponse, error: ApiError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const headers: Record<string, string> = { ...error.headers };
  if (!req.complete) {
    const header = req.headers["content-length"];
    const length = header !== undefined && /^\d{1,16}$/.test(header) ? Number(header) : undefined;
    if (length === undefined || length > MAX_OBJECT_BYTES) headers.Connection = "close";
  }
  sendJson(
    res,
    error.status,
    {
      error: {
        code: error.code,
        message: error.message,
        ...(error.details ? { details: error.details } : {}),
      },
    },
    headers,
  );
}
