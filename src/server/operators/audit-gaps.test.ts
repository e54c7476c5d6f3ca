/**
 * Every operator and security event is in the audit log: a real server (HTTPS on 127.0.0.1,
 * SQLite) and the `rempart admin` CLI as a child process on the same data directory. The
 * server's clock is the test's; the CLI's is the machine's.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { userInfo } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { cliActorId } from "../../cli/commands/admin/session.js";
import { expectExit } from "../../testing/cli.js";
import { openDataDir } from "../data-dir.js";
import {
  assertError,
  keySlotOf,
  sha256,
  startTestServer,
  type TestServer,
  tempDir,
} from "../test-support.js";
import { admin, adminJson, login, sessionOf } from "./operators-test-support.js";
import { REFUSAL_AUDIT_EVERY_MS } from "./policy.js";
import { TOTP_PERIOD_MS, totpCode } from "./totp.js";

interface Entry {
  readonly id: number;
  readonly action: string;
  readonly actor: { readonly kind: string; readonly id: string | null };
  readonly details: Record<string, unknown>;
}

/** The whole log, newest first, as the admin CLI reads it. */
const auditLog = (server: TestServer) => adminJson<Entry[]>(server, "audit", "--limit", "1000");
const entriesOf = (log: readonly Entry[], action: string) =>
  log.filter((entry) => entry.action === action);

const createTenant = (server: TestServer, token: string, name: string) =>
  server.send({ method: "POST", path: "/v1/tenants", token, json: { name, retention_days: 30 } });

describe("audit of the admin CLI", () => {
  it("names the OS user who ran each command, and the sudo user through sudo", async (t) => {
    const server = await startTestServer(t);
    const me = userInfo();
    const created = await admin(server, ["tenant", "create", "acme", "--retention-days", "30"], {
      env: { SUDO_USER: undefined, SUDO_UID: undefined },
    });
    expectExit(created, 0);
    expectExit(
      await admin(server, ["tenant", "set-rpo", "acme", "4h"], {
        env: { SUDO_USER: "alice", SUDO_UID: "1000" },
      }),
      0,
    );
    const log = await auditLog(server);
    const plain = `admin-cli:${me.username}(${me.uid})`;
    assert.deepEqual(entriesOf(log, "tenant.create")[0]?.actor, { kind: "system", id: plain });
    assert.deepEqual(entriesOf(log, "tenant.rpo.set")[0]?.actor, {
      kind: "system",
      id: `${plain},sudo:alice(1000)`,
    });
    assert.equal(
      log.filter((entry) => entry.actor.id === "admin-cli").length,
      0,
      "no entry without a person",
    );
  });

  it("keeps the actor id within its 128 characters whatever the names", () => {
    const long = "x".repeat(300);
    const id = cliActorId({ username: long, uid: 4_294_967_294, sudoUser: long, sudoUid: long });
    assert.ok(id.length <= 128, `${id.length} characters`);
    assert.match(id, /^admin-cli:x{32}\(4294967294\),sudo:x{32}\(x{10}\)$/);
  });
});

describe("audit of operators' refusals", () => {
  it("records a role or scope refusal with its route, throttled per operator with the count", async (t) => {
    const server = await startTestServer(t);
    const viewer = await adminJson<{ password: string }>(
      server,
      ...["operator", "add", "viewer", "--role", "read-only"],
    );
    const viewing = await sessionOf(await login(server, "viewer", viewer.password));
    for (let i = 0; i < 3; i++)
      assertError(await createTenant(server, viewing, "beta"), "Forbidden");
    const reader = await adminJson<{ token: string; id: string }>(
      server,
      ...["token", "create", "--name", "dashboard", "--scope", "read-only"],
    );
    assertError(await createTenant(server, reader.token, "beta"), "Forbidden");

    let refused = entriesOf(await auditLog(server), "operator.refused");
    assert.equal(refused.length, 2, "one for the viewer's three, one for the token");
    const [byToken, byViewer] = refused;
    assert.equal(byViewer?.actor.kind, "operator");
    assert.deepEqual(
      {
        ...byViewer?.details,
        address: undefined,
      },
      {
        username: "viewer",
        route: "POST /v1/tenants",
        reason: "role",
        needed_role: "admin",
        needed_scope: "tenant-admin",
        role: "read-only",
        credential: "session",
        mfa: false,
        address: undefined,
        refused_since_last: 1,
      },
    );
    assert.equal(byViewer?.details.address, "127.0.0.1");
    assert.equal(byToken?.details.credential, "token");
    assert.equal(byToken?.details.token_id, reader.id);
    assert.equal(byToken?.details.reason, "scope");

    // Once the throttle lets the viewer's next refusal through, it carries the two it skipped.
    server.clock.advance(REFUSAL_AUDIT_EVERY_MS);
    assertError(await createTenant(server, viewing, "beta"), "Forbidden");
    refused = entriesOf(await auditLog(server), "operator.refused");
    assert.equal(refused.length, 3);
    assert.equal(refused[0]?.details.refused_since_last, 3);
  });
});

describe("audit of callers the server does not know", () => {
  it("records operator routes called without a working credential, throttled per address", async (t) => {
    const server = await startTestServer(t);
    const listTenants = (token?: string) =>
      server.send({ path: "/v1/tenants", ...(token === undefined ? {} : { token }) });
    const root = await server.login();
    await server.createTenant(root, "acme");
    const agent = await server.agentOf(root, "acme");

    assertError(await listTenants(), "Unauthorized");
    for (let i = 0; i < 3; i++)
      assertError(await listTenants(`rmps_${"A".repeat(43)}`), "Unauthorized");
    let refused = entriesOf(await auditLog(server), "operator.unauthenticated");
    assert.equal(refused.length, 1, "one entry per address and interval");
    assert.deepEqual(refused[0]?.actor, { kind: "system", id: "operator-auth" });
    assert.deepEqual(refused[0]?.details, {
      route: "GET /v1/tenants",
      status: 401,
      reason: "missing",
      address: "127.0.0.1",
      refused_since_last: 1,
    });

    // An agent's credential on an operator route: the next entry, with the three it stands for.
    server.clock.advance(REFUSAL_AUDIT_EVERY_MS);
    assertError(await listTenants(agent.credential), "Forbidden");
    refused = entriesOf(await auditLog(server), "operator.unauthenticated");
    assert.equal(refused.length, 2);
    assert.equal(refused[0]?.details.reason, "credential-kind");
    assert.equal(refused[0]?.details.offered, "agent");
    assert.equal(refused[0]?.details.status, 403);
    assert.equal(refused[0]?.details.refused_since_last, 4);

    server.clock.advance(REFUSAL_AUDIT_EVERY_MS);
    assertError(await listTenants(`rmps_${"A".repeat(43)}`), "Unauthorized");
    assert.equal(
      entriesOf(await auditLog(server), "operator.unauthenticated")[0]?.details.reason,
      "unknown",
    );
    assert.equal((await listTenants(root)).status, 200, "a working session is not audited");
    assert.equal(entriesOf(await auditLog(server), "operator.unauthenticated").length, 3);
  });

  it("records refused enrollments: a spent token replayed, an unknown one, throttled per address", async (t) => {
    const server = await startTestServer(t);
    const root = await server.login();
    await server.createTenant(root, "acme");
    const token = await server.enrollToken(root, "acme");
    assert.equal((await server.enroll(token, "pc-1")).status, 201);
    assert.deepEqual(entriesOf(await auditLog(server), "agent.enroll.refused"), []);

    assertError(await server.enroll(token, "intruder"), "TokenUsed");
    assertError(await server.enroll("rmpe_not-a-token", "intruder"), "Unauthorized");
    let refused = entriesOf(await auditLog(server), "agent.enroll.refused");
    assert.equal(refused.length, 1);
    assert.deepEqual(refused[0]?.actor, { kind: "system", id: "enrollment" });
    assert.deepEqual(refused[0]?.details, {
      reason: "used",
      hostname: "intruder",
      address: "127.0.0.1",
      refused_since_last: 1,
    });
    server.clock.advance(REFUSAL_AUDIT_EVERY_MS);
    assertError(await server.enroll(`rmpe_${"B".repeat(43)}`, "intruder"), "Unauthorized");
    refused = entriesOf(await auditLog(server), "agent.enroll.refused");
    assert.equal(refused.length, 2);
    assert.equal(refused[0]?.details.reason, "unknown");
    assert.equal(refused[0]?.details.refused_since_last, 2, "with the malformed one skipped");
  });
});

describe("audit of refused logins and TOTP confirmations", () => {
  it("records logins refused while locked (throttled) and a wrong code at totp confirm", async (t) => {
    const server = await startTestServer(t);
    const password = server.server.firstAdminPassword as string;
    for (let i = 0; i < 5; i++) assertError(await login(server, "admin", "wrong"), "Unauthorized");
    for (let i = 0; i < 3; i++) assertError(await login(server, "admin", password), "RateLimited");
    let locked = entriesOf(await auditLog(server), "operator.login.locked");
    assert.equal(locked.length, 1, "a flood of locked logins is one entry per key and interval");
    assert.equal(locked[0]?.details.username, "admin");
    assert.equal(locked[0]?.details.address, "127.0.0.1");
    assert.equal(locked[0]?.details.locked, "user:admin");
    assert.equal(typeof locked[0]?.details.locked_until, "string");
    server.clock.advance(REFUSAL_AUDIT_EVERY_MS);
    // The lock has run out: a wrong password locks again, and the next refusal counts the two.
    assertError(await login(server, "admin", "wrong"), "Unauthorized");
    assertError(await login(server, "admin", password), "RateLimited");
    locked = entriesOf(await auditLog(server), "operator.login.locked");
    assert.equal(locked.length, 2);
    assert.equal(locked[0]?.details.refused_since_last, 3);

    expectExit(await admin(server, ["operator", "totp", "enroll", "admin"]), 0);
    const wrong = await admin(server, ["operator", "totp", "confirm", "admin", "000000"]);
    assert.notEqual(wrong.code, 0);
    const failures = entriesOf(await auditLog(server), "operator.totp.confirm.failure");
    assert.equal(failures.length, 1);
    assert.equal(failures[0]?.details.username, "admin");
    assert.equal(failures[0]?.details.reason, "totp-wrong");
    assert.match(String(failures[0]?.actor.id), /^admin-cli:/);
  });
});

describe("audit of server starts", () => {
  it("records each start with the settings that matter for security", async (t) => {
    const dataDir = tempDir(t, "start");
    const first = await startTestServer(t, { dataDir });
    await first.close();
    const second = await startTestServer(t, {
      dataDir,
      operatorPolicy: { adminNeedsTotp: true },
    });
    const starts = entriesOf(await auditLog(second), "server.start");
    assert.equal(starts.length, 2);
    const [latest, earlier] = starts;
    assert.deepEqual(latest?.actor, { kind: "system", id: "server" });
    assert.equal(latest?.details.listen_host, "127.0.0.1");
    assert.equal(latest?.details.listen_port, second.port);
    assert.equal(earlier?.details.admin_needs_totp, false, "loopback's default");
    assert.equal(latest?.details.admin_needs_totp, true);
    assert.equal(latest?.details.jobs, false);
    assert.equal(latest?.details.metrics, false);
    assert.equal(latest?.details.alert_destinations, 0);
    assert.equal(latest?.details.tls_fingerprint, second.server.fingerprint);
    assert.equal(earlier?.details.tls_generated, true);
    assert.equal(latest?.details.tls_generated, false);
  });
});

describe("the audit log after a session of operator work", () => {
  it("holds an entry for each action, and its chain verifies", async (t) => {
    const server = await startTestServer(t);
    const dir = tempDir(t, "session-files");
    const cli = async (...args: string[]) => expectExit(await admin(server, args), 0);
    const root = await server.login();

    // Tenants, enrollment, an agent.
    await server.createTenant(root, "acme");
    await cli("tenant", "set-quota", "acme", "2T");
    await cli("tenant", "set-rpo", "acme", "4h");
    await cli("policy", "set", "acme", "--keep-within", "14d");
    const agent = await server.agentOf(root, "acme");
    const slot = await keySlotOf("pc-1");
    const slotFile = join(dir, "slot.json");
    writeFileSync(slotFile, slot.bytes);
    await cli("key", "add", "acme", "--file", slotFile);

    // A snapshot to hold, recorded as a backup would.
    const data = await openDataDir(server.dataDir);
    const tenant = await data.catalog.getTenantByName("acme");
    assert.ok(tenant);
    const snapshotId = sha256("snapshot");
    const now = server.clock.now();
    await data.catalog.recordObject(
      { tenantId: tenant.id, kind: "snapshots", name: snapshotId, size: 1, createdByAgent: null },
      now,
    );
    await data.catalog.recordSnapshot(
      { tenantId: tenant.id, id: snapshotId, agentId: agent.agent_id, claimedTime: now, packs: [] },
      now,
    );
    await data.catalog.close();
    for (const action of ["hold", "release", "mark-good"])
      await cli("snapshot", action, "acme", snapshotId.slice(0, 8));

    await cli("quarantine", "add", "acme", "--agent", agent.agent_id);
    await cli("quarantine", "release", "acme", "--agent", agent.agent_id);

    // Revocation, then the leftover agent calling in, its alert acknowledged.
    await cli("agent", "revoke", agent.agent_id);
    assertError(
      await server.send({ path: "/v1/repo/objects/data", token: agent.credential }),
      "CredentialRevoked",
    );
    const alerts = await adminJson<{ id: number }[]>(server, "alerts", "--open");
    assert.equal(alerts.length, 1);
    await cli("alerts", "ack", String(alerts[0]?.id), "--by", "admin", "--reason", "uninstalled");
    await cli("alerts", "destination", "add", "--email", "noc@example.com");
    const destinations = await adminJson<{ id: string }[]>(server, "alerts", "destination");
    await cli("alerts", "destination", "remove", String(destinations[0]?.id));

    // Operators, their second factor and tokens.
    await cli("operator", "add", "second", "--role", "admin");
    const tech = await adminJson<{ password: string }>(
      server,
      ...["operator", "add", "tech", "--role", "technician"],
    );
    await cli("operator", "role", "tech", "read-only");
    const viewing = await sessionOf(await login(server, "tech", tech.password));
    assertError(await createTenant(server, viewing, "beta"), "Forbidden");
    for (let i = 0; i < 6; i++) await login(server, "tech", "wrong");
    await cli("operator", "unlock", "tech");
    const enrolled = (await cli("operator", "totp", "enroll", "tech")).stdout;
    const secret = new URL(/otpauth:\/\/totp\/\S+/.exec(enrolled)?.[0] ?? "").searchParams.get(
      "secret",
    );
    assert.ok(secret);
    const wrong = await admin(server, ["operator", "totp", "confirm", "tech", "000000"]);
    assert.notEqual(wrong.code, 0);
    await cli("operator", "totp", "confirm", "tech", totpCode(secret, new Date()));
    server.clock.advance(TOTP_PERIOD_MS);
    await cli("operator", "totp", "reset", "tech");
    await cli("operator", "disable", "tech");
    const token = await adminJson<{ id: string }>(
      server,
      ...["token", "create", "--name", "psa", "--scope", "alerts"],
    );
    await cli("token", "revoke", token.id);
    await cli("enroll-token", "acme", "--expires", "1h");

    // Offboarding, asked and cancelled by two admins.
    await cli("tenant", "delete", "acme", "--requested-by", "admin");
    await cli("tenant", "cancel-delete", "acme", "--by", "second");

    const log = await auditLog(server);
    const actions = new Set(log.map((entry) => entry.action));
    const expected = [
      "server.start",
      "operator.login",
      "operator.login.failure",
      "operator.login.locked",
      "operator.refused",
      "tenant.create",
      "tenant.quota.set",
      "tenant.rpo.set",
      "retention.policy.set",
      "enroll-token.create",
      "agent.enroll",
      "key.add",
      "snapshot.hold",
      "snapshot.hold.release",
      "snapshot.known-good",
      "agent.quarantine",
      "agent.quarantine.release",
      "agent.revoke",
      "agent.leftover-call",
      "alert.raise",
      "alert.acknowledge",
      "alert.destination.add",
      "alert.destination.remove",
      "operator.create",
      "operator.role",
      "operator.unlock",
      "operator.totp.enroll",
      "operator.totp.confirm.failure",
      "operator.totp.confirm",
      "operator.totp.reset",
      "operator.disable",
      "api-token.create",
      "api-token.revoke",
      "tenant.delete.schedule",
      "tenant.delete.cancel",
    ];
    assert.deepEqual(
      expected.filter((action) => !actions.has(action)),
      [],
      "actions missing from the audit log",
    );
    for (const entry of log)
      if (entry.actor.kind === "system" && entry.actor.id?.startsWith("admin-cli"))
        assert.match(entry.actor.id, /^admin-cli:\S+\(\d+\)/);

    const verified = await adminJson<{ ok: boolean; entries: number }>(server, "audit", "verify");
    assert.equal(verified.ok, true);
    assert.equal(verified.entries, log.length);
  });
});
