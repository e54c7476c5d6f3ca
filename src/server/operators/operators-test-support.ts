/** Test support for the operator tests: the admin CLI on a test server's data directory, and logins. */
import assert from "node:assert/strict";
import { type CliOptions, expectExit, jsonOutput, runCli } from "../../testing/cli.js";
import { type Answer, json, type TestServer } from "../test-support.js";

export function admin(server: TestServer, args: readonly string[], options: CliOptions = {}) {
  return runCli(["admin", ...args, "--data", server.dataDir], options);
}

export async function adminJson<T>(server: TestServer, ...args: string[]): Promise<T> {
  return jsonOutput<T>(expectExit(await admin(server, [...args, "--json"]), 0));
}

export function login(server: TestServer, username: string, password: string, totp?: string) {
  return server.send({
    method: "POST",
    path: "/v1/login",
    json: { username, password, ...(totp === undefined ? {} : { totp }) },
  });
}

export async function sessionOf(answer: Answer): Promise<string> {
  assert.equal(answer.status, 200, answer.body.toString());
  return json<{ token: string }>(answer).token;
}
