import { after } from "node:test";
import { startTestServer, type TestServer } from "../../server/test-support.js";
import type { Cleanup } from "../../testing/cli.js";
import { describeObjectStoreConformance } from "../conformance-suite.js";
import { HttpObjectStore } from "./http-store.js";

/** Hooks of the shared server, run once every test of this file is done. */
const cleanups: (() => unknown)[] = [];
const suite: Cleanup = { after: (fn) => cleanups.push(fn) };
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});
let server: Promise<{ test: TestServer; session: string }> | undefined;
let tenants = 0;

// A fresh tenant per test: an empty store, on one server for the whole suite.
describeObjectStoreConformance(
  "HttpObjectStore on a Rempart server",
  async () => {
    server ??= startTestServer(suite).then(async (test) => ({ test, session: await test.login() }));
    const { test, session } = await server;
    tenants += 1;
    await test.createTenant(session, `tenant-${tenants}`);
    const agent = await test.agentOf(session, `tenant-${tenants}`);
    const store = new HttpObjectStore({
      url: test.server.url,
      fingerprint: test.server.fingerprint,
      credential: agent.credential,
    });
    return { store, cleanup: async () => store.close() };
  },
  { appendOnly: true, verifiesNames: true },
);
