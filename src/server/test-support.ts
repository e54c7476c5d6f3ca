/**
 * Helpers for the server suites: a real server on 127.0.0.1 (ephemeral port, real TLS, real
 * SQLite, real files) in a temporary data directory, and raw HTTPS requests to it. Certificate
 * checks are off here on purpose: pinning is the client's job and is tested there.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import type { IncomingHttpHeaders } from "node:http";
import { request } from "node:https";
import { join, relative } from "node:path";
import { connect, type TLSSocket } from "node:tls";
import { createPasswordSlot } from "../crypto/key-slots.js";
import { generateMasterKey } from "../crypto/master-key.js";
import type { ApiErrorCode, EnrollResponse } from "../protocol/api.js";
import { ERROR_STATUS } from "../protocol/api.js";
import type { ObjectKind } from "../storage/object-store.js";
import { type Cleanup, tempDir } from "../testing/cli.js";
import { MIN_PACK_BYTES } from "./object-shape.js";
import type { OperatorPolicy } from "./operators/policy.js";
import type { DiskReserve } from "./quota.js";
import { type RunningServer, startServer } from "./server.js";

/** The sealed header of a one-blob pack: 28 + 9 + 42 bytes. */
const ONE_BLOB_HEADER = 79;

export { type Cleanup, tempDir };

export function sha256(bytes: Uint8Array | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** A clock the test moves; starts at the real time so TLS and catalogs see plausible dates. */
export class TestClock {
  private offsetMs = 0;
  readonly now = (): Date => new Date(Date.now() + this.offsetMs);
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

export interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface Sent {
  readonly method?: string;
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Uint8Array | string;
  /** A JSON body (sets Content-Type). */
  readonly json?: unknown;
  readonly token?: string;
}

export function json<T = Record<string, unknown>>(answer: Answer): T {
  return JSON.parse(answer.body.toString("utf8")) as T;
}

/** Asserts the answer is the API error `code` (with its fixed status) and returns its details. */
export function assertError(answer: Answer, code: ApiErrorCode): Record<string, unknown> {
  const text = answer.body.toString("utf8");
  assert.equal(answer.status, ERROR_STATUS[code], `expected ${code}, got ${answer.status} ${text}`);
  const body = JSON.parse(text) as { error: { code: string; details?: Record<string, unknown> } };
  assert.equal(body.error.code, code, text);
  return body.error.details ?? {};
}

export class TestServer {
  constructor(
    readonly server: RunningServer,
    readonly dataDir: string,
    readonly clock: TestClock,
  ) {}

  get port(): number {
    return this.server.port;
  }

  /** One request on its own connection. */
  send(sent: Sent): Promise<Answer> {
    const headers: Record<string, string> = { ...sent.headers };
    let body: Buffer | undefined;
    if (sent.json !== undefined) {
      body = Buffer.from(JSON.stringify(sent.json));
      headers["content-type"] ??= "application/json";
    } else if (sent.body !== undefined) {
      body = Buffer.from(sent.body);
    }
    if (body !== undefined) headers["content-length"] ??= String(body.length);
    if (sent.token !== undefined) headers.authorization = `Bearer ${sent.token}`;
    return new Promise((resolve, reject) => {
      const outgoing = request(
        {
          host: "127.0.0.1",
          port: this.port,
          method: sent.method ?? "GET",
          path: sent.path,
          headers,
          agent: false,
          rejectUnauthorized: false,
        },
        (incoming) => {
          const chunks: Buffer[] = [];
          incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
          incoming.on("error", reject);
          incoming.on("end", () =>
            resolve({
              status: incoming.statusCode ?? 0,
              headers: incoming.headers,
              body: Buffer.concat(chunks),
            }),
          );
        },
      );
      outgoing.on("error", reject);
      outgoing.end(body);
    });
  }

  /** A TLS connection for hand-written HTTP (truncated bodies, garbage). */
  connectRaw(): Promise<TLSSocket> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: "127.0.0.1", port: this.port, rejectUnauthorized: false });
      socket.once("secureConnect", () => resolve(socket));
      socket.once("error", reject);
    });
  }

  async login(password = this.server.firstAdminPassword): Promise<string> {
    const answer = await this.send({
      method: "POST",
      path: "/v1/login",
      json: { username: "admin", password },
    });
    assert.equal(answer.status, 200, answer.body.toString());
    return json<{ token: string }>(answer).token;
  }

  async createTenant(session: string, name: string, extra: Record<string, unknown> = {}) {
    const answer = await this.send({
      method: "POST",
      path: "/v1/tenants",
      token: session,
      json: { name, retention_days: 30, ...extra },
    });
    assert.equal(answer.status, 201, answer.body.toString());
    return json<{ id: string; name: string }>(answer);
  }

  async enrollToken(session: string, tenant: string, extra: Record<string, unknown> = {}) {
    const answer = await this.send({
      method: "POST",
      path: `/v1/tenants/${tenant}/enroll-tokens`,
      token: session,
      json: { expires_in_seconds: 3600, ...extra },
    });
    assert.equal(answer.status, 201, answer.body.toString());
    return json<{ token: string; expires_at: string }>(answer).token;
  }

  enroll(token: string, hostname = "pc-1"): Promise<Answer> {
    return this.send({
      method: "POST",
      path: "/v1/enroll",
      json: { token, hostname, version: "0.1.0" },
    });
  }

  /** A tenant (created with the admin session) and an enrolled agent of it. */
  async agentOf(session: string, tenant: string, hostname = "pc-1"): Promise<EnrollResponse> {
    const answer = await this.enroll(await this.enrollToken(session, tenant), hostname);
    assert.equal(answer.status, 201, answer.body.toString());
    return json<EnrollResponse>(answer);
  }

  put(token: string, kind: ObjectKind, name: string, body: Uint8Array, headers = {}) {
    return this.send({
      method: "PUT",
      path: `/v1/repo/objects/${kind}/${name}`,
      token,
      headers: { "content-type": "application/octet-stream", ...headers },
      body,
    });
  }

  /** Commits `snapshot` (bytes, named by their hash) with the packs it lists. */
  commit(
    token: string,
    snapshot: Buffer,
    packs: readonly string[] = [],
    claimed = "2030-01-01T00:00:00Z",
  ) {
    return this.send({
      method: "POST",
      path: "/v1/repo/snapshots",
      token,
      json: {
        name: sha256(snapshot),
        snapshot: snapshot.toString("base64"),
        packs,
        claimed_time: claimed,
      },
    });
  }

  tenantDir(tenantId: string): string {
    return join(this.dataDir, "tenants", tenantId);
  }

  close(): Promise<void> {
    return this.server.close();
  }
}

export async function startTestServer(
  owner: Cleanup,
  options: {
    dataDir?: string;
    uploadMemoryBytes?: number;
    closeGraceMs?: number;
    defaultQuotaBytes?: number | null;
    diskReserve?: DiskReserve;
    operatorPolicy?: Partial<OperatorPolicy>;
  } = {},
): Promise<TestServer> {
  let test: TestServer | undefined;
  // Registered before the directory's removal, so that it runs first (hooks run in order).
  owner.after(() => test?.close());
  const dataDir = options.dataDir ?? tempDir(owner, "server");
  const clock = new TestClock();
  const server = await startServer({
    dataDir,
    listen: { host: "127.0.0.1", port: 0 },
    now: clock.now,
    uploadMemoryBytes: options.uploadMemoryBytes,
    closeGraceMs: options.closeGraceMs,
    defaultQuotaBytes: options.defaultQuotaBytes,
    diskReserve: options.diskReserve,
    operatorPolicy: options.operatorPolicy,
  });
  test = new TestServer(server, dataDir, clock);
  return test;
}

/** Every file of a store but its temp directory, as relative path → SHA-256 of its bytes. */
export function fingerprintFiles(root: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      const name = relative(root, path);
      if (name === "tmp") continue;
      if (entry.isDirectory()) walk(path);
      else files.set(name, sha256(readFileSync(path)));
    }
  };
  walk(root);
  return files;
}

/** Names of the files in a store's temp directory (uploads never leave any behind). */
export function tempFiles(root: string): string[] {
  const tmp = join(root, "tmp");
  return statSync(tmp, { throwIfNoEntry: false }) ? readdirSync(tmp) : [];
}

/**
 * Gives bytes the shape of a pack, in place: the last 4 bytes become the trailer of a one-blob
 * header (what the server checks without keys: object-shape.ts). At least `MIN_PACK_BYTES`.
 */
export function asPack<T extends Uint8Array>(bytes: T): T {
  assert.ok(bytes.length >= MIN_PACK_BYTES, `a pack has at least ${MIN_PACK_BYTES} bytes`);
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).writeUInt32LE(
    ONE_BLOB_HEADER,
    bytes.length - 4,
  );
  return bytes;
}

/**
 * `text` in an object the server accepts as any kind but `keys` (it has the shape of a pack, and
 * is larger than any sealed object's minimum), and its name.
 */
export function blob(text: string): { bytes: Buffer; name: string } {
  const bytes = asPack(Buffer.concat([Buffer.from(text.padEnd(28, ".")), Buffer.alloc(83)]));
  return { bytes, name: sha256(bytes) };
}

/**
 * A real password key slot (default scrypt cost) as the repository stores it, and its name;
 * `kdf` overrides its parameters afterwards (a hostile slot: it no longer opens).
 */
export async function keySlotOf(
  label: string,
  kdf: Partial<{ N: number; r: number; p: number }> = {},
): Promise<{ bytes: Buffer; name: string }> {
  const slot = await createPasswordSlot(generateMasterKey(), "test password", label);
  const bytes = Buffer.from(JSON.stringify({ ...slot, kdf: { ...slot.kdf, ...kdf } }));
  return { bytes, name: sha256(bytes) };
}
