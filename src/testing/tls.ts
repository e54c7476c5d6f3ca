/**
 * Test support: throwaway self-signed certificates and small HTTPS servers on 127.0.0.1, for
 * proving what the pinned client does on the wire.
 */
import { mkdtempSync, rmSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import { type AddressInfo, createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadOrCreateTls } from "../server/tls.js";

export interface TestCertificate {
  readonly cert: string;
  readonly key: string;
  /** as Node and `openssl x509 -fingerprint -sha256` show it: `AB:CD:…` */
  readonly fingerprint: string;
}

/** A self-signed certificate for 127.0.0.1, made as the server makes its own. */
export async function makeCertificate(): Promise<TestCertificate> {
  const dir = mkdtempSync(join(tmpdir(), "rempart-cert-"));
  try {
    const { cert, key, fingerprint } = await loadOrCreateTls({ dir, hostname: "localhost" });
    return { cert: cert.toString("utf8"), key: key.toString("utf8"), fingerprint };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export type Handler = (request: IncomingMessage, response: ServerResponse) => void;

export interface TestServer {
  readonly server: Server;
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

/** An HTTPS server on 127.0.0.1 (port 0: any free one, unless given). */
export async function startHttpsServer(
  certificate: TestCertificate,
  handler: Handler,
  port = 0,
): Promise<TestServer> {
  const server = createServer({ cert: certificate.cert, key: certificate.key }, handler);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    server,
    port: bound,
    url: `https://127.0.0.1:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port nothing listens on (it was free a moment ago), for "server down" cases. */
export async function freePort(): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}
