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
import { REMPART_VERSION } from "../version.js";
import { AgentWatch } from "./agents/watch.js";
import { auditServerStart } from "./audit/start.js";
import { ThrottledAudit } from "./audit/throttled.js";
import { Budget, type BudgetUse, TenantBudgets } from "./budget.js";
import { ConnectionCap } from "./connections.js";
import type { ServerContext } from "./context.js";
import { ensureAdminOperator, openDataDir } from "./data-dir.js";
import type { DeliveryLoop } from "./delivery/loop.js";
import { type AlertDeliveryOptions, startAlertDelivery } from "./delivery/start.js";
import { JobRunner, type JobsOptions } from "./jobs/runner.js";
import { guardRoutes, type Limits, NO_UPLOAD_MEMORY, resolveLimits } from "./limits.js";
import { ServerMetrics } from "./metrics/metrics.js";
import type { ScrapeTokenDigest } from "./metrics/scrape-token.js";
import { type OperatorPolicy, operatorPolicy, REFUSAL_AUDIT_EVERY_MS } from "./operators/policy.js";
import { openSecretBox } from "./operators/secret-box.js";
import type { DiskReserve } from "./quota.js";
import { CommitRateLimit } from "./rate-limit.js";
import { createDispatcher } from "./router.js";
import { ROUTES } from "./routes/index.js";
import { loadOrCreateTls } from "./tls.js";

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
  /**
   * Upload bodies held in memory at once, in bytes, across tenants; default 256 MiB (4 full-size
   * objects), at least 128 MiB.
   */
  readonly uploadMemoryBytes?: number | undefined;
  /**
   * Limits on what one client may hold at once (src/server/limits.ts, docs/SERVER.md); defaults
   * for those not given.
   */
  readonly limits?: Partial<Omit<Limits, "uploadMemoryBytes">> | undefined;
  /** How long `close` lets requests in flight finish before cutting them; default 5 s. */
  readonly closeGraceMs?: number | undefined;
  /** Quota of tenants created without one (null: unlimited); default 1 TiB (quota.ts). */
  readonly defaultQuotaBytes?: number | null | undefined;
  /** Free disk space agent uploads may not eat into; default 2 GiB (quota.ts). */
  readonly diskReserve?: DiskReserve | undefined;
  /** Operator logins (operators/policy.ts); by default admin routes need TOTP unless on loopback. */
  readonly operatorPolicy?: Partial<OperatorPolicy> | undefined;
  /** Prune, GC, due deletions and backup alerts on a schedule (jobs/runner.ts); absent: none. */
  readonly jobs?: JobsOptions | undefined;
  /** The scrape token's digest: `GET /metrics` answers to it. Absent: no metrics (404). */
  readonly metricsToken?: ScrapeTokenDigest | undefined;
  /** Where alerts go besides the catalog (src/server/delivery/); default: per-tenant ones only. */
  readonly alertDelivery?: AlertDeliveryOptions | undefined;
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

/** The server `startServer` returns: it also says what it holds. */
export interface StartedServer extends RunningServer {
  /** What is held now: budgets and connections (for tests and, later, metrics). */
  load(): ServerLoad;
  /** The server's jobs, when it runs them: `run` triggers one now. */
  readonly jobs: JobRunner | undefined;
}

export interface ServerLoad {
  readonly uploadMemory: BudgetUse;
  /** Tenants with uploads (or agent JSON bodies) held or waiting, by tenant id. */
  readonly tenantUploadMemory: Readonly<Record<string, BudgetUse>>;
  readonly publicJsonMemory: BudgetUse;
  readonly connections: number;
}

/** Concurrent password hashes (32 MiB and most of a core each). */
const PASSWORD_HASHING_SLOTS = 2;
const CLOSE_GRACE_MS = 5000;

/**
 * Timeouts of node:http, set deliberately. Node checks the header and request timeouts on a
 * sweep every `connectionsCheckingInterval`, so that interval bounds how late they fire.
 */
const TIMEOUTS = {
  maxHeaderSize: 16 * 1024,
  // Agents send their headers in one packet; a client still sending them after 10 s is holding
  // a connection, not using it.
  headersTimeout: 10_000,
  // The whole request, body included: a 64 MiB object over a slow uplink (1 Mbit/s takes 9 min)
  // must still fit, and a client trickling just above the minimum body rate is cut here.
  requestTimeout: 15 * 60_000,
  // Idle connections between an agent's requests count against its address's connection cap; an
  // agent reconnects in a few milliseconds, so they are not kept long.
  keepAliveTimeout: 10_000,
  connectionsCheckingInterval: 2000,
  // Inactivity on a socket in any state (a client that does not read its answer, a request
  // waiting for a budget with its body parked in TCP) is cut after this.
  socketIdleMs: 120_000,
  handshakeTimeout: 10_000,
} as const;

function urlHost(host: string): string {
  if (host === "0.0.0.0" || host === "::") return hostname();
  return isIPv6(host) ? `[${host}]` : host;
}

export async function startServer(options: ServerOptions): Promise<StartedServer> {
  const log = options.log ?? (() => {});
  const now = options.now ?? (() => new Date());
  const data = await openDataDir(options.dataDir);
  let delivery: DeliveryLoop | undefined;
  try {
    const firstAdminPassword = await ensureAdminOperator(data.catalog, now());
    const tls = await loadOrCreateTls({
      dir: join(data.root, "tls"),
      certFile: options.tlsCert,
      keyFile: options.tlsKey,
    });
    const limits = resolveLimits({
      ...options.limits,
      ...(options.uploadMemoryBytes === undefined
        ? {}
        : { uploadMemoryBytes: options.uploadMemoryBytes }),
    });
    const uploadMemory = new TenantBudgets(
      limits.uploadMemoryBytes,
      limits.tenantUploadMemoryBytes,
    );
    const publicJsonMemory = new Budget(limits.publicJsonMemoryBytes);
    const connections = new ConnectionCap(limits.connectionsPerAddress);
    const jobs =
      options.jobs === undefined
        ? undefined
        : new JobRunner(
            { catalog: data.catalog, stores: data.stores, dataDir: data.root, now, log },
            options.jobs,
          );
    const metrics =
      options.metricsToken === undefined
        ? undefined
        : {
            metrics: new ServerMetrics({
              catalog: data.catalog,
              now,
              jobs: jobs && (() => jobs.stats()),
            }),
            tokenDigest: options.metricsToken,
          };
    const ctx: ServerContext = {
      catalog: data.catalog,
      stores: data.stores,
      now,
      log,
      version: REMPART_VERSION,
      uploadMemory: NO_UPLOAD_MEMORY,
      operatorSecurity: {
        policy: operatorPolicy(options.listen.host, options.operatorPolicy),
        secrets: await openSecretBox(data.root),
        refusals: new ThrottledAudit(data.catalog, REFUSAL_AUDIT_EVERY_MS),
      },
      passwordHashing: new Budget(PASSWORD_HASHING_SLOTS),
      commitRate: new CommitRateLimit(limits.commitRate),
      commitRecording: new Budget(1),
      agentWatch: new AgentWatch(data.catalog, now, log),
      uploadingBytes: new Map(),
      ...(options.defaultQuotaBytes === undefined
        ? {}
        : { defaultQuotaBytes: options.defaultQuotaBytes }),
      ...(options.diskReserve === undefined ? {} : { diskReserve: options.diskReserve }),
      ...(metrics === undefined ? {} : { metrics }),
    };
    delivery = await startAlertDelivery(data.catalog, options.alertDelivery ?? {}, ctx);
    const dispatch = createDispatcher(
      guardRoutes(ROUTES, { limits, uploadMemory, publicJsonMemory }),
      ctx,
      metrics?.metrics.observe,
    );
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
        maxHeaderSize: TIMEOUTS.maxHeaderSize,
        headersTimeout: TIMEOUTS.headersTimeout,
        requestTimeout: TIMEOUTS.requestTimeout,
        keepAliveTimeout: TIMEOUTS.keepAliveTimeout,
        connectionsCheckingInterval: TIMEOUTS.connectionsCheckingInterval,
        handshakeTimeout: TIMEOUTS.handshakeTimeout,
      },
      onRequest,
    );
    server.setTimeout(TIMEOUTS.socketIdleMs);
    // Counted on the TCP connection, before TLS: a refused connection costs no handshake.
    server.prependListener("connection", (socket: Socket) => {
      if (!connections.admit(socket)) socket.destroy();
    });
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
    await auditServerStart(
      data.catalog,
      {
        host: options.listen.host,
        port,
        version: REMPART_VERSION,
        policy: ctx.operatorSecurity.policy,
        jobs: jobs !== undefined,
        metrics: metrics !== undefined,
        smtp: options.alertDelivery?.smtp !== undefined,
        tlsFingerprint: tls.fingerprint,
        tlsGenerated: tls.generated,
      },
      now(),
    ).catch((error: unknown) => {
      // Not started, then: nothing may listen once the catalog closes below.
      server.close();
      throw error;
    });
    jobs?.start();

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
        await jobs?.stop();
        await delivery?.stop();
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
      load: () => ({
        uploadMemory: uploadMemory.server.use(),
        tenantUploadMemory: uploadMemory.use(),
        publicJsonMemory: publicJsonMemory.use(),
        connections: connections.connections,
      }),
      jobs,
      close,
    };
  } catch (error) {
    await delivery?.stop();
    await data.catalog.close();
    throw error;
  }
}
