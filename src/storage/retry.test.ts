/**
 * Which failures an agent sends again (network, 5xx, 408, 429 after its Retry-After) and which
 * never (a refusal of the request or of its credential), against a real HTTPS server on 127.0.0.1
 * that fails a set number of times.
 */
import assert from "node:assert/strict";
import type { ServerResponse } from "node:http";
import { before, describe, it, type TestContext } from "node:test";
import { isRempartError } from "../errors.js";
import { makeCertificate, startHttpsServer, type TestCertificate } from "../testing/tls.js";
import { PinnedClient, type RetryNotice } from "./http/pinned-client.js";
import { backoffDelay } from "./retry.js";

let certificate: TestCertificate;
before(async () => {
  certificate = await makeCertificate();
});

interface Failure {
  readonly status: number;
  readonly code: string;
  readonly headers?: Record<string, string>;
}

/** A server that answers `failures` in turn, then 200 to everything; counts the requests. */
async function failingServer(t: TestContext, failures: readonly Failure[]) {
  const pending = [...failures];
  const seen = { requests: 0 };
  const server = await startHttpsServer(certificate, (request, response: ServerResponse) => {
    seen.requests += 1;
    request.resume();
    const failure = pending.shift();
    const status = failure?.status ?? 200;
    const body = failure
      ? { error: { code: failure.code, message: `failed with ${failure.code}` } }
      : { ok: true };
    response.writeHead(status, { "content-type": "application/json", ...failure?.headers });
    response.end(JSON.stringify(body));
  });
  t.after(() => server.close());
  const notices: RetryNotice[] = [];
  const client = new PinnedClient({
    url: server.url,
    fingerprint: certificate.fingerprint,
    credential: "rmpa_agent_secret",
    retries: 3,
    backoffMs: 5,
    onRetry: (notice) => notices.push(notice),
  });
  t.after(() => client.close());
  return { client, seen, notices };
}

const get = { method: "GET", path: "/v1/repo/objects/index", idempotent: true } as const;

describe("retrying a request", () => {
  for (const failure of [
    { status: 500, code: "Internal" },
    { status: 503, code: "Internal" },
    { status: 408, code: "RequestTimeout" },
  ]) {
    it(`sends an idempotent request again after ${failure.status} ${failure.code}`, async (t) => {
      const { client, seen, notices } = await failingServer(t, [failure, failure]);
      assert.equal((await client.send(get)).status, 200);
      assert.equal(seen.requests, 3);
      assert.deepEqual(
        notices.map((n) => [n.attempt, n.reason]),
        [
          [1, `HTTP ${failure.status}`],
          [2, `HTTP ${failure.status}`],
        ],
      );
    });
  }

  it("waits at least a 429's Retry-After before trying again", async (t) => {
    const limited = { status: 429, code: "RateLimited", headers: { "retry-after": "1" } };
    const { client, seen, notices } = await failingServer(t, [limited]);
    assert.equal((await client.send(get)).status, 200);
    assert.equal(seen.requests, 2);
    assert.equal(notices.length, 1);
    assert.ok((notices[0]?.delayMs ?? 0) >= 1000, `waited ${notices[0]?.delayMs} ms`);
  });

  it("reports a 429 whose Retry-After is too long to wait out, without waiting", async (t) => {
    const limited = { status: 429, code: "RateLimited", headers: { "retry-after": "86400" } };
    const { client, seen, notices } = await failingServer(t, [limited]);
    await assert.rejects(
      client.json("POST", "/v1/repo/snapshots", {}, true),
      (error: unknown) => isRempartError(error, "Io") && /RateLimited/.test(error.message),
    );
    assert.equal(seen.requests, 1);
    assert.deepEqual(notices, []);
  });

  it("answers the last failure once its retries are spent", async (t) => {
    const down = { status: 503, code: "Internal" };
    const { client, seen } = await failingServer(t, [down, down, down, down, down]);
    assert.equal((await client.send(get)).status, 503);
    assert.equal(seen.requests, 4);
  });

  for (const failure of [
    { status: 400, code: "BadRequest" },
    { status: 401, code: "CredentialRevoked" },
    { status: 401, code: "Unauthorized" },
    { status: 403, code: "Forbidden" },
    { status: 409, code: "Conflict" },
    { status: 422, code: "HashMismatch" },
  ]) {
    it(`never sends a request again after ${failure.status} ${failure.code}`, async (t) => {
      const { client, seen, notices } = await failingServer(t, [failure]);
      assert.equal((await client.send(get)).status, failure.status);
      assert.equal(seen.requests, 1);
      assert.deepEqual(notices, []);
    });
  }

  it("never sends a request that is not idempotent again", async (t) => {
    const { client, seen } = await failingServer(t, [{ status: 503, code: "Internal" }]);
    const answer = await client.send({ ...get, method: "POST", idempotent: false });
    assert.equal(answer.status, 503);
    assert.equal(seen.requests, 1);
  });
});

describe("the backoff between attempts", () => {
  it("doubles its ceiling per failure up to the cap, each wait in the upper half", () => {
    const backoff = { firstMs: 100, maxMs: 1000 };
    for (let round = 0; round < 200; round++)
      for (const [failures, ceiling] of [
        [1, 100],
        [2, 200],
        [3, 400],
        [4, 800],
        [5, 1000],
        [40, 1000],
      ] as const) {
        const delay = backoffDelay(backoff, failures);
        assert.ok(delay >= ceiling / 2 && delay <= ceiling, `${failures}: ${delay}`);
      }
  });
});
