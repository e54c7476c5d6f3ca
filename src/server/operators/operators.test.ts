/**
 * Operators over a real server (HTTPS on 127.0.0.1, SQLite, the `rempart admin` CLI as a child
 * process on the same data directory): roles, TOTP, lockout, session expiry and API tokens. The
 * server's clock is the test's; the CLI's is the machine's (TestClock starts at real time).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { expectExit } from "../../testing/cli.js";
import { assertError, json, startTestServer, type TestServer } from "../test-support.js";
import { admin, adminJson, login, sessionOf } from "./operators-test-support.js";
import type { OperatorPolicy } from "./policy.js";
import { operatorPolicy } from "./policy.js";
import { TOTP_PERIOD_MS, totpCode } from "./totp.js";

const MINUTE = 60_000;

async function addOperator(server: TestServer, username: string, role: string) {
  return adminJson<{ password: string }>(server, "operator", "add", username, "--role", role);
}

const createTenant = (server: TestServer, token: string, name: string) =>
  server.send({ method: "POST", path: "/v1/tenants", token, json: { name, retention_days: 30 } });
const listTenants = (server: TestServer, token: string) =>
  server.send({ path: "/v1/tenants", token });
const ackAlert = (server: TestServer, token: string) =>
  server.send({ method: "POST", path: "/v1/alerts/1/ack", token, json: { reason: "seen" } });

/** Enrols TOTP for `username` through the CLI; answers the secret the URI carries. */
async function enrolTotp(server: TestServer, username: string): Promise<string> {
  const shown = expectExit(await admin(server, ["operator", "totp", "enroll", username]), 0);
  const uri = /otpauth:\/\/totp\/\S+/.exec(shown.stdout)?.[0];
  assert.ok(uri, shown.stdout);
  const secret = new URL(uri).searchParams.get("secret");
  assert.ok(secret);
  const wrong = await admin(server, ["operator", "totp", "confirm", username, "000000"]);
  assert.notEqual(wrong.code, 0);
  assert.match(wrong.stderr, /wrong TOTP code/);
  const right = totpCode(secret, new Date());
  expectExit(await admin(server, ["operator", "totp", "confirm", username, right]), 0);
  // The confirming code is spent: the server's clock moves to the next step.
  server.clock.advance(TOTP_PERIOD_MS);
  return secret;
}

describe("operator roles", () => {
  it("lets a read-only operator list and show but nothing else, and a technician only day-to-day", async (t) => {
    const server = await startTestServer(t);
    const root = await server.login();
    const viewer = await addOperator(server, "viewer", "read-only");
    const tech = await addOperator(server, "tech", "technician");
    const viewing = await sessionOf(await login(server, "viewer", viewer.password));
    const fixing = await sessionOf(await login(server, "tech", tech.password));
    await server.createTenant(root, "acme");

    assert.equal((await listTenants(server, viewing)).status, 200);
    assert.equal((await server.send({ path: "/v1/tenants/acme", token: viewing })).status, 200);
    assert.equal((await server.send({ path: "/v1/audit", token: viewing })).status, 200);
    const refused = assertError(await createTenant(server, viewing, "beta"), "Forbidden");
    assert.deepEqual(refused, { reason: "role", needed: "admin", role: "read-only" });
    for (const attempt of [
      server.send({
        method: "POST",
        path: "/v1/tenants/acme/enroll-tokens",
        token: viewing,
        json: { expires_in_seconds: 60 },
      }),
      ackAlert(server, viewing),
      server.send({ method: "POST", path: "/v1/agents/0123456789abcdef/revoke", token: viewing }),
    ])
      assert.equal(assertError(await attempt, "Forbidden").reason, "role");

    assert.equal((await server.enrollToken(fixing, "acme")).startsWith("rmpe_"), true);
    assertError(await ackAlert(server, fixing), "NotFound"); // let through: there is no alert 1
    assert.equal(
      assertError(await createTenant(server, fixing, "beta"), "Forbidden").reason,
      "role",
    );
  });

  it("needs TOTP for admin routes only off loopback by default", () => {
    assert.equal(operatorPolicy("127.0.0.1").adminNeedsTotp, false);
    assert.equal(operatorPolicy("::1").adminNeedsTotp, false);
    assert.equal(operatorPolicy("0.0.0.0").adminNeedsTotp, true);
    assert.equal(operatorPolicy("192.0.2.10").adminNeedsTotp, true);
    assert.equal(operatorPolicy("0.0.0.0", { adminNeedsTotp: false }).adminNeedsTotp, false);
  });
});

describe("operator TOTP", () => {
  it("shows a QR code and URI at enrolment, then refuses a missing, wrong or replayed code and admin actions without it", async (t) => {
    const server = await startTestServer(t, { operatorPolicy: { adminNeedsTotp: true } });
    const password = server.server.firstAdminPassword as string;
    const shown = expectExit(await admin(server, ["operator", "totp", "enroll", "admin"]), 0);
    assert.match(shown.stdout, /otpauth:\/\/totp\/Rempart:admin\?.*secret=[A-Z2-7]{32}/);
    assert.match(shown.stdout, /[█▀▄]{7}/, "a QR code drawn with block characters");

    // Enrolment is pending: the password alone still logs in, but admin routes want TOTP.
    const before = await sessionOf(await login(server, "admin", password));
    assert.equal((await listTenants(server, before)).status, 200);
    const needed = assertError(await createTenant(server, before, "acme"), "Forbidden");
    assert.equal(needed.reason, "totp-required");

    const secret = await enrolTotp(server, "admin");
    assert.equal(assertError(await listTenants(server, before), "Unauthorized").reason, "ended");

    const refusals = [
      [await login(server, "admin", password), "totp-required"],
      [await login(server, "admin", password, "000000"), "totp-wrong"],
    ] as const;
    for (const [answer, reason] of refusals)
      assert.equal(assertError(answer, "Unauthorized").reason, reason);
    const code = totpCode(secret, server.clock.now());
    const answer = await login(server, "admin", password, code);
    assert.equal(json<{ mfa: boolean }>(answer).mfa, true);
    const session = await sessionOf(answer);
    assert.equal((await createTenant(server, session, "acme")).status, 201);

    const replayed = await login(server, "admin", password, code);
    assert.equal(assertError(replayed, "Unauthorized").reason, "totp-replayed");
    assert.match(replayed.body.toString(), /already used/);
    server.clock.advance(TOTP_PERIOD_MS);
    await sessionOf(await login(server, "admin", password, totpCode(secret, server.clock.now())));

    const listed = await adminJson<{ username: string; totp: boolean }[]>(
      server,
      "operator",
      "list",
    );
    assert.deepEqual(
      listed.map((o) => [o.username, o.totp]),
      [["admin", true]],
    );
    expectExit(await admin(server, ["operator", "totp", "reset", "admin"]), 0);
    await sessionOf(await login(server, "admin", password));
  });
});

describe("operator lockout", () => {
  it("locks a username after repeated failures for a growing delay, says until when, and lifts it", async (t) => {
    const server = await startTestServer(t);
    const password = server.server.firstAdminPassword as string;
    const fail = () => login(server, "admin", "wrong password");
    for (let i = 1; i < 5; i++)
      assert.equal(assertError(await fail(), "Unauthorized").reason, "password");
    const fifth = assertError(await fail(), "Unauthorized");
    const until = new Date(String(fifth.locked_until));
    assert.equal(until.getTime() - server.clock.now().getTime() <= MINUTE, true);

    const locked = await login(server, "admin", password);
    const details = assertError(locked, "RateLimited");
    assert.equal(details.locked_until, until.toISOString());
    assert.match(locked.body.toString(), /locked until/);
    assert.ok(Number(locked.headers["retry-after"]) > 0);

    server.clock.advance(MINUTE + 1000);
    const session = await sessionOf(await login(server, "admin", password));

    // The count starts again after a good login; past the threshold each failure doubles the lock.
    for (let i = 0; i < 5; i++) await fail();
    server.clock.advance(MINUTE + 1000);
    const sixth = assertError(await fail(), "Unauthorized");
    const doubled = new Date(String(sixth.locked_until)).getTime() - server.clock.now().getTime();
    assert.ok(doubled > MINUTE && doubled <= 2 * MINUTE, `a lock of ${doubled} ms`);
    server.clock.advance(MINUTE + 1000);
    assertError(await login(server, "admin", password), "RateLimited");

    // An administrator on the server machine lifts it at once.
    expectExit(await admin(server, ["operator", "unlock", "admin"]), 0);
    await sessionOf(await login(server, "admin", password));

    const audit = json<{ action: string; details: Record<string, unknown> }[]>(
      await server.send({ path: "/v1/audit?limit=100", token: session }),
    );
    const failures = audit.filter((entry) => entry.action === "operator.login.failure");
    assert.equal(failures.length, 11);
    assert.equal(failures[0]?.details.address, "127.0.0.1");
    assert.ok(audit.some((entry) => entry.action === "operator.unlock"));
    assert.ok(audit.some((entry) => entry.action === "operator.login"));
  });

  it("lets a burst of guesses sent at once no further than the scrypt slots past the threshold", async (t) => {
    const server = await startTestServer(t);
    const answers = await Promise.all(
      Array.from({ length: 12 }, () => login(server, "admin", "wrong password")),
    );
    const statuses = answers.map((answer) => answer.status);
    const verified = statuses.filter((status) => status === 401).length;
    // 5 failures lock the username; guesses already hashing then (2 slots) are the only extra ones.
    assert.ok(verified >= 5 && verified <= 7, `answers: ${statuses.join(" ")}`);
    assert.equal(statuses.filter((status) => status === 429).length, 12 - verified);
  });

  it("locks a source address that fails across usernames, known or not", async (t) => {
    const policy: Partial<OperatorPolicy> = {
      addressLockout: {
        threshold: 3,
        firstLockMs: MINUTE,
        maxLockMs: MINUTE,
        forgetAfterMs: MINUTE,
      },
    };
    const server = await startTestServer(t, { operatorPolicy: policy });
    for (const username of ["ghost", "alice", "admin"])
      assertError(await login(server, username, "guess"), "Unauthorized");
    const locked = await login(server, "admin", server.server.firstAdminPassword as string);
    assertError(locked, "RateLimited");
    assert.match(locked.body.toString(), /address 127\.0\.0\.1: locked until/);
  });
});

describe("operator sessions", () => {
  it("ends a session left idle, and one past its lifetime however busy, each with a clear 401", async (t) => {
    const server = await startTestServer(t, { operatorPolicy: { sessionMs: 40 * MINUTE } });
    const idle = await server.login();
    server.clock.advance(31 * MINUTE);
    const idled = await listTenants(server, idle);
    assert.equal(assertError(idled, "Unauthorized").reason, "idle");
    assert.match(idled.body.toString(), /unused for 30 minutes/);

    const busy = await server.login();
    for (let minutes = 0; minutes < 40; minutes += 5) {
      assert.equal((await listTenants(server, busy)).status, 200);
      server.clock.advance(5 * MINUTE);
    }
    const expired = await listTenants(server, busy);
    assert.equal(assertError(expired, "Unauthorized").reason, "expired");
    assert.match(expired.body.toString(), /expired at .*log in again/);
  });

  it("ends a session at once on logout, audited; an API token is told how it is revoked", async (t) => {
    const server = await startTestServer(t);
    const logout = (token: string) => server.send({ method: "POST", path: "/v1/logout", token });
    const other = await server.login();
    const session = await server.login();
    assert.equal((await listTenants(server, session)).status, 200);
    assert.equal((await logout(session)).status, 204);
    const ended = await listTenants(server, session);
    assert.equal(assertError(ended, "Unauthorized").reason, "ended");
    assertError(await logout(session), "Unauthorized");
    assert.equal((await listTenants(server, other)).status, 200, "only that session ends");

    const audit = await adminJson<{ action: string; details: { username?: string } }[]>(
      server,
      "audit",
    );
    const logouts = audit.filter((entry) => entry.action === "operator.logout");
    assert.deepEqual(
      logouts.map((entry) => entry.details.username),
      ["admin"],
    );
    const token = await adminJson<{ token: string }>(
      server,
      "token",
      "create",
      "--name",
      "psa",
      "--scope",
      "read-only",
    );
    const refused = await logout(token.token);
    assert.equal(assertError(refused, "BadRequest").reason, "not-a-session");
    assert.match(refused.body.toString(), /rempart admin token revoke/);
    assert.equal((await listTenants(server, token.token)).status, 200);
  });
});

describe("API tokens", () => {
  it("never exceed their scopes nor their operator's role, and stop when revoked or expired", async (t) => {
    const server = await startTestServer(t, { operatorPolicy: { adminNeedsTotp: true } });
    await addOperator(server, "tech", "technician");
    const create = (...args: string[]) =>
      adminJson<{ token: string; id: string; scopes: string[] }>(
        server,
        "token",
        "create",
        ...args,
      );

    const reader = await create("--name", "dashboard", "--scope", "read-only");
    assert.match(reader.token, /^rmpt_/);
    assert.equal((await listTenants(server, reader.token)).status, 200);
    const beyond = assertError(await createTenant(server, reader.token, "acme"), "Forbidden");
    assert.deepEqual(beyond, { reason: "scope", needed: "tenant-admin", scopes: ["read-only"] });
    assert.equal(assertError(await ackAlert(server, reader.token), "Forbidden").reason, "scope");

    const alerts = await create("--name", "psa", "--scope", "alerts", "--operator", "tech");
    assertError(await ackAlert(server, alerts.token), "NotFound"); // let through: no alert 1
    assert.equal(
      assertError(await createTenant(server, alerts.token, "acme"), "Forbidden").reason,
      "role",
    );

    const refused = await admin(server, [
      "token",
      "create",
      "--name",
      "x",
      "--scope",
      "tenant-admin",
      "--operator",
      "tech",
    ]);
    assert.notEqual(refused.code, 0);
    assert.match(
      refused.stderr,
      /tech is technician and may not give a token the scope tenant-admin/,
    );

    // A token is not a login: admin routes take it without TOTP, within its scopes.
    const automation = await create(
      "--name",
      "onboarding",
      "--scope",
      "tenant-admin",
      "--expires",
      "1h",
    );
    assert.equal((await createTenant(server, automation.token, "acme")).status, 201);

    expectExit(await admin(server, ["token", "revoke", reader.id]), 0);
    assert.equal(
      assertError(await listTenants(server, reader.token), "Unauthorized").reason,
      "revoked",
    );
    server.clock.advance(61 * MINUTE);
    assert.equal(
      assertError(await listTenants(server, automation.token), "Unauthorized").reason,
      "expired",
    );

    const tokens = await adminJson<
      { name: string; revoked_at: string | null; last_used_at: string | null }[]
    >(server, "token", "list");
    assert.deepEqual(
      tokens.map((token) => [token.name, token.revoked_at !== null, token.last_used_at !== null]),
      [
        ["dashboard", true, true],
        ["psa", false, true],
        ["onboarding", false, true],
      ],
    );
  });
});
