import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { after, describe, it } from "node:test";
import { createServer as createTlsServer, type TLSSocket } from "node:tls";
import { isRempartError } from "../../errors.js";
import { makeCertificate, startHttpsServer, type TestServer } from "../../testing/tls.js";
import { expectedAnswer } from "./direct-get.js";
import { HttpObjectStore } from "./http-store.js";

const certificate = await makeCertificate();
const impostor = await makeCertificate();
const REF = { kind: "data", name: "d".repeat(64) } as const;
/** The object every server here holds: 300 KiB, so a range spans many TLS records. */
const OBJECT = Buffer.from(Array.from({ length: 300 * 1024 }, (_, i) => (i * 7 + (i >> 9)) % 256));

interface RawServer {
  readonly url: string;
  /** requests and TLS connections the server saw */
  readonly seen: { requests: number; connections: number };
  close(): Promise<void>;
}

/**
 * A TLS server that speaks HTTP/1.1 by hand, so a test can send what node:http never would (a
 * body cut short, bytes past the body, a stall): `answer` gets each request's range and the
 * running request count, and writes whatever it wants on the socket.
 */
async function rawServer(
  answer: (socket: TLSSocket, range: { first: number; last: number }, request: number) => void,
  cert = certificate,
): Promise<RawServer> {
  const seen = { requests: 0, connections: 0 };
  const sockets = new Set<TLSSocket>();
  const server = createTlsServer({ cert: cert.cert, key: cert.key }, (socket) => {
    seen.connections += 1;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
    let pending = "";
    socket.on("data", (chunk: Buffer) => {
      pending += chunk.toString("latin1");
      for (let end = pending.indexOf("\r\n\r\n"); end >= 0; end = pending.indexOf("\r\n\r\n")) {
        const head = pending.slice(0, end);
        pending = pending.slice(end + 4);
        seen.requests += 1;
        const [, first = "0", last = "0"] = /range: bytes=(\d+)-(\d+)/i.exec(head) ?? [];
        answer(socket, { first: Number(first), last: Number(last) }, seen.requests);
      }
    });
  });
  server.on("tlsClientError", () => undefined);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** The head of the answer a Rempart server gives to a range. */
function partialHead(first: number, last: number, extra = ""): string {
  return `HTTP/1.1 206 Partial Content\r\nContent-Type: application/octet-stream\r\nContent-Length: ${last - first + 1}\r\nContent-Range: bytes ${first}-${last}/${OBJECT.length}\r\n${extra}\r\n`;
}

function storeFor(url: string, options: { timeoutMs?: number; retries?: number } = {}) {
  return new HttpObjectStore({
    url,
    fingerprint: certificate.fingerprint,
    credential: "rmpa_direct_secret",
    backoffMs: 5,
    ...options,
  });
}

const RANGES = [
  { offset: 0, length: 100_000 },
  { offset: 12_345, length: 1 },
  { offset: 40_000, length: OBJECT.length - 40_000 },
  { offset: 123_456, length: 65_536 },
];

describe("range reads straight from the socket", () => {
  const closers: (() => Promise<void>)[] = [];
  after(async () => {
    for (const close of closers) await close();
  });

  it("land in the caller's window, one kept-alive connection for every read", async () => {
    const server = await rawServer((socket, { first, last }) => {
      socket.write(partialHead(first, last));
      // The body in pieces of odd sizes, as a real connection may deliver it.
      for (let at = first; at <= last; at += 7_000)
        socket.write(OBJECT.subarray(at, Math.min(at + 7_000, last + 1)));
    });
    closers.push(server.close);
    const store = storeFor(server.url);
    const buffer = Buffer.alloc(OBJECT.length + 10, 0xee);
    for (const { offset, length } of RANGES) {
      buffer.fill(0xee);
      await store.readInto(REF, offset, buffer.subarray(5, 5 + length));
      assert.ok(buffer.subarray(5, 5 + length).equals(OBJECT.subarray(offset, offset + length)));
      assert.ok(buffer.subarray(0, 5).every((b) => b === 0xee));
      assert.ok(buffer.subarray(5 + length).every((b) => b === 0xee));
    }
    assert.deepEqual(server.seen, { requests: RANGES.length, connections: 1 });
    store.close();
  });

  it("ask through node:http again when the answer is framed otherwise (chunked, whole object)", async () => {
    // Through node:http on a real HTTPS server: the first answer of each read is chunked or the
    // whole object (a proxy that ignores Range), which the direct path leaves to node:http.
    let requests = 0;
    const server: TestServer = await startHttpsServer(certificate, (request, response) => {
      requests += 1;
      const [, first = "0", last = "0"] =
        /bytes=(\d+)-(\d+)/.exec(request.headers.range ?? "") ?? [];
      // The first read: chunked to the direct path, then the whole object to node:http; the
      // second the other way round.
      if (requests === 2 || requests === 3) {
        response.writeHead(200, { "content-length": OBJECT.length });
        response.end(OBJECT);
        return;
      }
      const body = OBJECT.subarray(Number(first), Number(last) + 1);
      response.writeHead(206, { "content-range": `bytes ${first}-${last}/${OBJECT.length}` });
      // Two writes without a Content-Length: node:http sends the body chunked.
      response.write(body.subarray(0, 10));
      response.end(body.subarray(10));
    });
    closers.push(server.close);
    const store = storeFor(server.url);
    for (const { offset, length } of RANGES.slice(0, 2)) {
      const target = new Uint8Array(length);
      await store.readInto(REF, offset, target);
      assert.ok(Buffer.from(target).equals(OBJECT.subarray(offset, offset + length)));
    }
    store.close();
  });

  it("retry a body cut short, and report it once the retries are spent", async () => {
    const server = await rawServer((socket, { first, last }, request) => {
      socket.write(partialHead(first, last));
      if (request === 1 || request >= 3) {
        socket.end(OBJECT.subarray(first, first + Math.floor((last - first) / 2)));
        return;
      }
      socket.write(OBJECT.subarray(first, last + 1));
    });
    closers.push(server.close);
    const store = storeFor(server.url, { retries: 1 });
    const target = new Uint8Array(100_000);
    await store.readInto(REF, 1_000, target);
    assert.ok(Buffer.from(target).equals(OBJECT.subarray(1_000, 101_000)));
    await assert.rejects(
      store.readInto(REF, 0, new Uint8Array(100_000)),
      (error: unknown) =>
        isRempartError(error, "Io") && /ECONNRESET \(2 attempts\)/.test(error.message),
    );
    store.close();
  });

  it("fail a read whose server stalls mid-body, once its time is up", async () => {
    const server = await rawServer((socket, { first, last }) => {
      socket.write(partialHead(first, last));
      socket.write(OBJECT.subarray(first, first + 1_000));
    });
    closers.push(server.close);
    const store = storeFor(server.url, { timeoutMs: 200, retries: 1 });
    await assert.rejects(
      store.readInto(REF, 0, new Uint8Array(50_000)),
      (error: unknown) => isRempartError(error, "Io") && /ETIMEDOUT/.test(error.message),
    );
    assert.equal(server.seen.requests, 2);
    store.close();
  });

  it("never take bytes past a body as the next answer: that connection is dropped", async () => {
    const server = await rawServer((socket, { first, last }, request) => {
      // Past the first body, a forged second answer that would fill the next read with zeros.
      const forged = `${partialHead(0, 99)}${"\0".repeat(100)}`;
      socket.write(partialHead(first, last));
      socket.write(OBJECT.subarray(first, last + 1));
      if (request === 1) socket.write(forged, "latin1");
    });
    closers.push(server.close);
    const store = storeFor(server.url);
    for (const offset of [0, 200]) {
      const target = new Uint8Array(100);
      await store.readInto(REF, offset, target);
      assert.ok(Buffer.from(target).equals(OBJECT.subarray(offset, offset + 100)));
    }
    assert.deepEqual(server.seen, { requests: 2, connections: 2 });
    store.close();
  });

  it("send no byte of a range request to a server whose certificate is not the pinned one", async () => {
    const server = await rawServer(() => assert.fail("a request reached the impostor"), impostor);
    closers.push(server.close);
    const store = storeFor(server.url, { retries: 0 });
    await assert.rejects(
      store.readInto(REF, 0, new Uint8Array(10)),
      (error: unknown) =>
        isRempartError(error, "InvalidArgument") && /fingerprint/.test(error.message),
    );
    assert.equal(server.seen.requests, 0);
    store.close();
  });
});

describe("the answer a direct read expects", () => {
  const ok = (extra = "") =>
    `HTTP/1.1 206 Partial Content\r\nContent-Length: 10\r\nContent-Range: bytes 0-9/20${extra}`;

  it("is a 200 or 206 framed by a Content-Length of exactly the buffer", () => {
    assert.deepEqual(expectedAnswer(ok(), 10), {
      status: 206,
      headers: { "content-length": "10", "content-range": "bytes 0-9/20" },
      last: false,
    });
    assert.equal(expectedAnswer(ok("\r\nConnection: close"), 10)?.last, true);
    assert.equal(expectedAnswer("HTTP/1.0 200 OK\r\nContent-Length: 10", 10)?.last, true);
  });

  it("is not any other status, length or framing", () => {
    for (const head of [
      ok().replace("206", "416"),
      ok().replace("HTTP/1.1", "HTTP/2"),
      ok("\r\nTransfer-Encoding: chunked"),
      ok("\r\nContent-Length: 10"),
      ok("\r\n folded: line"),
      ok("\r\nno colon"),
      ok().replace("Length: 10", "Length: 010"),
    ])
      assert.equal(expectedAnswer(head, 10), undefined, head);
    assert.equal(expectedAnswer(ok(), 11), undefined);
  });
});
