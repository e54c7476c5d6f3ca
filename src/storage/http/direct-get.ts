/**
 * GETs whose body goes from the TLS socket straight into the caller's buffer: a restore's range
 * reads. Through node:http every TLS record of a body (16 KiB at most) became two new buffers (the
 * socket's chunk, then the HTTP parser's copy of it) and a dozen calls through two streams before
 * it was copied where the restore wanted it: a restore through the server paid ~57,000 such rounds
 * for its 936 MB of packs, and the buffers set off garbage collections. Here the TLS layer hands
 * its plaintext over through `onread` into the buffer this module names for each read: a small one
 * of the connection's own for the head, then the rest of the caller's buffer, so a body is copied
 * once, from the decrypted record straight into place.
 *
 * Only the answer a range read expects is read here: 200 or 206 with a Content-Length of exactly
 * the buffer's size and no other framing. Anything else (a refusal, a redirect, a chunked or
 * whole-object answer, a head too long) is `undefined`: that connection is dropped and the caller
 * asks again through node:http, which reads every answer. The bytes are the server's word only:
 * callers verify them (AEAD and keyed blob ids), as with any other read.
 */
import type { IncomingHttpHeaders } from "node:http";
import type { TLSSocket } from "node:tls";
import { timeoutError } from "./pinned-socket.js";

/** A socket's way to the server, calling back with the verified socket that reads into `onread`. */
export type DirectConnect = (
  onread: {
    /** called for the buffer each next read lands in */
    readonly buffer: () => Uint8Array;
    readonly callback: (bytes: number, buffer: Uint8Array) => boolean;
  },
  callback: (error: Error | null, socket: TLSSocket) => void,
) => void;

export interface DirectAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** a view of the caller's buffer, filled */
  readonly body: Buffer;
}

/** Where a connection's bytes land outside a body: heads, and anything past a body. */
const SCRATCH_BYTES = 16 * 1024;
/** The server's answers carry a few hundred bytes of head; a longer one goes to node:http. */
const MAX_HEAD_BYTES = 16 * 1024;
const END_OF_HEAD = Buffer.from("\r\n\r\n", "latin1");
/** A header name (RFC 9110 token): a folded or malformed line is not the expected answer. */
const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;

/** Answered and kept until its decrypted bytes are all seen; free for a read; gone. */
type ConnectionState = "settling" | "free" | "closed";

interface Exchange {
  readonly into: Buffer;
  /** head bytes gathered until its blank line */
  head: Buffer | undefined;
  answer: { status: number; headers: IncomingHttpHeaders } | undefined;
  received: number;
  /** answered as expected but not to be asked again (Connection: close, bytes past the body) */
  last: boolean;
  readonly settle: (outcome: DirectAnswer | undefined, error?: Error) => void;
}

/** One kept-alive connection, asked one thing at a time. */
class DirectConnection {
  private exchange: Exchange | undefined;
  /** set once the socket is verified; destroyed sockets are never set again */
  socket: TLSSocket | undefined;
  closed = false;
  /** whether any byte of an answer to the last request came */
  heard = false;
  private readonly scratch = Buffer.allocUnsafe(SCRATCH_BYTES);

  constructor(
    private readonly timeoutMs: number,
    private readonly release: (connection: DirectConnection, state: ConnectionState) => void,
  ) {}

  /** The callback of `onread`: false pauses the socket (nothing is expected on it). */
  readonly onBytes = (count: number, buffer: Uint8Array): boolean => {
    const exchange = this.exchange;
    if (exchange === undefined) {
      // Bytes nobody asked for: whatever the server meant, this connection is done.
      this.drop();
      return false;
    }
    this.heard = true;
    if (buffer !== this.scratch) {
      // Decrypted in place (nextBuffer named the rest of the body): no byte to move.
      exchange.received += count;
      if (exchange.received === exchange.into.length) this.answered(exchange);
      return true;
    }
    let bytes = Buffer.from(buffer.buffer, buffer.byteOffset, count);
    if (exchange.answer === undefined) {
      const rest = this.readHead(exchange, bytes);
      if (rest === undefined) return !this.closed;
      bytes = rest;
    }
    const wanted = exchange.into.length - exchange.received;
    if (bytes.length > wanted) exchange.last = true;
    const taken = Math.min(bytes.length, wanted);
    bytes.copy(exchange.into, exchange.received, 0, taken);
    exchange.received += taken;
    if (exchange.received === exchange.into.length) this.answered(exchange);
    return true;
  };

  /** The `onread` buffer of the next read: the rest of the body once its head is in. */
  readonly nextBuffer = (): Uint8Array => {
    const exchange = this.exchange;
    if (exchange?.answer === undefined || exchange.received >= exchange.into.length)
      return this.scratch;
    return exchange.into.subarray(exchange.received);
  };

  start(socket: TLSSocket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    this.socket = socket;
    socket.on("timeout", () => this.fail(timeoutError(this.timeoutMs)));
    socket.on("error", (error: Error) => this.fail(error));
    socket.on("close", () => this.fail(truncated()));
  }

  /** Sends the request; settles once the answer is in `into` or known not to be expected. */
  ask(head: string, into: Buffer): Promise<DirectAnswer | undefined> {
    const socket = this.socket as TLSSocket;
    this.heard = false;
    if (this.closed) return Promise.reject(truncated());
    return new Promise((resolve, reject) => {
      this.exchange = {
        into,
        head: undefined,
        answer: undefined,
        received: 0,
        last: false,
        settle: (outcome, error) => {
          this.exchange = undefined;
          socket.setTimeout(0);
          if (error) reject(error);
          else resolve(outcome);
        },
      };
      socket.ref();
      socket.setTimeout(this.timeoutMs);
      socket.write(head, "latin1");
    });
  }

  /** Ends the connection; an exchange in progress fails with `error` (or is handed to node:http). */
  drop(error?: Error): void {
    if (!this.closed) {
      this.closed = true;
      this.socket?.destroy();
      this.release(this, "closed");
    }
    this.exchange?.settle(undefined, error);
  }

  private fail(error: Error): void {
    this.drop(this.exchange === undefined ? undefined : error);
  }

  /** The bytes after the head once it is complete and expected; undefined while it is not. */
  private readHead(exchange: Exchange, bytes: Buffer): Buffer | undefined {
    const from = exchange.head?.length ?? 0;
    // Copied: the read buffer is filled again after this callback.
    const head = Buffer.concat(exchange.head === undefined ? [bytes] : [exchange.head, bytes]);
    const end = head.indexOf(END_OF_HEAD, Math.max(0, from - 3));
    if (end < 0) {
      if (head.length > MAX_HEAD_BYTES) this.drop();
      else exchange.head = head;
      return undefined;
    }
    const answer = expectedAnswer(head.toString("latin1", 0, end), exchange.into.length);
    if (answer === undefined) {
      this.drop();
      return undefined;
    }
    exchange.answer = answer;
    exchange.last = answer.last;
    const rest = head.subarray(end + END_OF_HEAD.length);
    if (rest.length === 0 && exchange.into.length === 0) this.answered(exchange);
    return rest;
  }

  private answered(exchange: Exchange): void {
    const { status, headers } = exchange.answer as NonNullable<Exchange["answer"]>;
    exchange.settle({ status, headers, body: exchange.into });
    if (exchange.last) {
      this.drop();
      return;
    }
    // Offered for the next read only once the records already decrypted have been seen: bytes
    // past the body (a server or proxy out of step) drop the connection instead of being taken
    // as the next answer.
    this.release(this, "settling");
    setImmediate(() => {
      if (this.closed) return;
      // Kept alive between reads, it never holds the process open.
      this.socket?.unref();
      this.release(this, "free");
    });
  }
}

/**
 * The status and headers of an answer whose body is exactly `length` bytes framed by its
 * Content-Length, and whether the connection ends with it; undefined for any other answer.
 */
export function expectedAnswer(
  head: string,
  length: number,
): { status: number; headers: IncomingHttpHeaders; last: boolean } | undefined {
  const lines = head.split("\r\n");
  const status = /^HTTP\/1\.([01]) (200|206) /.exec(`${lines[0] ?? ""} `);
  if (status === null) return undefined;
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    const name = line.slice(0, Math.max(0, colon)).toLowerCase();
    if (!TOKEN.test(name)) return undefined;
    // A repeated header could frame the body two ways: not the expected answer.
    if (name in headers) return undefined;
    headers[name] = line.slice(colon + 1).trim();
  }
  if (headers["content-length"] !== String(length) || "transfer-encoding" in headers)
    return undefined;
  const connection = headers.connection?.toLowerCase() ?? "";
  const last =
    status[1] === "0" ? !/\bkeep-alive\b/.test(connection) : /\bclose\b/.test(connection);
  return { status: Number(status[2]), headers, last };
}

/** Direct GETs on kept-alive connections: at most `maxConnections` at once. */
export class DirectGets {
  private readonly idle: DirectConnection[] = [];
  private readonly open = new Set<DirectConnection>();
  /** answered, about to be free: the next reads wait for these rather than open more */
  private readonly settling = new Set<DirectConnection>();
  /** reads waiting for a connection: handed one set free, or undefined when one closed */
  private readonly waiting: ((connection: DirectConnection | undefined) => void)[] = [];

  constructor(
    private readonly connect: DirectConnect,
    private readonly timeoutMs: number,
    private readonly maxConnections: number,
  ) {}

  /**
   * The answer, its body in `into`; undefined when the server answered something else: then ask
   * through node:http. Throws a network failure (with its errno).
   */
  async get(head: string, into: Uint8Array): Promise<DirectAnswer | undefined> {
    const target = Buffer.from(into.buffer, into.byteOffset, into.byteLength);
    const wait = this.waiting.length < this.settling.size || this.open.size >= this.maxConnections;
    const reused =
      this.idle.pop() ??
      (wait
        ? await new Promise<DirectConnection | undefined>((resolve) => this.waiting.push(resolve))
        : undefined);
    if (reused !== undefined) {
      try {
        return await reused.ask(head, target);
      } catch (error) {
        // The server may close a kept-alive connection as the request leaves: one fresh try.
        if (!isConnectionLoss(error) || reused.heard) throw error;
      }
    }
    return (await this.opened()).ask(head, target);
  }

  /** Closes every connection. */
  close(): void {
    for (const connection of [...this.open]) connection.drop();
  }

  private opened(): Promise<DirectConnection> {
    const connection = new DirectConnection(this.timeoutMs, (done, state) => {
      if (state === "settling") {
        this.settling.add(done);
        return;
      }
      this.settling.delete(done);
      if (state === "closed") this.forget(done);
      else {
        const waiter = this.waiting.shift();
        if (waiter === undefined) this.idle.push(done);
        else waiter(done);
      }
    });
    this.open.add(connection);
    return new Promise((resolve, reject) => {
      const onread = { buffer: connection.nextBuffer, callback: connection.onBytes };
      this.connect(onread, (error, socket) => {
        if (error) {
          this.forget(connection);
          reject(error);
          return;
        }
        connection.start(socket);
        resolve(connection);
      });
    });
  }

  /** A connection closed: a read waiting for one may open another. */
  private forget(connection: DirectConnection): void {
    if (!this.open.delete(connection)) return;
    const at = this.idle.indexOf(connection);
    if (at >= 0) this.idle.splice(at, 1);
    this.waiting.shift()?.(undefined);
  }
}

function isConnectionLoss(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "ECONNRESET" || code === "EPIPE";
}

/** An answer that ended before its declared length: the connection broke, a retry may not. */
export function truncated(): Error {
  return Object.assign(new Error("truncated response"), { code: "ECONNRESET" });
}
