/**
 * `startServer`: the data directory, the catalog, TLS and the first admin operator, then HTTPS on
 * the given address until `close`. One process per data directory.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { isIPv6 } from "node:net";
import { hostname } from "node:os";
import { join } from "node:path";
import { MAX_OBJECT_BYTES } from "../protocol/api.js";
import { Budget } from "./budget.js";
import type { ServerContext } from "./context.js";
import { ensureAdminOperator, openDataDir } from "./data-dir.js";
import type { DiskReserve } from "./quota.js";
import { createDispatcher } from "./router.js";
import { ROUTES } from "./routes/index.js";
import { loadOrCreateTls } from "./tls.js";
import { SERVER_VERSION } from "./version.js";

export interface ServerOptions {
  readonly dataDir: string;
  /** Port 0 picks a free port (tests). */
  readonly listen: { readonly host: string; readonly port: number };
  /** A real certificate and its key (PEM files); both or neither. Default: self-signed in data/tls. */
  readonly tlsCert?: string | undefined;
  readonly tlsKey?: string | undefined;
  /** The server's clock; default the system's. */
  readonly now?: (() => Date) | undefined;
  /** One line per request and per failure; default silent. */
  readonly log?: ((line: string) => void) | undefined;
  /** Upload bodies held in memory at once, in bytes; default 256 MiB (4 full-size objects). */
  readonly uploadMemoryBytes?: number | undefined;
  /** How long `close` lets requests in flight finish before cutting them; default 5 s. */
  readonly closeGraceMs?: number | undefined;
  /** Quota of tenants created without one (null: unlimited); default 1 TiB (quota.ts). */
  readonly defaultQuotaBytes?: number | null | undefined;
  /** Free disk space agent uploads may not eat into; default 2 GiB (quota.ts). */
  readonly diskReserve?: DiskReserve | undefined;
}

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  /** SHA-256 of the certificate, `AB:CD:…`: what agents pin. */
  readonly fingerprint: string;
  /** Set on the start that made the `admin` operator: its password, shown this once. */
  readonly firstAdminPassword?: string;
  /** Whether this start made a new self-signed certificate. */
  readonly tlsGenerated: boolean;
  /** Stops accepting, lets requests in flight finish (for a while), closes the catalog. */
  close(): Promise<void>;
}

export const DEFAULT_UPLOAD_MEMORY = 4 * MAX_OBJECT_BYTES;
/** Concurrent password hashes (32 MiB and most of a core each). */
const PASSWORD_HASHING_SLOTS = 2;
const CLOSE_GRACE_MS = 5000;

const LIMITS = {
  maxHeaderSize: 16 * 1024,
  headersTimeout: 20_000,
  // A 64 MiB object over a slow uplink (1 Mbit/s takes 9 min) must still fit.
  requestTimeout: 15 * 60_000,
  keepAliveTimeout: 30_000,
  // Inactivity on a socket, mid-request included: a stalled upload is cut after this.
  socketIdleMs: 120_000,
  handshakeTimeout: 20_000,
} as const;

function urlHost(host: string): string {
  if (host === "0.0.0.0" || host === "::") return hostname();
  return isIPv6(host) ? `[${host}]` : host;
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const log = options.log ?? (() => {});
  const now = options.now ?? (() => new Date());
  const data = await openDataDir(options.dataDir);
  try {
    const firstAdminPassword = await ensureAdminOperator(data.catalog, now());
    const tls = await loadOrCreateTls({
      dir: join(data.root, "tls"),
      certFile: options.tlsCert,
      keyFile: options.tlsKey,
    });
    const ctx: ServerContext = {
      catalog: data.catalog,
      stores: data.stores,
      now,
      log,
      version: SERVER_VERSION,
      uploadMemory: new Budget(
        Math.max(options.uploadMemoryBytes ?? DEFAULT_UPLOAD_MEMORY, MAX_OBJECT_BYTES),
      ),
      passwordHashing: new Budget(PASSWORD_HASHING_SLOTS),
      uploadingBytes: new Map(),
      ...(options.defaultQuotaBytes === undefined
        ? {}
        : { defaultQuotaBytes: options.defaultQuotaBytes }),
      ...(options.diskReserve === undefined ? {} : { diskReserve: options.diskReserve }),
    };
    const dispatch = createDispatcher(ROUTES, ctx);
    const inFlight = new Set<Promise<void>>();
    let closing = false;
    const onRequest = (req: IncomingMessage, res: ServerResponse) => {
      if (closing) res.setHeader("Connection", "close");
      // Done when the handler has returned and its answer has left (or the connection has gone).
      const answered = new Promise<void>((resolve) => res.once("close", resolve));
      const handled = dispatch(req, res).catch((error: unknown) =>
        log(`unhandled: ${String(error)}`),
      );
      const work: Promise<void> = Promise.all([handled, answered]).then(() => {
        inFlight.delete(work);
      });
      inFlight.add(work);
    };
    const server = createServer(
      {
        cert: tls.cert,
        key: tls.key,
        minVersion: "TLSv1.2",
        maxHeaderSize: LIMITS.maxHeaderSize,
        headersTimeout: LIMITS.headersTimeout,
        requestTimeout: LIMITS.requestTimeout,
        keepAliveTimeout: LIMITS.keepAliveTimeout,
        handshakeTimeout: LIMITS.handshakeTimeout,
      },
      onRequest,
    );
    server.setTimeout(LIMITS.socketIdleMs);
    // Expect: 100-continue is answered by the routes once the credential and limits pass, so a
    // refused upload is refused before its body is sent.
    server.on("checkContinue", onRequest);
    server.on("clientError", (error: NodeJS.ErrnoException, socket: Socket) => {
      if (error.code === "ECONNRESET" || !socket.writable) {
        socket.destroy();
        return;
      }
      const body = JSON.stringify({
        error: {
          code: "BadRequest",
          message: `malformed HTTP request (${error.code ?? "parse error"})`,
        },
      });
      socket.end(
        `HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
    });
    server.on("tlsClientError", (error: Error) => log(`TLS handshake failed: ${error.message}`));

    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.listen.port, options.listen.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    server.on("error", (error) => log(`server error: ${error.message}`));
    const { port } = server.address() as AddressInfo;

    let closed: Promise<void> | undefined;
    const close = () => {
      closed ??= (async () => {
        closing = true;
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        let grace: NodeJS.Timeout | undefined;
        const graceOver = new Promise<void>((resolve) => {
          grace = setTimeout(resolve, options.closeGraceMs ?? CLOSE_GRACE_MS);
        });
        await Promise.race([Promise.allSettled([...inFlight]), graceOver]);
        clearTimeout(grace);
        server.closeAllConnections();
        // Handlers of cut connections see their client leave and end; a put in progress completes.
        while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
        await stopped;
        await data.catalog.close();
      })();
      return closed;
    };

    return {
      url: `https://${urlHost(options.listen.host)}:${port}`,
      port,
      fingerprint: tls.fingerprint,
      ...(firstAdminPassword === undefined ? {} : { firstAdminPassword }),
      tlsGenerated: tls.generated,
      close,
    };
  } catch (error) {
    await data.catalog.close();
    throw error;
  }
}
