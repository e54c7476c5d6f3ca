import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { after, describe, it, type TestContext } from "node:test";
import { createServer as createTlsServer } from "node:tls";
import { isRempartError } from "../../errors.js";
import { freePort, makeCertificate, startHttpsServer, type TestServer } from "../../testing/tls.js";
import { normalizeFingerprint } from "./fingerprint.js";
import { HttpObjectStore } from "./http-store.js";
import { PinnedClient, type RetryNotice } from "./pinned-client.js";

const certificate = await makeCertificate();
const impostor = await makeCertificate();
const NAME = "a".repeat(64);

function json(status: number, body: unknown) {
  return (response: import("node:http").ServerResponse) => {
    const bytes = Buffer.from(JSON.stringify(body));
    response.writeHead(status, {
      "content-type": "application/json",
      "content-length": bytes.length,
    });
    response.end(bytes);
  };
}

describe("fingerprints", () => {
  it("accepts the server's fingerprint with or without colons, in any case", () => {
    const pin = certificate.fingerprint;
    for (const spelling of [
      pin,
      pin.toLowerCase(),
      pin.replaceAll(":", ""),
      pin.replaceAll(":", "").toLowerCase(),
      `  ${pin}\n`,
      `sha256 Fingerprint=${pin}`,
    ])
      assert.equal(normalizeFingerprint(spelling), pin, spelling);
  });

  it("refuses what is not 32 bytes of hex", () => {
    for (const spelling of ["", "AB:CD", `${certificate.fingerprint}:00`, "zz".repeat(32)])
      assert.throws(
        () => normalizeFingerprint(spelling),
        (e) => isRempartError(e, "InvalidArgument"),
      );
  });
});

describe("the pinned client", () => {
  const servers: TestServer[] = [];
  after(async () => {
    for (const server of servers) await server.close();
  });

  it("sends no byte of a request to a server whose certificate is not the pinned one", async (t) => {
    // A bare TLS server: it would decrypt every byte the client sent after the handshake.
    const received: Buffer[] = [];
    let connections = 0;
    let closed!: () => void;
    const connectionClosed = new Promise<void>((resolve) => {
      closed = resolve;
    });
    const server = createTlsServer({ cert: impostor.cert, key: impostor.key }, (socket) => {
      socket.on("data", (chunk: Buffer) => received.push(chunk));
      socket.on("error", () => undefined);
    });
    server.on("tlsClientError", () => undefined);
    server.on("connection", (socket) => {
      connections += 1;
      socket.on("close", () => closed());
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    t.after(() => server.close());
    const port = (server.address() as AddressInfo).port;
    const client = new PinnedClient({
      url: `https://127.0.0.1:${port}`,
      fingerprint: certificate.fingerprint,
      credential: "rmpa_agent_secret-that-must-not-leak",
    });
    await assert.rejects(
      client.send({
        method: "PUT",
        path: "/v1/repo/objects/data/x",
        body: [Buffer.from("payload")],
        idempotent: true,
      }),
      (error: unknown) => {
        assert.ok(isRempartError(error, "InvalidArgument"), String(error));
        assert.match(
          error.message,
          new RegExp(
            `certificate fingerprint is ${impostor.fingerprint}, expected ${certificate.fingerprint}: refusing to connect`,
          ),
        );
        return true;
      },
    );
    await connectionClosed;
    assert.equal(connections, 1, "the client connected");
    assert.equal(Buffer.concat(received).length, 0, "the impostor received request bytes");
  });

  it("sends the credential once the pin matches, however the pin was spelled", async () => {
    const seen: (string | undefined)[] = [];
    const server = await startHttpsServer(certificate, (request, response) => {
      seen.push(request.headers.authorization);
      json(200, { status: "ok" })(response);
    });
    servers.push(server);
    const client = new PinnedClient({
      url: server.url,
      fingerprint: certificate.fingerprint.replaceAll(":", "").toLowerCase(),
      credential: "rmpa_a_b",
    });
    assert.deepEqual(await client.json("GET", "/v1/health", undefined, true), { status: "ok" });
    assert.deepEqual(seen, ["Bearer rmpa_a_b"]);
    client.close();
  });

  it("reuses a verified connection for the next requests", async () => {
    let handshakes = 0;
    const server = await startHttpsServer(certificate, (_request, response) =>
      json(200, {})(response),
    );
    server.server.on("secureConnection", () => {
      handshakes += 1;
    });
    servers.push(server);
    const client = new PinnedClient({ url: server.url, fingerprint: certificate.fingerprint });
    for (let i = 0; i < 5; i++) await client.json("GET", "/v1/health", undefined, true);
    assert.equal(handshakes, 1);
    client.close();
  });

  it("retries an idempotent request until a server that was down comes up", async () => {
    const port = await freePort();
    const notices: RetryNotice[] = [];
    let starting: Promise<TestServer> | undefined;
    const client = new PinnedClient({
      url: `https://127.0.0.1:${port}`,
      fingerprint: certificate.fingerprint,
      retries: 20,
      backoffMs: 20,
      onRetry: (notice) => {
        notices.push(notice);
        // The server comes up only after the client has met it down: no race with the clock.
        starting ??= startHttpsServer(certificate, (_q, r) => json(200, { up: true })(r), port);
      },
    });
    assert.deepEqual(await client.json("GET", "/v1/health", undefined, true), { up: true });
    servers.push(await (starting as Promise<TestServer>));
    assert.equal(notices[0]?.reason, "ECONNREFUSED");
    assert.ok(notices.every((n, i) => n.attempt === i + 1));
    client.close();
  });

  it("gives up after its retries with a sentence naming the server", async () => {
    const port = await freePort();
    const client = new PinnedClient({
      url: `https://127.0.0.1:${port}`,
      fingerprint: certificate.fingerprint,
      retries: 2,
      backoffMs: 5,
    });
    await assert.rejects(
      client.send({ method: "GET", path: "/v1/health", idempotent: true }),
      (error: unknown) =>
        isRempartError(error, "Io") &&
        error.message ===
          `cannot reach the Rempart server at https://127.0.0.1:${port}: ECONNREFUSED (3 attempts)`,
    );
  });

  it("retries a 5xx answer, and sends a request that is not idempotent only once", async () => {
    const statuses = [503, 502, 200];
    let requests = 0;
    const server = await startHttpsServer(certificate, (_request, response) => {
      requests += 1;
      json(statuses.shift() ?? 503, {})(response);
    });
    servers.push(server);
    const client = new PinnedClient({
      url: server.url,
      fingerprint: certificate.fingerprint,
      backoffMs: 5,
    });
    const retried = await client.send({ method: "GET", path: "/v1/x", idempotent: true });
    assert.equal(retried.status, 200);
    assert.equal(requests, 3);
    const once = await client.send({ method: "POST", path: "/v1/x", idempotent: false });
    assert.equal(once.status, 503);
    assert.equal(requests, 4);
    client.close();
  });

  it("fails a request whose server stays silent, once its time is up", async () => {
    const server = await startHttpsServer(certificate, () => undefined);
    servers.push(server);
    const client = new PinnedClient({
      url: server.url,
      fingerprint: certificate.fingerprint,
      timeoutMs: 200,
      retries: 1,
      backoffMs: 5,
    });
    await assert.rejects(
      client.send({ method: "GET", path: "/v1/health", idempotent: true }),
      (error: unknown) => isRempartError(error, "Io") && /ETIMEDOUT/.test(error.message),
    );
    client.close();
  });

  it("refuses a server URL that is not https", () => {
    for (const url of ["http://127.0.0.1:8443", "127.0.0.1:8443", "https://u:p@127.0.0.1"])
      assert.throws(
        () => new PinnedClient({ url, fingerprint: certificate.fingerprint }),
        (e) => isRempartError(e, "InvalidArgument"),
      );
  });
});

describe("the HTTP store's reading of server refusals", () => {
  const cases = [
    [404, "NotFound", "NotFound"],
    [409, "Conflict", "ObjectConflict"],
    [507, "QuotaExceeded", "StorageFull"],
    [401, "CredentialRevoked", "CredentialRejected"],
    [401, "CredentialExpired", "CredentialRejected"],
    [401, "Unauthorized", "CredentialRejected"],
    [400, "BadRequest", "InvalidArgument"],
    [403, "AppendOnly", "Unsupported"],
    [422, "HashMismatch", "ObjectConflict"],
  ] as const;
  /** A store on a server that answers every request with this status and error body. */
  async function refusingStore(t: TestContext, status: number, error: unknown) {
    const server = await startHttpsServer(certificate, (_request, response) =>
      json(status, { error })(response),
    );
    t.after(() => server.close());
    const store = new HttpObjectStore({
      url: server.url,
      fingerprint: certificate.fingerprint,
      credential: "rmpa_a_b",
    });
    t.after(() => store.close());
    return store;
  }

  for (const [status, serverCode, code] of cases) {
    it(`turns ${status} ${serverCode} into ${code}, quoting the server`, async (t) => {
      const store = await refusingStore(t, status, {
        code: serverCode,
        message: `server says ${serverCode}`,
      });
      await assert.rejects(
        store.put({ kind: "data", name: NAME }, Buffer.from("x")),
        (error: unknown) =>
          isRempartError(error, code) &&
          (status === 404 || error.message.includes(`server says ${serverCode}`)),
      );
    });
  }

  it("says why an agent credential is refused and what to do about it", async (t) => {
    const advice = /enroll this machine again with a new enrollment token from your MSP/;
    for (const [serverCode, reason, details] of [
      ["CredentialRevoked", "revoked", undefined],
      ["CredentialExpired", "expired", undefined],
      ["Unauthorized", "unknown", undefined],
      ["Forbidden", "tenant-inactive", { reason: "tenant-inactive" }],
    ] as const) {
      const store = await refusingStore(t, serverCode === "Forbidden" ? 403 : 401, {
        code: serverCode,
        message: `server says ${serverCode}`,
        ...(details === undefined ? {} : { details }),
      });
      await assert.rejects(store.listPage("index"), (error: unknown) => {
        assert.ok(isRempartError(error, "CredentialRejected"), String(error));
        assert.equal(error.details.reason, reason);
        assert.match(error.message, reason === "tenant-inactive" ? /ask your MSP/ : advice);
        return true;
      });
    }
  });

  it("reads another refusal (a missing scope) as InvalidArgument, not as a rejected credential", async (t) => {
    const store = await refusingStore(t, 403, {
      code: "Forbidden",
      message: "this agent credential lacks the backup scope",
      details: { needed: "backup" },
    });
    await assert.rejects(store.listPage("index"), (error: unknown) =>
      isRempartError(error, "InvalidArgument"),
    );
  });

  it("reports missing packs of a refused commit as NotFound with their names", async (t) => {
    const missing = ["b".repeat(64)];
    const store = await refusingStore(t, 422, {
      code: "MissingPacks",
      message: "packs missing",
      details: { missing },
    });
    await assert.rejects(
      store.commitSnapshot({
        name: NAME,
        bytes: Buffer.from("s"),
        packs: missing,
        claimedTime: new Date().toISOString(),
      }),
      (error: unknown) =>
        isRempartError(error, "NotFound") &&
        JSON.stringify(error.details.missing) === JSON.stringify(missing),
    );
  });
});
