/** The server keeps serving everyone else while some clients send garbage, stall or vanish. */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { connect } from "node:net";
import { describe, it } from "node:test";
import { MAX_OBJECT_BYTES } from "../protocol/api.js";
import { asPack, sha256, startTestServer, type TestServer, tempFiles } from "./test-support.js";

async function closedAnswer(server: TestServer, text: string | Buffer): Promise<string> {
  const socket = await server.connectRaw();
  const chunks: Buffer[] = [];
  socket.on("data", (chunk: Buffer) => chunks.push(chunk));
  socket.on("error", () => {});
  socket.setTimeout(30_000, () => socket.destroy());
  socket.write(text);
  await once(socket, "close");
  return Buffer.concat(chunks).toString("latin1");
}

describe("a server under bad clients", () => {
  it("answers good requests while others send garbage, stall mid-upload or speak plain HTTP", async (t) => {
    const server = await startTestServer(t, { uploadMemoryBytes: MAX_OBJECT_BYTES });
    const session = await server.login();
    const tenant = await server.createTenant(session, "acme");
    const token = (await server.agentOf(session, "acme")).credential;

    // A stalled upload: headers and half the body, then nothing (the socket stays open).
    const stalled = asPack(randomBytes(1024 * 1024));
    const staller = await server.connectRaw();
    staller.on("error", () => {});
    staller.write(
      `PUT /v1/repo/objects/data/${sha256(stalled)} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/octet-stream\r\nContent-Length: ${stalled.length}\r\n\r\n`,
    );
    staller.write(stalled.subarray(0, stalled.length / 2));

    // Garbage of several kinds, each answered 400 on its own connection.
    const garbage = [
      "GARBAGE\r\n\r\n",
      "GET /v1/health HTTP/9.9\r\n\r\n",
      `GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`,
      "GET /v1/health HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
      "GET /v1/health HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
    ];
    const answers = await Promise.all([
      ...garbage.map((text) => closedAnswer(server, text)),
      closedAnswer(server, randomBytes(5000)),
    ]);
    for (const [i, answer] of answers.slice(0, garbage.length).entries())
      assert.match(answer, /^HTTP\/1\.1 4\d\d /, `garbage ${i}: ${answer.slice(0, 80)}`);

    // Plain HTTP and random bytes on the TLS port: the handshake fails, the server carries on.
    const plain = connect({ host: "127.0.0.1", port: server.port });
    plain.on("error", () => {});
    plain.end("GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n");
    await once(plain, "close");

    // Meanwhile good requests, several at once, succeed.
    const bodies = Array.from({ length: 8 }, () => asPack(randomBytes(200_000)));
    const puts = await Promise.all(
      bodies.map((body) => server.put(token, "data", sha256(body), body)),
    );
    assert.deepEqual(
      puts.map((p) => p.status),
      bodies.map(() => 201),
    );
    const health = await server.send({ path: "/v1/health" });
    assert.equal(health.status, 200);

    // The stalled upload completes when its client resumes, and is stored whole.
    const done = new Promise<string>((resolve) => {
      let text = "";
      staller.on("data", (chunk: Buffer) => {
        text += chunk.toString("latin1");
        if (text.includes("\r\n\r\n")) resolve(text);
      });
    });
    staller.write(stalled.subarray(stalled.length / 2));
    assert.match(await done, /^HTTP\/1\.1 201 /);
    staller.destroy();
    const read = await server.send({ path: `/v1/repo/objects/data/${sha256(stalled)}`, token });
    assert.ok(read.body.equals(stalled));
    assert.deepEqual(tempFiles(server.tenantDir(tenant.id)), []);
  });

  it("queues uploads beyond its memory budget instead of failing them", async (t) => {
    const server = await startTestServer(t, { uploadMemoryBytes: MAX_OBJECT_BYTES });
    const session = await server.login();
    await server.createTenant(session, "acme");
    const token = (await server.agentOf(session, "acme")).credential;
    // Three uploads of 24 MiB: at most two fit in the tenant's 64 MiB share at once.
    const bodies = Array.from({ length: 3 }, () => asPack(randomBytes(24 * 1024 * 1024)));
    const puts = await Promise.all(
      bodies.map((body) => server.put(token, "data", sha256(body), body)),
    );
    assert.deepEqual(
      puts.map((p) => p.status),
      [201, 201, 201],
    );
    const listing = await server.send({ path: "/v1/repo/objects/data", token });
    assert.equal(listing.status, 200);
  });
});
