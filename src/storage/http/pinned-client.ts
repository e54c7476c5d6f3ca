/**
 * HTTPS to a Rempart server whose (self-signed) certificate is pinned by its SHA-256
 * fingerprint. The pin is checked on the TLS socket before the socket is handed to HTTP, so a
 * server that does not hold the pinned certificate never receives a byte of a request, bearer
 * credential included. Verified sockets are kept alive and reused.
 *
 * Requests marked idempotent are sent again (retry.ts) after a network failure, a 5xx, a 408 (a
 * body the server found too slow) or a 429 (after its Retry-After): a server restarting, busy or a
 * dropped connection costs a wait, not a failed backup. Refusals of the request itself (4xx) are
 * never sent again.
 */
import { open } from "node:fs/promises";
import { Agent, type ClientRequestArgs, type IncomingHttpHeaders, request } from "node:http";
import { hostname } from "node:os";
import type { Duplex } from "node:stream";
import { type ErrorCode, isRempartError, RempartError } from "../../errors.js";
import {
  AGENT_HOST_HEADER,
  AGENT_TOKEN_PREFIX,
  AGENT_VERSION_HEADER,
  ApiErrorBody,
  type ApiErrorCode,
  MAX_OBJECT_BYTES,
} from "../../protocol/api.js";
import { REMPART_VERSION } from "../../version.js";
import { type RetryNotice, retrying, type Transient } from "../retry.js";
import { credentialRejection } from "./credential-rejection.js";
import { DirectGets, truncated } from "./direct-get.js";
import { normalizeFingerprint } from "./fingerprint.js";
import { connectPinned, type PinnedServer, timeoutError } from "./pinned-socket.js";

export type { RetryNotice } from "../retry.js";

export interface PinnedClientOptions {
  /** `https://host:port`, optionally with a path prefix (a reverse proxy's) */
  readonly url: string;
  /** the server certificate's SHA-256 fingerprint, with or without colons, any case */
  readonly fingerprint: string;
  /** bearer token sent with every request */
  readonly credential?: string;
  /** a request fails when its connection stays silent this long; default 120 s */
  readonly timeoutMs?: number;
  /** further attempts of an idempotent request after a transient failure; default 6 */
  readonly retries?: number;
  /** the first wait between attempts, doubled after each (at most 30 s); default 250 ms */
  readonly backoffMs?: number;
  /** told before each wait, so a caller can say why it is waiting */
  readonly onRetry?: (notice: RetryNotice) => void;
}

export interface ApiRequest {
  readonly method: "GET" | "HEAD" | "PUT" | "POST" | "DELETE";
  /** below the URL's path, e.g. `/v1/repo/objects/data` */
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** sent with a Content-Length, part after part, never concatenated */
  readonly body?: readonly Uint8Array[];
  /** instead of `body`: the bytes of a file, streamed (read again for each attempt) */
  readonly bodyFile?: { readonly path: string; readonly size: number };
  /** whether sending the request twice has the effect of sending it once */
  readonly idempotent: boolean;
  /**
   * Where a successful answer's body goes when it declares exactly this length (the response's
   * `body` is then a view of it): a restore's reads land in buffers it reuses, straight from the
   * socket for a GET (direct-get.ts). Any other answer (an error, a whole object instead of a
   * range) gets a buffer of its own.
   */
  readonly into?: Uint8Array;
}

export interface ApiResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

const DEFAULT_TIMEOUT_MS = 120_000;
const DEFAULT_RETRIES = 6;
const DEFAULT_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 30_000;
/** An object (64 MiB at most) or a JSON answer; anything larger is not a Rempart server's. */
const MAX_RESPONSE_BYTES = MAX_OBJECT_BYTES + 1024 * 1024;
/** Enough for a backup's uploads and a restore's reads in parallel. */
const MAX_SOCKETS = 8;
/** 408: the server found the body too slow; 429: it asks for a pause (Retry-After). */
const RETRY_STATUSES = new Set([408, 429, 500, 502, 503, 504]);
/** A longer Retry-After is not waited out within a command: the refusal is reported instead. */
const MAX_RETRY_AFTER_MS = 5 * 60_000;
/** Failures of the network or of a server going away, which a later attempt may not meet. */
const TRANSIENT_ERRNOS = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
  "EAI_AGAIN",
]);

/** A verified, reusable connection per server: TLS, then the pin, then HTTP. */
class PinnedAgent extends Agent {
  constructor(private readonly server: PinnedServer) {
    super({ keepAlive: true, maxSockets: MAX_SOCKETS });
  }

  // Returning nothing and answering through the callback makes HTTP wait for the pin check;
  // a socket returned here would get the request queued on it before the handshake finished.
  override createConnection(
    _options: ClientRequestArgs,
    callback?: (error: Error | null, socket: Duplex) => void,
  ): undefined {
    connectPinned(this.server, (error, socket) => callback?.(error, socket));
    return undefined;
  }
}

export class PinnedClient {
  /** `https://host:port`, as messages name the server */
  readonly origin: string;
  private readonly basePath: string;
  private readonly agent: PinnedAgent;
  private readonly direct: DirectGets;
  /** the Host header node:http would send */
  private readonly host: string;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly backoffMs: number;

  constructor(private readonly options: PinnedClientOptions) {
    const url = parseServerUrl(options.url);
    this.origin = url.origin;
    this.basePath = url.pathname.replace(/\/+$/, "");
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.retries = options.retries ?? DEFAULT_RETRIES;
    this.backoffMs = options.backoffMs ?? DEFAULT_BACKOFF_MS;
    this.host = url.host;
    const server: PinnedServer = {
      host: url.hostname.replace(/^\[(.*)\]$/, "$1"),
      port: Number(url.port || 443),
      pin: normalizeFingerprint(options.fingerprint),
      origin: this.origin,
      timeoutMs: this.timeoutMs,
    };
    this.agent = new PinnedAgent(server);
    this.direct = new DirectGets(
      (onread, callback) => connectPinned(server, callback, onread),
      this.timeoutMs,
      MAX_SOCKETS,
    );
  }

  /** The answer, whatever its status; an error only when no answer came (after the retries). */
  send(apiRequest: ApiRequest): Promise<ApiResponse> {
    return retrying(() => this.attempt(apiRequest), {
      retries: apiRequest.idempotent ? this.retries : 0,
      backoff: { firstMs: this.backoffMs, maxMs: MAX_BACKOFF_MS },
      transientResult: transientAnswer,
      transientError: (error) => {
        const errno = transientErrno(error);
        return errno === undefined ? undefined : { reason: errno };
      },
      exhausted: (last, attempts) =>
        new RempartError(
          "Io",
          `cannot reach the Rempart server at ${this.origin}: ${last.reason}${attempts > 1 ? ` (${attempts} attempts)` : ""}`,
          { server: this.origin, errno: last.reason, attempts },
        ),
      ...(this.options.onRetry ? { onRetry: this.options.onRetry } : {}),
    });
  }

  /** Sends JSON, returns the JSON answer of a 2xx; any other answer becomes its RempartError. */
  async json<T>(
    method: "GET" | "POST",
    path: string,
    body: unknown,
    idempotent: boolean,
  ): Promise<T> {
    const response = await this.send({
      method,
      path,
      idempotent,
      ...(body === undefined
        ? {}
        : {
            headers: { "content-type": "application/json" },
            body: [Buffer.from(JSON.stringify(body))],
          }),
    });
    if (response.status < 200 || response.status > 299)
      throw this.failure(response, { method, path });
    return response.status === 204 ? (undefined as T) : this.parseJson<T>(response, path);
  }

  private parseJson<T>(response: ApiResponse, path: string): T {
    try {
      return JSON.parse(response.body.toString("utf8")) as T;
    } catch {
      throw new RempartError(
        "Io",
        `the Rempart server at ${this.origin} answered ${path} with something that is not JSON`,
        { server: this.origin, path, status: response.status },
      );
    }
  }

  /** The RempartError for an answer that is not a success, from its `ApiErrorBody`. */
  failure(response: ApiResponse, sent: Pick<ApiRequest, "method" | "path">): RempartError {
    const error = errorBody(response);
    const serverCode = error?.code;
    const said = error?.message ?? `HTTP ${response.status}`;
    const refused = `the Rempart server at ${this.origin} refused ${sent.method} ${sent.path}: ${said}${serverCode ? ` (${serverCode})` : ""}`;
    const details = {
      ...error?.details,
      server: this.origin,
      path: sent.path,
      status: response.status,
      server_code: serverCode ?? null,
    };
    const rejection = isAgentCredential(this.options.credential)
      ? credentialRejection(response.status, error)
      : undefined;
    if (rejection !== undefined)
      return new RempartError("CredentialRejected", `${refused}. ${rejection.advice}`, {
        ...details,
        reason: rejection.reason,
      });
    const code = serverCode === undefined ? codeForStatus(response.status) : CODE_FOR[serverCode];
    return new RempartError(code, refused, details);
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.agent.destroy();
    this.direct.close();
  }

  /**
   * A GET into the caller's buffer goes straight from the socket (direct-get.ts) when the answer
   * is the one expected; any other answer is asked again through node:http, within this attempt.
   */
  private async attempt(apiRequest: ApiRequest): Promise<ApiResponse> {
    const headers = this.requestHeaders(apiRequest);
    const { into } = apiRequest;
    if (into !== undefined && apiRequest.method === "GET") {
      const head = requestHead(this.basePath + apiRequest.path, this.host, headers);
      const answer = head === undefined ? undefined : await this.direct.get(head, into);
      if (answer !== undefined) return answer;
    }
    return this.exchange(apiRequest, headers);
  }

  private requestHeaders(apiRequest: ApiRequest): Record<string, string> {
    const headers: Record<string, string> = { ...apiRequest.headers };
    if (this.options.credential !== undefined) {
      headers.authorization = `Bearer ${this.options.credential}`;
      // Every request with a credential is the agent's check-in: where and as what it runs.
      // (A header takes printable ASCII only: a name beyond it is left out, not a failed request.)
      const host = hostname();
      if (/^[\x21-\x7e]{1,255}$/.test(host)) headers[AGENT_HOST_HEADER] = host;
      headers[AGENT_VERSION_HEADER] = REMPART_VERSION;
    }
    const { body, bodyFile } = apiRequest;
    if (bodyFile !== undefined) headers["content-length"] = String(bodyFile.size);
    else if (body !== undefined)
      headers["content-length"] = String(body.reduce((sum, part) => sum + part.byteLength, 0));
    return headers;
  }

  /** One request and its answer through node:http. */
  private exchange(apiRequest: ApiRequest, headers: Record<string, string>): Promise<ApiResponse> {
    const body = apiRequest.body ?? [];
    const { bodyFile } = apiRequest;
    return new Promise<ApiResponse>((resolve, reject) => {
      const outgoing = request({
        agent: this.agent,
        method: apiRequest.method,
        path: this.basePath + apiRequest.path,
        headers,
      });
      // The first reason to give up wins: destroying a socket also reports "socket hang up".
      let cause: Error | undefined;
      const abandon = (error: Error) => {
        cause ??= error;
        outgoing.destroy(error);
      };
      outgoing.setTimeout(this.timeoutMs, () => abandon(timeoutError(this.timeoutMs)));
      outgoing.on("error", (error) => reject(cause ?? error));
      outgoing.on("response", (incoming) => {
        const declared = incoming.headers["content-length"];
        const status = incoming.statusCode ?? 0;
        const { into } = apiRequest;
        const body = new ResponseBody(
          apiRequest.method === "HEAD" ? undefined : declared,
          into !== undefined && status >= 200 && status < 300 && declared === String(into.length)
            ? into
            : undefined,
        );
        incoming.on("data", (chunk: Buffer) => {
          if (body.received + chunk.length > MAX_RESPONSE_BYTES) {
            abandon(
              new RempartError(
                "Io",
                `the Rempart server at ${this.origin} sent more than ${MAX_RESPONSE_BYTES} bytes for ${apiRequest.path}`,
              ),
            );
            return;
          }
          if (!body.add(chunk)) abandon(truncated());
        });
        incoming.on("error", (error) => reject(cause ?? error));
        incoming.on("end", () => {
          const bytes = body.complete();
          if (bytes === undefined) {
            reject(truncated());
            return;
          }
          resolve({ status, headers: incoming.headers, body: bytes });
        });
      });
      if (bodyFile === undefined) writeParts(outgoing, body).catch(reject);
      else writeFile(outgoing, bodyFile).catch(abandon);
    });
  }
}

/** `https:` only: the credential must never cross a network in clear. */
export function parseServerUrl(input: string): URL {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new RempartError("InvalidArgument", `"${input}" is not a URL (https://host:port)`);
  }
  if (url.protocol !== "https:" || url.username !== "" || url.password !== "")
    throw new RempartError(
      "InvalidArgument",
      `the server URL must be https://host[:port] without a user name, not "${input}"`,
    );
  return url;
}

async function writeParts(
  outgoing: ReturnType<typeof request>,
  parts: readonly Uint8Array[],
): Promise<void> {
  for (const part of parts) {
    if (part.byteLength === 0) continue;
    if (outgoing.write(part)) continue;
    // Backpressure: wait for the socket to drain, or give up when the request is gone.
    await new Promise<void>((resume) => {
      const proceed = () => {
        outgoing.off("drain", proceed);
        outgoing.off("close", proceed);
        resume();
      };
      outgoing.on("drain", proceed);
      outgoing.on("close", proceed);
    });
    if (outgoing.destroyed) return;
  }
  outgoing.end();
}

/** Bytes read from a file per write: a pack upload holds two of these, never the pack. */
const FILE_CHUNK_BYTES = 256 * 1024;

/**
 * Streams a file through two reused buffers: the next chunk is read while the socket takes the
 * one before, each write flushed before its buffer is read into again. (One buffer made every
 * chunk wait for a read and then a flush in turn: a 12 MB pack took 48 such round trips through
 * the thread pool at the end of a backup. A read stream's fresh buffers are garbage only a
 * collection frees: ~25 MB more peak RSS per backup.)
 */
async function writeFile(
  outgoing: ReturnType<typeof request>,
  file: { readonly path: string; readonly size: number },
): Promise<void> {
  const handle = await open(file.path, "r");
  const chunkBytes = Math.min(FILE_CHUNK_BYTES, Math.max(1, file.size));
  const buffers = [Buffer.allocUnsafeSlow(chunkBytes), Buffer.allocUnsafeSlow(chunkBytes)];
  const readAt = (turn: number, position: number) => {
    const buffer = buffers[turn % 2] as Buffer;
    const wanted = Math.min(buffer.length, file.size - position);
    return handle.read(buffer, 0, wanted, position).then(({ bytesRead }) => {
      if (bytesRead === 0)
        throw new RempartError("Io", `${file.path} ended after ${position} of ${file.size} bytes`);
      return buffer.subarray(0, bytesRead);
    });
  };
  let next: Promise<Buffer> | undefined = file.size > 0 ? readAt(0, 0) : undefined;
  try {
    for (let turn = 0, position = 0; next !== undefined; turn++) {
      const chunk = await next;
      position += chunk.length;
      const sent = send(outgoing, chunk);
      next = position < file.size ? readAt(turn + 1, position) : undefined;
      await sent;
      if (outgoing.destroyed) return;
    }
    outgoing.end();
  } finally {
    // A read still running when the request failed must end before its descriptor closes.
    await next?.catch(() => undefined);
    await handle.close();
  }
}

/** Writes a chunk and waits for the socket to take it (or for the request to be torn down). */
function send(outgoing: ReturnType<typeof request>, chunk: Buffer): Promise<void> {
  // Also released by "close": a request torn down with the chunk still queued may not call back.
  return new Promise<void>((resolve, reject) => {
    const closed = () => resolve();
    outgoing.once("close", closed);
    outgoing.write(chunk, (error) => {
      outgoing.off("close", closed);
      if (error) reject(error);
      else resolve();
    });
  });
}

/**
 * An HTTP/1.1 request head as node:http would send it for a GET without a body; undefined when a
 * value holds a byte a header cannot (node:http then refuses the request itself).
 */
function requestHead(
  path: string,
  host: string,
  headers: Readonly<Record<string, string>>,
): string | undefined {
  const lines = [`GET ${path} HTTP/1.1`, `Host: ${host}`, "Connection: keep-alive"];
  for (const [name, value] of Object.entries(headers)) {
    if (!/^[\t\x20-\x7e]*$/.test(value) || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name))
      return undefined;
    lines.push(`${name}: ${value}`);
  }
  if (!/^[\x21-\x7e]+$/.test(path)) return undefined;
  return `${lines.join("\r\n")}\r\n\r\n`;
}

/**
 * A response body gathered as it arrives. With a Content-Length (every object a server sends),
 * the chunks are copied into one buffer of that size: gathering them and concatenating at the
 * end held a pack twice (the chunks, then the copy) at the moment a restore holds the most.
 */
class ResponseBody {
  private readonly whole: Buffer | undefined;
  private readonly chunks: Buffer[] = [];
  received = 0;

  /** `into`: the caller's buffer, of exactly the declared length */
  constructor(contentLength: string | undefined, into?: Uint8Array) {
    const length = contentLength === undefined ? Number.NaN : Number(contentLength);
    if (into !== undefined) this.whole = Buffer.from(into.buffer, into.byteOffset, into.byteLength);
    // Sized by what the server declares, but never beyond what any answer may hold.
    else if (Number.isSafeInteger(length) && length >= 0 && length <= MAX_RESPONSE_BYTES)
      this.whole = Buffer.allocUnsafeSlow(length);
  }

  /** false when the chunk goes past the declared length */
  add(chunk: Buffer): boolean {
    if (this.whole === undefined) this.chunks.push(chunk);
    else if (this.received + chunk.length > this.whole.length) return false;
    else chunk.copy(this.whole, this.received);
    this.received += chunk.length;
    return true;
  }

  /** The body, or undefined when it ended short of its declared length. */
  complete(): Buffer | undefined {
    if (this.whole === undefined) return Buffer.concat(this.chunks, this.received);
    return this.received === this.whole.length ? this.whole : undefined;
  }
}

/** A 5xx, a 408 or a 429 whose Retry-After is short enough to wait out. */
function transientAnswer(response: ApiResponse): Transient | undefined {
  if (!RETRY_STATUSES.has(response.status)) return undefined;
  const reason = `HTTP ${response.status}`;
  if (response.status !== 429) return { reason };
  const notBeforeMs = retryAfterMs(response.headers["retry-after"]);
  if (notBeforeMs === undefined || notBeforeMs > MAX_RETRY_AFTER_MS) return undefined;
  return { reason, notBeforeMs };
}

/** `Retry-After` in whole seconds (the form the server sends); undefined when absent or otherwise. */
function retryAfterMs(header: string | undefined): number | undefined {
  return header !== undefined && /^\d{1,9}$/.test(header) ? Number(header) * 1000 : undefined;
}

function isAgentCredential(credential: string | undefined): boolean {
  return credential?.startsWith(AGENT_TOKEN_PREFIX) === true;
}

function transientErrno(error: unknown): string | undefined {
  if (isRempartError(error)) return undefined;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && TRANSIENT_ERRNOS.has(code) ? code : undefined;
}

function errorBody(response: ApiResponse): ApiErrorBody["error"] | undefined {
  try {
    const parsed: unknown = JSON.parse(response.body.toString("utf8"));
    if (ApiErrorBody.is(parsed)) return parsed.error;
  } catch {
    // Not a Rempart error body (a proxy's page, say): the status alone decides.
  }
  return undefined;
}

/** How each server refusal reads to the modules above storage. */
const CODE_FOR: Record<ApiErrorCode, ErrorCode> = {
  BadRequest: "InvalidArgument",
  Unauthorized: "InvalidArgument",
  CredentialExpired: "InvalidArgument",
  CredentialRevoked: "InvalidArgument",
  Forbidden: "InvalidArgument",
  AppendOnly: "Unsupported",
  NotFound: "NotFound",
  MethodNotAllowed: "Unsupported",
  Conflict: "ObjectConflict",
  TokenUsed: "InvalidArgument",
  TokenExpired: "InvalidArgument",
  PayloadTooLarge: "InvalidArgument",
  UnsupportedMediaType: "InvalidArgument",
  // Asked only for ranges of objects the server holds: the object is shorter than the index says.
  RangeNotSatisfiable: "RepositoryCorrupt",
  // Bytes that are not what their name promises conflict with that name, stored or not.
  HashMismatch: "ObjectConflict",
  MissingPacks: "NotFound",
  QuotaExceeded: "StorageFull",
  StorageFull: "StorageFull",
  // Answers the client already tried again (retrying); what remains is reported as it is.
  RequestTimeout: "Io",
  RateLimited: "Io",
  Internal: "Io",
};

function codeForStatus(status: number): ErrorCode {
  if (status === 404) return "NotFound";
  if (status === 409) return "ObjectConflict";
  if (status === 416) return "RepositoryCorrupt";
  if (status === 507) return "StorageFull";
  if (status >= 500) return "Io";
  return "InvalidArgument";
}
