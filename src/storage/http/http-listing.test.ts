/**
 * The server's object listing carries, per object, when it was received and which agent
 * uploaded it. Readers order by the first and name hostile objects by the second, so both are
 * parsed with care: a malformed one is left out, never trusted, never fatal.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { isRempartError } from "../../errors.js";
import { makeCertificate, startHttpsServer, type TestServer } from "../../testing/tls.js";
import type { ObjectInfo, ObjectKind } from "../object-store.js";
import { HttpObjectStore } from "./http-store.js";

const A = "a".repeat(64);
const B = "b".repeat(64);
const C = "c".repeat(64);
const D = "d".repeat(64);
const E = "e".repeat(64);

/** Pages whose names, sizes or cursor are wrong, by the kind they are served for. */
const MALFORMED: Record<string, unknown> = {
  data: { objects: [{ name: "../config", size: 1 }] },
  keys: { objects: [{ name: A, size: -1 }] },
  snapshots: { objects: [{ name: A, size: 1 }], next: "" },
  // A well-formed name, but not one an object of this kind can have.
  config: { objects: [{ name: A, size: 1 }] },
};

describe("the HTTP store's object listing", () => {
  let server: TestServer;
  let store: HttpObjectStore;

  before(async () => {
    const certificate = await makeCertificate();
    server = await startHttpsServer(certificate, (request, response) => {
      response.writeHead(200, { "content-type": "application/json" });
      const kind = request.url?.split("?")[0]?.split("/").at(-1) ?? "";
      const malformed = MALFORMED[kind];
      response.end(
        JSON.stringify(
          malformed ?? {
            objects: [
              { name: A, size: 10, received_at: "2026-11-30T10:00:00.123Z", agent: "0123abcd" },
              { name: B, size: 11, received_at: "2026-11-30T10:00:00Z", agent: "x y" },
              { name: C, size: 12, received_at: "yesterday", agent: 42 },
              { name: D, size: 13 },
              // The protocol's times are UTC with a Z: an offset is not one of them.
              { name: E, size: 14, received_at: "2026-11-30T11:00:00+01:00", agent: null },
            ],
          },
        ),
      );
    });
    store = new HttpObjectStore({
      url: server.url,
      fingerprint: certificate.fingerprint,
      credential: "rmpa_0123abcd_secret",
    });
  });
  after(async () => {
    store.close();
    await server.close();
  });

  it("reads received_at and agent into receivedAt and uploadedBy, and leaves out bad ones", async () => {
    const listed: ObjectInfo[] = [];
    for await (const info of store.list("index")) listed.push(info);
    assert.deepEqual(listed, [
      {
        kind: "index",
        name: A,
        size: 10,
        receivedAt: "2026-11-30T10:00:00.123Z",
        uploadedBy: "0123abcd",
      },
      // Normalised to UTC; an agent id with a space is not one.
      { kind: "index", name: B, size: 11, receivedAt: "2026-11-30T10:00:00.000Z" },
      { kind: "index", name: C, size: 12 },
      { kind: "index", name: D, size: 13 },
      { kind: "index", name: E, size: 14 },
    ]);
  });

  it("refuses a page whose names, sizes or cursor break the protocol, naming what", async () => {
    const fields = { data: /"objects\.0\.name"/, keys: /"objects\.0\.size"/, snapshots: /"next"/ };
    for (const [kind, field] of Object.entries(fields))
      await assert.rejects(store.listPage(kind as ObjectKind), (error: unknown) => {
        assert.ok(isRempartError(error, "Io"), String(error));
        assert.match(error.message, /malformed ObjectListing/);
        assert.match(error.message, field);
        return true;
      });
    await assert.rejects(store.listPage("config"), {
      code: "Io",
      message: /malformed listing of config/,
    });
  });
});
