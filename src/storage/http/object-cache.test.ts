/**
 * The agent's cache of index and snapshot objects, against a real HTTPS server that counts what
 * it is asked: the cache saves the server's answers, never replaces its say on what exists, and
 * never hands over bytes that are not the object its name promises.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, before, beforeEach, describe, it } from "node:test";
import type { CommitRequest } from "../../protocol/api.js";
import { makeCertificate, startHttpsServer, type TestServer } from "../../testing/tls.js";
import type { ObjectKind } from "../object-store.js";
import { HttpObjectStore } from "./http-store.js";

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

describe("the agent's object cache", () => {
  let server: TestServer;
  let fingerprint: string;
  let cacheDir: string;
  /** what the server holds (listed and served), by "kind/name" */
  const held = new Map<string, Buffer>();
  /** bytes served instead of what is held, by "kind/name": a hostile server's answer */
  const forged = new Map<string, Buffer>();
  const gets: string[] = [];

  before(async () => {
    const certificate = await makeCertificate();
    fingerprint = certificate.fingerprint;
    server = await startHttpsServer(certificate, (request, response) => {
      const [path = "", query = ""] = (request.url ?? "").split("?");
      const [kind, name] = path.replace("/v1/repo/objects/", "").split("/");
      if (request.method === "POST" && path === "/v1/repo/snapshots") {
        const chunks: Buffer[] = [];
        request.on("data", (chunk: Buffer) => chunks.push(chunk));
        request.on("end", () => {
          const commit = JSON.parse(Buffer.concat(chunks).toString()) as CommitRequest;
          held.set(`snapshots/${commit.name}`, Buffer.from(commit.snapshot, "base64"));
          response.writeHead(201, { "content-type": "application/json" });
          response.end(
            JSON.stringify({
              snapshot_id: commit.name,
              committed_at: "2026-12-01T12:00:00Z",
              outcome: "created",
            }),
          );
        });
        return;
      }
      if (request.method === "PUT") {
        const chunks: Buffer[] = [];
        request.on("data", (chunk: Buffer) => chunks.push(chunk));
        request.on("end", () => {
          held.set(`${kind}/${name}`, Buffer.concat(chunks));
          response.writeHead(201).end();
        });
        return;
      }
      if (name === undefined && query.startsWith("limit=")) {
        const objects = [...held]
          .filter(([key]) => key.startsWith(`${kind}/`))
          .map(([key, bytes]) => ({ name: key.split("/")[1], size: bytes.length }));
        response.writeHead(200, { "content-type": "application/json" });
        response.end(JSON.stringify({ objects }));
        return;
      }
      const key = `${kind}/${name}`;
      gets.push(key);
      const bytes = forged.get(key) ?? held.get(key);
      if (bytes === undefined) response.writeHead(404).end();
      else response.writeHead(200, { "content-length": bytes.length }).end(bytes);
    });
  });
  after(() => server.close());
  afterEach(() => rm(cacheDir, { recursive: true, force: true }));
  beforeEach(async () => {
    held.clear();
    forged.clear();
    gets.length = 0;
    cacheDir = await mkdtemp(join(tmpdir(), "rempart-object-cache-"));
  });

  /** A store as one command opens it (each command is a new process with a new store). */
  function command(): HttpObjectStore {
    return new HttpObjectStore({
      url: server.url,
      fingerprint,
      credential: "rmpa_0123abcd_secret",
      cacheDir,
    });
  }

  async function listed(store: HttpObjectStore, kind: ObjectKind): Promise<string[]> {
    const names: string[] = [];
    for await (const info of store.list(kind)) names.push(info.name);
    return names;
  }

  function hold(kind: string): { name: string; bytes: Buffer } {
    const bytes = randomBytes(5000);
    const name = sha256(bytes);
    held.set(`${kind}/${name}`, bytes);
    return { name, bytes };
  }

  it("reads a listed index object from the cache once one command has fetched it", async () => {
    const { name, bytes } = hold("index");
    for (const _ of [1, 2, 3]) {
      const store = command();
      try {
        assert.deepEqual(await listed(store, "index"), [name]);
        assert.deepEqual(Buffer.from(await store.get({ kind: "index", name })), bytes);
      } finally {
        store.close();
      }
    }
    assert.deepEqual(gets, [`index/${name}`]);
  });

  it("asks the server for an object it has not listed, cached or not", async () => {
    const { name } = hold("snapshots");
    const first = command();
    await listed(first, "snapshots");
    await first.get({ kind: "snapshots", name });
    first.close();
    const second = command();
    try {
      await second.get({ kind: "snapshots", name });
    } finally {
      second.close();
    }
    assert.deepEqual(gets, [`snapshots/${name}`, `snapshots/${name}`]);
  });

  it("replaces a cached file whose bytes are not the object by the server's copy", async () => {
    const { name, bytes } = hold("index");
    const first = command();
    await listed(first, "index");
    await first.get({ kind: "index", name });
    first.close();
    const file = join(cacheDir, "index", name);
    await writeFile(file, Buffer.concat([bytes.subarray(0, 100), Buffer.from("tampered")]));
    const second = command();
    try {
      await listed(second, "index");
      assert.deepEqual(Buffer.from(await second.get({ kind: "index", name })), bytes);
    } finally {
      second.close();
    }
    assert.equal(gets.length, 2);
    assert.deepEqual(await readFile(file), bytes);
  });

  it("never caches bytes that are not what their name promises", async () => {
    const { name } = hold("index");
    forged.set(`index/${name}`, randomBytes(5000));
    const store = command();
    try {
      await listed(store, "index");
      // Handed over as the server sent them: the repository refuses them (their name is wrong).
      await store.get({ kind: "index", name });
    } finally {
      store.close();
    }
    await assert.rejects(readFile(join(cacheDir, "index", name)), { code: "ENOENT" });
  });

  it("keeps the index objects it uploads, and drops what a listing no longer names", async () => {
    const indexBytes = randomBytes(3000);
    const index = sha256(indexBytes);
    const store = command();
    try {
      await store.put({ kind: "index", name: index }, indexBytes);
      assert.deepEqual(await readdir(join(cacheDir, "index")), [index]);
      // The server's retention removes the index object: the next complete listing says so.
      held.delete(`index/${index}`);
      assert.deepEqual(await listed(store, "index"), []);
      assert.deepEqual(await readdir(join(cacheDir, "index")), []);
    } finally {
      store.close();
    }
  });

  it("keeps the snapshot it commits, read back by the next command without a request", async () => {
    const bytes = randomBytes(400);
    const name = sha256(bytes);
    const first = command();
    try {
      const outcome = await first.commitSnapshot({
        name,
        bytes,
        packs: [],
        claimedTime: "2026-12-01T11:59:00Z",
      });
      assert.equal(outcome, "created");
    } finally {
      first.close();
    }
    const second = command();
    try {
      assert.deepEqual(await listed(second, "snapshots"), [name]);
      assert.deepEqual(Buffer.from(await second.get({ kind: "snapshots", name })), bytes);
    } finally {
      second.close();
    }
    assert.deepEqual(gets, []);
  });
});
