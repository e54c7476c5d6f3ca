import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { chmod, rm, truncate } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { MAX_JSON_BYTES, MAX_OBJECT_BYTES, type ObjectListing } from "../protocol/api.js";
import {
  type Answer,
  asPack,
  assertError,
  blob,
  fingerprintFiles,
  json,
  sha256,
  startTestServer,
  type TestServer,
  tempFiles,
} from "./test-support.js";

/** A listing's names and sizes (its receipt times and uploaders are tested with quarantines). */
function names(answer: Answer): { name: string; size: number }[] {
  return json<ObjectListing>(answer).objects.map(({ name, size }) => ({ name, size }));
}

async function withAgent(t: Parameters<typeof startTestServer>[0]) {
  const server = await startTestServer(t);
  const session = await server.login();
  const tenant = await server.createTenant(session, "acme");
  const agent = await server.agentOf(session, "acme");
  return { server, session, tenant, token: agent.credential };
}

/**
 * Sends hand-written HTTP on its own connection and reads until the server closes it (every such
 * request says `Connection: close`; the socket is not half-closed, which Node's server takes as
 * the client leaving).
 */
async function raw(server: TestServer, text: string): Promise<string> {
  const socket = await server.connectRaw();
  const chunks: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => chunks.push(chunk));
  // A hang guard, not a timing assertion: a server that never closes fails the match below.
  socket.setTimeout(30_000, () => socket.destroy());
  socket.write(text.replace("\r\n\r\n", "\r\nConnection: close\r\n\r\n"));
  await once(socket, "close");
  return Buffer.concat(chunks).toString("latin1");
}

describe("the object API", () => {
  it("stores, lists, heads and reads objects back, whole and by range", async (t) => {
    const { server, token } = await withAgent(t);
    const big = asPack(randomBytes(3 * 1024 * 1024 + 123));
    const small = blob("a small index");
    const bigName = sha256(big);
    assert.equal((await server.put(token, "data", bigName, big)).status, 201);
    assert.equal((await server.put(token, "index", small.name, small.bytes)).status, 201);
    const config = Buffer.from("sealed config bytes, nonce and tag included");
    assert.equal((await server.put(token, "config", "config", config)).status, 201);

    const listing = await server.send({ path: "/v1/repo/objects/data", token });
    assert.deepEqual(names(listing), [{ name: bigName, size: big.length }]);
    const configs = await server.send({ path: "/v1/repo/objects/config", token });
    assert.deepEqual(names(configs), [{ name: "config", size: config.length }]);

    const head = await server.send({
      method: "HEAD",
      path: `/v1/repo/objects/data/${bigName}`,
      token,
    });
    assert.equal(head.status, 200);
    assert.equal(head.headers["content-length"], String(big.length));
    assert.equal(head.body.length, 0);

    const whole = await server.send({ path: `/v1/repo/objects/data/${bigName}`, token });
    assert.equal(whole.status, 200);
    assert.ok(whole.body.equals(big));
    const fromConfig = await server.send({ path: "/v1/repo/objects/config/config", token });
    assert.ok(fromConfig.body.equals(config));

    const ranges: [string, number, number][] = [
      ["bytes=0-9", 0, 10],
      ["bytes=1048570-1048600", 1048570, 31],
      [`bytes=${big.length - 7}-`, big.length - 7, 7],
      ["bytes=-5", big.length - 5, 5],
      [`bytes=100-${big.length + 1000}`, 100, big.length - 100],
      ["bytes=1000-2049999", 1000, 2049000],
    ];
    for (const [range, offset, length] of ranges) {
      const part = await server.send({
        path: `/v1/repo/objects/data/${bigName}`,
        token,
        headers: { range },
      });
      assert.equal(part.status, 206, range);
      assert.equal(
        part.headers["content-range"],
        `bytes ${offset}-${offset + length - 1}/${big.length}`,
      );
      assert.ok(part.body.equals(big.subarray(offset, offset + length)), range);
    }
    const past = await server.send({
      path: `/v1/repo/objects/data/${bigName}`,
      token,
      headers: { range: `bytes=${big.length}-` },
    });
    assertError(past, "RangeNotSatisfiable");
    assert.equal(past.headers["content-range"], `bytes */${big.length}`);
    for (const range of ["bytes=0-1,5-6", "items=0-1", "bytes=9-2", "bytes=-"]) {
      const bad = await server.send({
        path: `/v1/repo/objects/data/${bigName}`,
        token,
        headers: { range },
      });
      assertError(bad, "BadRequest");
    }
  });

  it("sends an object to a reader that keeps pausing byte for byte, though its slices are reused", async (t) => {
    const { server, token } = await withAgent(t);
    // More than the loopback connection buffers, so the server's writes queue behind the reader.
    const big = asPack(randomBytes(40 * 1024 * 1024));
    const name = sha256(big);
    assert.equal((await server.put(token, "data", name, big)).status, 201);
    const socket = await server.connectRaw();
    const chunks: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      if (chunks.length % 64 === 0) {
        socket.pause();
        setTimeout(() => socket.resume(), 20);
      }
    });
    // A hang guard, not a timing assertion.
    socket.setTimeout(60_000, () => socket.destroy());
    socket.write(
      `GET /v1/repo/objects/data/${name} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`,
    );
    await once(socket, "close");
    const answer = Buffer.concat(chunks);
    const bodyStart = answer.indexOf("\r\n\r\n") + 4;
    assert.match(answer.subarray(0, bodyStart).toString("latin1"), /^HTTP\/1\.1 200 /);
    assert.ok(answer.subarray(bodyStart).equals(big));
  });

  it("answers an absent object with NotFound on HEAD and GET", async (t) => {
    const { server, token } = await withAgent(t);
    const name = sha256("never stored");
    assertError(await server.send({ path: `/v1/repo/objects/data/${name}`, token }), "NotFound");
    const head = await server.send({
      method: "HEAD",
      path: `/v1/repo/objects/data/${name}`,
      token,
    });
    assert.equal(head.status, 404);
  });

  it("answers a GET by the catalog's record, and never half an object when its file is gone or cut short", async (t) => {
    const { server, token, tenant } = await withAgent(t);
    const body = asPack(randomBytes(3 * 1024 * 1024));
    const name = sha256(body);
    assert.equal((await server.put(token, "data", name, body)).status, 201);
    const file = join(server.tenantDir(tenant.id), "data", name.slice(0, 2), name);
    const range = { Range: "bytes=1048576-3145727" };

    // Cut short under its record: refused before any byte is sent, not a 206 with too few bytes.
    await chmod(file, 0o600);
    await truncate(file, 2 * 1024 * 1024);
    const short = await server.send({
      path: `/v1/repo/objects/data/${name}`,
      token,
      headers: range,
    });
    assert.equal(short.status, 500);
    assert.equal(short.headers["content-range"], undefined);

    // Gone from under its record: NotFound, as for any absent object.
    await rm(file);
    assertError(await server.send({ path: `/v1/repo/objects/data/${name}`, token }), "NotFound");
    assertError(
      await server.send({ path: `/v1/repo/objects/data/${name}`, token, headers: range }),
      "NotFound",
    );
  });

  it("refuses a body that does not hash to its name, and stores nothing", async (t) => {
    const { server, token, tenant } = await withAgent(t);
    const claimed = sha256("what the name promises");
    const other = blob("something else");
    const details = assertError(
      await server.put(token, "data", claimed, other.bytes),
      "HashMismatch",
    );
    assert.equal(details.expected, claimed);
    assert.equal(details.actual, other.name);
    for (const kind of ["keys", "index"] as const)
      assertError(await server.put(token, kind, claimed, blob("other").bytes), "HashMismatch");
    const head = await server.send({
      method: "HEAD",
      path: `/v1/repo/objects/data/${claimed}`,
      token,
    });
    assert.equal(head.status, 404);
    assert.deepEqual([...fingerprintFiles(server.tenantDir(tenant.id)).keys()], []);
    assert.deepEqual(tempFiles(server.tenantDir(tenant.id)), []);
  });

  it("treats an identical re-upload as a no-op and refuses different bytes under a stored name", async (t) => {
    const { server, token, tenant } = await withAgent(t);
    const { bytes, name } = blob("pack bytes");
    assert.equal((await server.put(token, "data", name, bytes)).status, 201);
    const again = await server.put(token, "data", name, bytes);
    assert.equal(again.status, 200);
    assert.deepEqual(json(again), { outcome: "exists" });

    const config = Buffer.from("the first config, as long as a sealed one");
    assert.equal((await server.put(token, "config", "config", config)).status, 201);
    assert.equal((await server.put(token, "config", "config", config)).status, 200);
    const before = fingerprintFiles(server.tenantDir(tenant.id));
    assertError(
      await server.put(
        token,
        "config",
        "config",
        Buffer.from("a new config, as long as a sealed one"),
      ),
      "Conflict",
    );
    assertError(await server.put(token, "config", "config", Buffer.alloc(40, "x")), "Conflict");
    assert.deepEqual(fingerprintFiles(server.tenantDir(tenant.id)), before);
    const read = await server.send({ path: "/v1/repo/objects/config/config", token });
    assert.ok(read.body.equals(config));
  });

  it("stores nothing from a body cut short, and keeps serving", async (t) => {
    const { server, token, tenant } = await withAgent(t);
    const body = asPack(randomBytes(2 * 1024 * 1024));
    const name = sha256(body);
    for (const sent of [1, 1024 * 1024, body.length - 1]) {
      const socket = await server.connectRaw();
      socket.write(
        `PUT /v1/repo/objects/data/${name} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/octet-stream\r\nContent-Length: ${body.length}\r\n\r\n`,
      );
      socket.write(body.subarray(0, sent));
      // Wait for the bytes to be handed over before cutting the connection.
      await new Promise<void>((resolve) => socket.write("", () => resolve()));
      socket.destroy();
    }
    const head = await server.send({
      method: "HEAD",
      path: `/v1/repo/objects/data/${name}`,
      token,
    });
    assert.equal(head.status, 404);
    // The name was never taken: the whole body is stored as new.
    const complete = await server.put(token, "data", name, body);
    assert.equal(complete.status, 201, complete.body.toString());
    const read = await server.send({ path: `/v1/repo/objects/data/${name}`, token });
    assert.ok(read.body.equals(body));
    assert.deepEqual(tempFiles(server.tenantDir(tenant.id)), []);
  });

  it("refuses hostile and malformed names precisely, touching no file", async (t) => {
    const { server, token, tenant } = await withAgent(t);
    const hex = sha256("x");
    const badRequest = [
      "/v1/repo/objects/data/../x",
      "/v1/repo/objects/data/../../config",
      "/v1/repo/objects/../config",
      "/v1/repo/objects/data/./x",
      "/v1/repo/objects/data/%2e%2e%2fconfig",
      "/v1/repo/objects/data/%252e%252e%252fconfig",
      "/v1/repo/objects/data/..%2f..%2fcatalog.sqlite",
      "/v1/repo/objects/data//etc/passwd",
      "/v1/repo/objects/data/%2fetc%2fpasswd",
      `/v1/repo/objects/data/${hex.toUpperCase()}`,
      `/v1/repo/objects/data/${hex}0`,
      `/v1/repo/objects/data/${hex.slice(1)}`,
      `/v1/repo/objects/config/${hex}`,
      "/v1/repo/objects/data/config",
      `/v1/repo/objects/data/${hex}/`,
    ];
    for (const path of badRequest) {
      const put = await server.send({
        method: "PUT",
        path,
        token,
        headers: { "content-type": "application/octet-stream" },
        body: "x",
      });
      assert.equal(put.status, 400, `PUT ${path}: ${put.body}`);
      assertError(put, "BadRequest");
      const get = await server.send({ path, token });
      assert.equal(get.status, 400, `GET ${path}: ${get.body}`);
    }
    assertError(await server.send({ path: `/v1/repo/objects/secrets/${hex}`, token }), "NotFound");
    assertError(await server.send({ path: "/v1/repo/objects/tenants", token }), "NotFound");
    // An absolute-form target is not a path.
    const absolute = await raw(
      server,
      `GET https://127.0.0.1/v1/repo/objects/data HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n\r\n`,
    );
    assert.match(absolute, /^HTTP\/1\.1 400 /);
    assert.deepEqual([...fingerprintFiles(server.tenantDir(tenant.id)).keys()], []);
  });

  it("refuses wrong content types, malformed JSON and oversize bodies with their own codes", async (t) => {
    const { server, token } = await withAgent(t);
    const { bytes, name } = blob("typed");
    assertError(
      await server.put(token, "data", name, bytes, { "content-type": "application/json" }),
      "UnsupportedMediaType",
    );
    assertError(
      await server.send({
        method: "PUT",
        path: `/v1/repo/objects/data/${name}`,
        token,
        body: bytes,
      }),
      "UnsupportedMediaType",
    );
    const commit = (body: string, type = "application/json") =>
      server.send({
        method: "POST",
        path: "/v1/repo/snapshots",
        token,
        headers: { "content-type": type },
        body,
      });
    assertError(await commit("{}", "text/plain"), "UnsupportedMediaType");
    assertError(await commit('{"name": "abc",'), "BadRequest");
    assertError(await commit("[]"), "BadRequest");
    assertError(await commit('{"name": 5}'), "BadRequest");
    assertError(await commit("\u0000\u0001garbage"), "BadRequest");
    const checkin = await server.send({
      method: "POST",
      path: "/v1/agent/checkin",
      token,
      headers: { "content-type": "application/json; charset=utf-8" },
      body: '{"version": "1.0.0"}',
    });
    assert.equal(checkin.status, 204, checkin.body.toString());

    assertError(await commit(`{"pad": "${"x".repeat(MAX_JSON_BYTES)}"}`), "PayloadTooLarge");
    // A declared size over the limit is refused before a byte of body is read.
    const oversize = await raw(
      server,
      `PUT /v1/repo/objects/data/${name} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/octet-stream\r\nContent-Length: ${MAX_OBJECT_BYTES + 1}\r\n\r\n`,
    );
    assert.match(oversize, /^HTTP\/1\.1 413 /);
    assert.match(oversize, /"PayloadTooLarge"/);
    const chunked = await raw(
      server,
      `PUT /v1/repo/objects/data/${name} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n5\r\ntyped\r\n0\r\n\r\n`,
    );
    assert.match(chunked, /^HTTP\/1\.1 400 /);
    const noLength = await raw(
      server,
      `PUT /v1/repo/objects/data/${name} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/octet-stream\r\n\r\n`,
    );
    assert.match(noLength, /^HTTP\/1\.1 400 .*[\s\S]*Content-Length/);
    const badLength = await raw(
      server,
      `PUT /v1/repo/objects/data/${name} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/octet-stream\r\nContent-Length: -5\r\n\r\n`,
    );
    assert.match(badLength, /^HTTP\/1\.1 400 /);
    assertError(
      await server.send({ method: "PATCH", path: "/v1/repo/objects/data", token }),
      "MethodNotAllowed",
    );
    assertError(await server.send({ path: "/v1/nothing-here" }), "NotFound");
    // After all of it, the object goes in as normal.
    assert.equal((await server.put(token, "data", name, bytes)).status, 201);
  });

  it("answers Expect: 100-continue only once the upload is acceptable", async (t) => {
    const { server, token } = await withAgent(t);
    const { bytes, name } = blob("expecting");
    const head = (credential: string) =>
      `PUT /v1/repo/objects/data/${name} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${credential}\r\nContent-Type: application/octet-stream\r\nContent-Length: ${bytes.length}\r\nExpect: 100-continue\r\n\r\n`;
    // Refused on the headers alone: the final answer comes without a 100 and without the body.
    const refused = await raw(server, head(`rmpa_0000000000000000_${"D".repeat(43)}`));
    assert.match(refused, /^HTTP\/1\.1 401 /);

    const socket = await server.connectRaw();
    let received = "";
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("latin1");
      if (received.startsWith("HTTP/1.1 100")) {
        received = received.replace(/^HTTP\/1\.1 100 [^\r]*\r\n\r\n/, "");
        socket.write(bytes);
      }
    });
    socket.setTimeout(30_000, () => socket.destroy());
    socket.write(head(token).replace("\r\n\r\n", "\r\nConnection: close\r\n\r\n"));
    await once(socket, "close");
    assert.match(received, /^HTTP\/1\.1 201 /);
  });
});
