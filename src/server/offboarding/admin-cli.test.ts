import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { ensureAdminOperator, openDataDir } from "../data-dir.js";
import { verifyPassword } from "../passwords.js";
import { sha256, tempDir } from "../test-support.js";
import { requestTenantDeletion } from "./offboarding.js";

const BIN = fileURLToPath(new URL("../../../bin/rempart.js", import.meta.url));
const DAY = 86_400_000;

function admin(dir: string, ...args: string[]) {
  const run = spawnSync(process.execPath, [BIN, "admin", ...args, "--data", dir], {
    encoding: "utf8",
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

/**
 * The CLI reads the real clock, so deletions meant to be due are scheduled through the library
 * with a `now` in the past, as if requested days ago.
 */
async function scheduleInThePast(dir: string, name: string, daysAgo: number, files = 0) {
  const data = await openDataDir(dir);
  try {
    const past = new Date(Date.now() - daysAgo * DAY);
    const tenant = await data.catalog.createTenant(
      { name, retentionDays: 30, immutableDays: 0 },
      past,
    );
    await data.stores.get(tenant.id);
    for (let i = 0; i < files; i += 1) {
      const dirName = join(
        data.stores.pathOf(tenant.id),
        "data",
        (i % 256).toString(16).padStart(2, "0"),
      );
      mkdirSync(dirName, { recursive: true });
      writeFileSync(join(dirName, sha256(`${name} ${i}`)), "x");
    }
    await ensureAdminOperator(data.catalog, past);
    const requester = await data.catalog.getOperatorByUsername("admin");
    assert.ok(requester, "the admin operator exists");
    await requestTenantDeletion(
      { catalog: data.catalog, stores: data.stores, now: () => past },
      { audit: { kind: "system", id: "test" }, operatorId: requester.id },
      name,
      { requestedBy: "admin" },
    );
    return { id: tenant.id, store: data.stores.pathOf(tenant.id) };
  } finally {
    await data.catalog.close();
  }
}

describe("rempart admin tenant delete, cancel-delete, run-deletions and operator add", () => {
  it("schedules with a clear message, shows it, refuses the requester's own cancellation, and audits", async (t) => {
    const dir = tempDir(t, "admin-offboarding");
    const data = await openDataDir(dir);
    const acme = await data.catalog.createTenant({ name: "acme", retentionDays: 30 }, new Date());
    const agent = await data.catalog.createAgent(
      {
        tenantId: acme.id,
        hostname: "pc",
        secretHash: sha256("secret"),
        scopes: ["backup"],
        expiresAt: new Date(Date.now() + 365 * DAY),
      },
      new Date(),
    );
    // A snapshot committed a day ago: immutable 14 days, so until 13 days from now.
    const committed = new Date(Date.now() - DAY);
    const id = sha256("snapshot");
    await data.catalog.recordObject(
      { tenantId: acme.id, kind: "snapshots", name: id, size: 1, createdByAgent: null },
      committed,
    );
    const snapshot = await data.catalog.recordSnapshot(
      { tenantId: acme.id, id, agentId: agent.id, claimedTime: committed, packs: [] },
      committed,
    );
    await data.catalog.close();

    const added = admin(dir, "operator", "add", "bob", "--role", "admin");
    assert.equal(added.code, 0, added.stderr);
    const password = /password \(shown this once, only its hash is stored\): (\S+)/.exec(
      added.stdout,
    )?.[1];
    assert.ok(password, added.stdout);
    assert.match(admin(dir, "operator", "add", "eve", "--role", "root").stderr, /role must be/);
    assert.match(admin(dir, "operator", "add", "bob", "--role", "admin").stderr, /already/);
    assert.match(admin(dir, "operator", "list").stdout, /^admin {2}admin .*\nbob {2}admin /m);

    const short = admin(
      dir,
      "tenant",
      "delete",
      "acme",
      "--requested-by",
      "admin",
      "--delay",
      "12h",
    );
    assert.equal(short.code, 1);
    assert.match(short.stderr, /at least 24 h, so that a second admin can cancel it; 12 h/);
    assert.match(admin(dir, "tenant", "delete", "acme").stderr, /--requested-by is required/);
    assert.match(
      admin(dir, "tenant", "delete", "acme", "--requested-by", "mallory").stderr,
      /no operator named "mallory"/,
    );

    const deleted = admin(dir, "tenant", "delete", "acme", "--requested-by", "admin");
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.match(deleted.stdout, /acme is now offboarding: its agents are refused/);
    const due = snapshot.immutableUntil.toISOString().replace("T", " ").slice(0, 19);
    assert.ok(
      deleted.stdout.includes(
        `deleted at ${due} UTC, when the last snapshot's immutability window ends`,
      ),
      deleted.stdout,
    );
    assert.match(deleted.stdout, /requested by admin; another admin can cancel it/);
    const again = admin(dir, "tenant", "delete", "acme", "--requested-by", "bob");
    assert.match(again.stderr, /already scheduled, due at/);

    const shown = admin(dir, "tenant", "show", "acme");
    assert.match(shown.stdout, /acme {2}offboarding/);
    assert.ok(shown.stdout.includes(`due at ${due} UTC (end of the immutability window)`));
    assert.ok(shown.stdout.includes(`cancellable until ${due} UTC by an admin other than admin`));
    assert.match(shown.stdout, /revoked/);
    assert.equal(
      JSON.parse(admin(dir, "tenant", "show", "acme", "--json").stdout).deletion.requested_by,
      "admin",
    );

    const dry = admin(dir, "run-deletions", "--dry-run");
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /tenant acme \(deletion #1\): wait: due at/);

    const same = admin(dir, "tenant", "cancel-delete", "acme", "--by", "admin");
    assert.equal(same.code, 1);
    assert.match(
      same.stderr,
      /admin requested this deletion, so another admin must cancel it \(two-person rule\)/,
    );
    const cancel = admin(dir, "tenant", "cancel-delete", "acme", "--by", "bob");
    assert.equal(cancel.code, 0, cancel.stderr);
    assert.match(cancel.stdout, /the tenant is active again\nits agents stay revoked/);
    assert.match(admin(dir, "tenant", "show", "acme").stdout, /cancelled by bob/);
    assert.match(admin(dir, "run-deletions").stdout, /no scheduled deletions/);

    const audit = admin(dir, "audit", "--tenant", "acme").stdout;
    assert.match(audit, /tenant\.delete\.schedule .*"requested_by":"admin"/);
    assert.match(audit, /tenant\.delete\.cancel .*"cancelled_by":"bob"/);
    assert.match(admin(dir, "audit").stdout, /operator\.create .*"username":"bob","role":"admin"/);

    const reopened = await openDataDir(dir);
    try {
      const bob = await reopened.catalog.getOperatorByUsername("bob");
      assert.ok(bob);
      assert.ok(bob.passwordHash.startsWith("scrypt$"));
      assert.ok(!bob.passwordHash.includes(password));
      assert.ok(await verifyPassword(password, bob.passwordHash));
      assert.equal(
        await reopened.catalog.authenticateAgent(agent.id, sha256("secret"), new Date()),
        undefined,
      );
      assert.equal((await reopened.catalog.getSnapshot(acme.id, id))?.state, "active");
    } finally {
      await reopened.catalog.close();
    }
  });

  it("runs a due deletion, and finishes one whose process was killed with SIGKILL", async (t) => {
    const dir = tempDir(t, "admin-deletions");
    await (await openDataDir(dir)).catalog.close();
    const soon = await scheduleInThePast(dir, "soon", 1);
    const due = await scheduleInThePast(dir, "due", 4);
    const dry = admin(dir, "run-deletions", "--dry-run");
    assert.match(dry.stdout, /tenant due \(deletion #\d\): would-delete: /);
    assert.match(dry.stdout, /tenant soon \(deletion #\d\): wait: /);
    assert.ok(existsSync(due.store));
    const ran = admin(dir, "run-deletions");
    assert.equal(ran.code, 0, ran.stderr);
    assert.match(
      ran.stdout,
      /tenant due \(deletion #\d\): deleted: 0 snapshot\(s\) deleted, store removed/,
    );
    assert.equal(existsSync(due.store), false);
    assert.ok(existsSync(soon.store));
    assert.match(admin(dir, "tenant", "list").stdout, /due {2}deleted[\s\S]*soon {2}offboarding/);

    // Killed at different moments: whatever was done, the next run completes it.
    for (const [index, killAfterMs] of [150, 250, 320, 400].entries()) {
      const name = `killed${index}`;
      const victim = await scheduleInThePast(dir, name, 4, 3000);
      const child = spawn(process.execPath, [BIN, "admin", "run-deletions", "--data", dir], {
        stdio: "ignore",
      });
      const exited = new Promise((resolve) => child.once("exit", resolve));
      setTimeout(() => child.kill("SIGKILL"), killAfterMs);
      await exited;
      const next = admin(dir, "run-deletions");
      assert.equal(next.code, 0, next.stderr);
      assert.equal(existsSync(victim.store), false, name);
      assert.equal(existsSync(`${victim.store}.deleting`), false, name);
      const show = admin(dir, "tenant", "show", name);
      assert.match(show.stdout, new RegExp(`${name} {2}deleted`));
      assert.match(show.stdout, /completed at/);
    }
  });
});
