/**
 * Reading requests and writing answers over node:http(s), with the limits of the wire contract:
 * JSON bodies need `application/json` and at most MAX_JSON_BYTES, object bodies
 * `application/octet-stream`, a Content-Length and at most MAX_OBJECT_BYTES. A body that breaks a
 * limit or stops short is refused with an ApiError and never reaches a store.
 *
 * Each request may carry tighter `BodyLimits` (set by the server before its handler runs): a
 * smaller JSON maximum, the budget its JSON body is counted in, and the minimum rate at which a
 * body must keep arriving once it is read. A body held in memory while its client trickles or
 * stalls is how one client used to hold memory others need; below the rate it is refused
 * (RequestTimeout, 408) and its connection is closed, and whatever it held is released.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { MAX_JSON_BYTES, MAX_OBJECT_BYTES } from "../protocol/api.js";
import { ApiError } from "./api-error.js";
import type { Allowance } from "./budget.js";

/** A body being read must bring `bytes` (or the rest of itself, if less) in every `windowMs`. */
export interface MinRate {
  readonly bytes: number;
  readonly windowMs: number;
}

export interface BodyLimits {
  readonly minRate: MinRate;
  /** JSON bodies at most this long (the smaller of this and the route's own limit). */
  readonly maxJsonBytes: number;
  /** Where a JSON body is counted while it is read and parsed; none: not counted. */
  readonly jsonMemory?: Allowance | undefined;
}

/**
 * 64 KiB in every 20 s (3.2 KiB/s, 26 kbit/s) is far below any uplink a backup can use: 8
 * parallel uploads over a 1 Mbit/s uplink still bring 16 KiB/s each. Only a stalled or trickling
 * client misses it, and the request timeout bounds a trickle that keeps just above it.
 */
export const DEFAULT_MIN_RATE: MinRate = { bytes: 64 * 1024, windowMs: 20_000 };

const DEFAULT_LIMITS: BodyLimits = { minRate: DEFAULT_MIN_RATE, maxJsonBytes: MAX_JSON_BYTES };
const limitsOf = new WeakMap<IncomingMessage, BodyLimits>();

/** The limits this request's body is read under, from now on. */
export function limitBodies(req: IncomingMessage, limits: BodyLimits): void {
  limitsOf.set(req, limits);
}

function bodyLimits(req: IncomingMessage): BodyLimits {
  return limitsOf.get(req) ?? DEFAULT_LIMITS;
}

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
 * The refusal of a body that came too slowly: 408, and the connection is closed once the answer
 * is out (the rest of the body is not worth waiting for), or after a second if the client reads
 * nothing.
 */
function slowBody(req: IncomingMessage, res: ServerResponse, rate: MinRate): ApiError {
  const cut = () => req.socket.destroy();
  setTimeout(cut, 1000).unref();
  res.once("finish", cut);
  return new ApiError(
    "RequestTimeout",
    `the body came too slowly: at least ${rate.bytes} bytes must arrive every ${rate.windowMs} ms; nothing was stored`,
    { min_bytes: rate.bytes, window_ms: rate.windowMs },
    { Connection: "close" },
  );
}

/**
 * Feeds the body to onChunk and resolves with its length once it is complete. Over `limit`, the
 * rest is discarded (the answer can still reach the client) and the promise rejects; a client that
 * disconnects or sends less than its Content-Length makes it reject too, and so does one that
 * sends less than the minimum rate in a window (answered 408).
 */
function readBody(
  req: IncomingMessage,
  res: ServerResponse,
  limit: number,
  onChunk: (chunk: Buffer) => void,
): Promise<number> {
  const rate = bodyLimits(req).minRate;
  const expected = declaredLength(req) ?? limit;
  return new Promise((resolve, reject) => {
    let received = 0;
    let windowStart = 0;
    let windowStartedAt = Date.now();
    const timer = setInterval(() => {
      const now = Date.now();
      const due = Math.min(rate.bytes, expected - windowStart);
      // A tick that comes late means this process was busy (the event loop held): bytes may be
      // waiting in the socket unread, and the server's slowness is not the client's.
      const late = now - windowStartedAt > rate.windowMs + Math.max(1000, rate.windowMs / 4);
      if (received - windowStart >= due || late) {
        windowStart = received;
        windowStartedAt = now;
        return;
      }
      stop();
      reject(slowBody(req, res, rate));
    }, rate.windowMs);
    const stop = () => {
      clearInterval(timer);
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

/**
 * The parsed JSON body: 415 without application/json, 413 over the limit, 400 when malformed.
 * While it is read and parsed, its declared length (or the limit, when chunked) is taken from the
 * request's JSON memory.
 */
export async function readJson(
  req: IncomingMessage,
  res: ServerResponse,
  routeLimit = MAX_JSON_BYTES,
): Promise<unknown> {
  requireContentType(req, "application/json");
  const limits = bodyLimits(req);
  const limit = Math.min(routeLimit, limits.maxJsonBytes);
  const length = declaredLength(req);
  if (length !== undefined && length > limit) throw tooLarge(limit);
  const read = async () => {
    continueIfExpected(req, res);
    const chunks: Buffer[] = [];
    await readBody(req, res, limit, (chunk) => chunks.push(chunk));
    const text = Buffer.concat(chunks).toString("utf8");
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw new ApiError("BadRequest", `the body is not valid JSON: ${(error as Error).message}`);
    }
  };
  return limits.jsonMemory === undefined ? read() : limits.jsonMemory.with(length ?? limit, read);
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
 * Reads exactly `length` bytes, handing every chunk to `onChunk` as it arrives (hashing and
 * writing while receiving); a body that ends short is refused.
 */
export async function readObjectChunks(
  req: IncomingMessage,
  res: ServerResponse,
  length: number,
  onChunk: (chunk: Buffer) => void,
): Promise<void> {
  continueIfExpected(req, res);
  const received = await readBody(req, res, length, onChunk);
  if (received !== length)
    throw new ApiError(
      "BadRequest",
      "the body ended before its Content-Length: nothing was stored",
      {
        received,
        expected: length,
      },
    );
}

/**
 * Reads exactly `length` bytes as the chunks they arrived in, and hands every chunk to `observe`
 * on the way. The chunks are the only copy the server holds: Node made each one for this request.
 */
export async function readObjectParts(
  req: IncomingMessage,
  res: ServerResponse,
  length: number,
  observe: (chunk: Buffer) => void,
): Promise<Buffer[]> {
  const parts: Buffer[] = [];
  await readObjectChunks(req, res, length, (chunk) => {
    parts.push(chunk);
    observe(chunk);
  });
  return parts;
}

/** Reads exactly `length` bytes into one buffer, for bodies read whole (key slots). */
export async function readObjectBody(
  req: IncomingMessage,
  res: ServerResponse,
  length: number,
  observe: (chunk: Buffer) => void,
): Promise<Buffer> {
  return Buffer.concat(await readObjectParts(req, res, length, observe), length);
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
 * Headers for an answer sent before the body was read. A body still arriving is drained by Node
 * after the answer when it is bounded (so the client reads the answer rather than a reset); an
 * unbounded or oversize one ends the connection instead.
 */
function unreadBodyHeaders(req: IncomingMessage, headers: Record<string, string>) {
  if (req.complete) return headers;
  const header = req.headers["content-length"];
  const length = header !== undefined && /^\d{1,16}$/.test(header) ? Number(header) : undefined;
  return length === undefined || length > MAX_OBJECT_BYTES
    ? { ...headers, Connection: "close" }
    : headers;
}

/**
 * The error answer, `{"error": {code, message, details?}}`. After the headers are out, only
 * closing the connection can signal failure; after a whole answer, there is nothing left to say.
 */
export function sendError(req: IncomingMessage, res: ServerResponse, error: ApiError): void {
  if (res.writableEnded) return;
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const { code, message, details } = error;
  sendJson(
    res,
    error.status,
    { error: { code, message, ...(details ? { details } : {}) } },
    unreadBodyHeaders(req, { ...error.headers }),
  );
}

/** 429 RateLimited, with Retry-After in whole seconds (at least 1). */
export function tooManyRequests(
  message: string,
  retryAfterMs: number,
  details: Readonly<Record<string, unknown>> = {},
): ApiError {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new ApiError(
    "RateLimited",
    message,
    { ...details, retry_after_seconds: seconds },
    { "Retry-After": String(seconds) },
  );
}
