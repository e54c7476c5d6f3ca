/**
 * A TLS connection to the server whose certificate is the pinned one. The pin is checked on the
 * TLS socket before the socket is handed on, so a server that does not hold the pinned
 * certificate never receives a byte of a request, bearer credential included.
 */
import { isIP } from "node:net";
import { connect, type TLSSocket } from "node:tls";
import { RempartError } from "../../errors.js";

export interface PinnedServer {
  readonly host: string;
  readonly port: number;
  /** the certificate's SHA-256 fingerprint, as Node spells it (`AB:CD:…`) */
  readonly pin: string;
  /** `https://host:port`, as messages name the server */
  readonly origin: string;
  /** the handshake fails when the connection stays silent this long */
  readonly timeoutMs: number;
}

/** Where a socket's decrypted bytes go when they skip its stream (`onread` of node:net). */
export interface OnRead {
  /** the buffer reads land in, or a function naming it before each read */
  readonly buffer: Uint8Array | (() => Uint8Array);
  readonly callback: (bytes: number, buffer: Uint8Array) => boolean | undefined;
}

/** Calls back once with the verified socket, or with why there is none (the socket destroyed). */
export function connectPinned(
  server: PinnedServer,
  callback: (error: Error | null, socket: TLSSocket) => void,
  onread?: OnRead,
): void {
  const socket = connect({
    host: server.host,
    port: server.port,
    ...(isIP(server.host) === 0 ? { servername: server.host } : {}),
    // The certificate is self-signed: trust comes from the pin below, not from a CA.
    rejectUnauthorized: false,
    ...(onread === undefined ? {} : { onread }),
  });
  let settled = false;
  const done = (error: Error | null) => {
    if (settled) return;
    settled = true;
    socket.setTimeout(0);
    socket.off("error", done);
    if (error) {
      // Whatever the dying socket still reports has been answered by `error`.
      socket.on("error", () => undefined);
      socket.destroy();
    }
    callback(error, socket);
  };
  socket.setTimeout(server.timeoutMs, () => done(timeoutError(server.timeoutMs)));
  socket.once("error", done);
  socket.once("secureConnect", () => {
    const actual = socket.getPeerX509Certificate()?.fingerprint256;
    if (actual === server.pin) {
      done(null);
      return;
    }
    done(
      new RempartError(
        "InvalidArgument",
        `the server's certificate fingerprint is ${actual ?? "(none)"}, expected ${server.pin}: refusing to connect to ${server.origin}`,
        { actual: actual ?? null, expected: server.pin, server: server.origin },
      ),
    );
  });
}

export function timeoutError(ms: number): Error {
  return Object.assign(new Error(`no answer for ${ms} ms`), { code: "ETIMEDOUT" });
}
