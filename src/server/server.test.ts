import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { once } from "node:events";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { isRempartError } from "../errors.js";
import { startServer } from "./server.js";
import { blob, json, startTestServer, tempDir } from "./test-support.js";
import { certificateFingerprint } from "./tls.js";

function openssl(args: string[]): string {
  const result = spawnSync("openssl", args, { encoding: "utf8" });
  assert.equal(result.status, 0, result.stderr);
  return result.stdout;
}

describe("starting and restarting the server", () => {
  it("makes a self-signed certificate whose fingerprint is the one openssl prints", async (t) => {
    const server = await startTestServer(t);
    const certFile = join(server.dataDir, "tls", "cert.pem");
    const printed = openssl(["x509", "-in", certFile, "-noout", "-fingerprint", "-sha256"]);
    assert.equal(printed.trim().split("=")[1], server.server.fingerprint);
    assert.match(server.server.fingerprint, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    const cert = new X509Certificate(readFileSync(certFile));
    for (const name of ["IP Address:127.0.0.1", "IP Address:0:0:0:0:0:0:0:1", "DNS:localhost"])
      assert.ok(cert.subjectAltName?.includes(name), `${name} in ${cert.subjectAltName}`);
    assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, "prime256v1");
    assert.equal(statSync(join(server.dataDir, "tls", "key.pem")).mode & 0o777, 0o600);
    assert.ok(server.server.tlsGenerated);
    assert.equal(server.server.url, `https://127.0.0.1:${server.port}`);
  });

  it("keeps its certificate, its admin and its data across a restart", async (t) => {
    const first = await startTestServer(t);
    const password = first.server.firstAdminPassword;
    assert.ok(password);
    const session = await first.login();
    await first.createTenant(session, "acme");
    const agent = await first.agentOf(session, "acme");
    const { bytes, name } = blob("kept across restarts");
    assert.equal((await first.put(agent.credential, "data", name, bytes)).status, 201);
    await first.close();

    const second = await startTestServer(t, { dataDir: first.dataDir });
    assert.equal(second.server.firstAdminPassword, undefined);
    assert.equal(second.server.fingerprint, first.server.fingerprint);
    assert.equal(second.server.tlsGenerated, false);
    await second.login(password);
    const read = await second.send({
      path: `/v1/repo/objects/data/${name}`,
      token: agent.credential,
    });
    assert.ok(read.body.equals(bytes));
    // The catalog stores the admin password's scrypt hash, never the password.
    await second.close();
    const catalogBytes = readFileSync(join(first.dataDir, "catalog.sqlite")).toString("latin1");
    assert.ok(!catalogBytes.includes(password));
  });

  it("serves a certificate the operator names, and refuses half a pair", async (t) => {
    const dir = tempDir(t, "tls");
    const certFile = join(dir, "real.pem");
    const keyFile = join(dir, "real.key");
    openssl([
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      keyFile,
      "-out",
      certFile,
      "-days",
      "2",
      "-subj",
      "/CN=backup.example",
    ]);
    const dataDir = tempDir(t, "data");
    const server = await startServer({
      dataDir,
      listen: { host: "127.0.0.1", port: 0 },
      tlsCert: certFile,
      tlsKey: keyFile,
    });
    t.after(() => server.close());
    assert.equal(server.fingerprint, certificateFingerprint(readFileSync(certFile)));
    assert.equal(server.tlsGenerated, false);
    assert.equal(statSync(join(dataDir, "tls"), { throwIfNoEntry: false }), undefined);

    await assert.rejects(
      startServer({
        dataDir: tempDir(t, "half"),
        listen: { host: "127.0.0.1", port: 0 },
        tlsCert: certFile,
      }),
      (error) => isRempartError(error, "InvalidArgument"),
    );
    const otherKey = join(dir, "other.key");
    openssl([
      "genpkey",
      "-algorithm",
      "EC",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-out",
      otherKey,
    ]);
    for (const tlsKey of [otherKey, join(dir, "missing.key")])
      await assert.rejects(
        startServer({
          dataDir: tempDir(t, "mismatch"),
          listen: { host: "127.0.0.1", port: 0 },
          tlsCert: certFile,
          tlsKey,
        }),
        (error) => isRempartError(error, "InvalidArgument"),
      );
    await server.close();
  });

  it("finishes an upload in flight when closed, then stops", async (t) => {
    // A grace far longer than sending the body takes: this is about order, not speed.
    const server = await startTestServer(t, { closeGraceMs: 120_000 });
    const session = await server.login();
    await server.createTenant(session, "acme");
    const token = (await server.agentOf(session, "acme")).credential;
    const { bytes, name } = blob("x".repeat(5 * 1024 * 1024));
    const socket = await server.connectRaw();
    let received = "";
    const continued = new Promise<void>((resolve) => {
      socket.on("data", (chunk: Buffer) => {
        received += chunk.toString("latin1");
        if (received.startsWith("HTTP/1.1 100")) resolve();
      });
    });
    socket.write(
      `PUT /v1/repo/objects/data/${name} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/octet-stream\r\nContent-Length: ${bytes.length}\r\nExpect: 100-continue\r\n\r\n`,
    );
    // The 100 says the request is being handled: close now, then send the body.
    await continued;
    const closed = server.close();
    socket.write(bytes);
    await closed;
    await once(socket, "close");
    assert.match(received.replace(/^HTTP\/1\.1 100 [^\r]*\r\n\r\n/, ""), /^HTTP\/1\.1 201 /);
    await assert.rejects(server.send({ path: "/v1/health" }), /ECONNREFUSED/);
  });

  it("describes every route it serves in its OpenAPI document", async (t) => {
    const server = await startTestServer(t);
    const answer = await server.send({ path: "/v1/openapi.json" });
    assert.equal(answer.status, 200);
    const doc = json<{
      openapi: string;
      paths: Record<
        string,
        Record<string, { operationId: string; responses: Record<string, unknown> }>
      >;
      components: { schemas: Record<string, unknown> };
    }>(answer);
    assert.equal(doc.openapi, "3.1.0");
    const { ROUTES } = await import("./routes/index.js");
    for (const route of ROUTES) {
      const operation = doc.paths[route.path]?.[route.method.toLowerCase()];
      assert.ok(operation, `${route.method} ${route.path} is not documented`);
      for (const status of Object.keys(route.responses)) assert.ok(operation.responses[status]);
    }
    const documented = Object.values(doc.paths).flatMap((p) => Object.keys(p));
    assert.equal(documented.length, ROUTES.length);
    const ids = Object.values(doc.paths).flatMap((p) => Object.values(p).map((o) => o.operationId));
    assert.equal(new Set(ids).size, ids.length);
    // Every reference points at a schema that exists.
    for (const [, ref] of answer.body
      .toString()
      .matchAll(/"\$ref":"#\/components\/schemas\/(\w+)"/g))
      assert.ok(ref && doc.components.schemas[ref], `missing schema ${ref}`);
    // And each path really is served: its method answers something other than 404 NotFound.
    for (const route of ROUTES) {
      const path = route.path.replace(/\{kind\}/, "data").replace(/\{(\w+)\}/g, "x");
      const probe = await server.send({ method: route.method, path });
      assert.notEqual(probe.status === 404 && probe.body.includes("no such route"), true, path);
    }
  });
});
