import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { openDataDir } from "../data-dir.js";
import { sha256, tempDir } from "../test-support.js";

const BIN = fileURLToPath(new URL("../../../bin/rempart.js", import.meta.url));

function admin(dir: string, ...args: string[]) {
  const run = spawnSync(process.execPath, [BIN, "admin", ...args, "--data", dir], {
    encoding: "utf8",
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe("rempart admin policy, snapshot and prune", () => {
  it("sets and shows policies, holds and releases, and explains a dry-run prune", async (t) => {
    const dir = tempDir(t, "admin-retention");
    const data = await openDataDir(dir);
    const old = new Date(Date.now() - 400 * 86_400_000);
    const acme = await data.catalog.createTenant(
      { name: "acme", retentionDays: 30, immutableDays: 0 },
      old,
    );
    const agent = await data.catalog.createAgent(
      {
        tenantId: acme.id,
        hostname: "pc",
        secretHash: sha256("s"),
        scopes: ["backup"],
        expiresAt: new Date(Date.now() + 86_400_000),
      },
      old,
    );
    const ids: string[] = [];
    for (const [label, at] of [
      ["a", old],
      ["b", new Date(old.getTime() + 1000)],
    ] as const) {
      const id = sha256(label);
      await data.catalog.recordObject(
        { tenantId: acme.id, kind: "snapshots", name: id, size: 1, createdByAgent: null },
        at,
      );
      await data.catalog.recordSnapshot(
        { tenantId: acme.id, id, agentId: agent.id, claimedTime: at, packs: [] },
        at,
      );
      ids.push(id);
    }
    await data.catalog.close();
    const [first = "", second = ""] = ids;

    const shown = admin(dir, "policy", "show", "acme");
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /acme \(default: retention days\): keep within 30 d, daily 0/);
    const set = admin(dir, "policy", "set", "acme", "--keep-within", "14d", "--keep-yearly", "3");
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /acme: keep within 14 d, daily 0, weekly 0, monthly 0, yearly 3/);
    const override = admin(dir, "policy", "set", "acme", "--agent", agent.id, "--keep-daily", "2");
    assert.equal(override.code, 0, override.stderr);
    assert.match(
      override.stdout,
      new RegExp(`agent ${agent.id} \\(pc\\): keep within 14 d, daily 2`),
    );
    const bad = admin(dir, "policy", "set", "acme", "--keep-within", "two weeks");
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--keep-within wants whole days/);

    assert.equal(admin(dir, "snapshot", "hold", "acme", second.slice(0, 8)).code, 0);
    const dry = admin(dir, "prune", "--dry-run");
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /acme: would remove 0 snapshot/);
    // The first of its year is kept by the yearly rule; the held one by its hold.
    assert.match(dry.stdout, new RegExp(`${first.slice(0, 12)} .* keep +yearly: first of \\d{4}`));
    assert.match(dry.stdout, new RegExp(`${second.slice(0, 12)} .* keep +held`));
    const released = admin(dir, "snapshot", "release", "acme", second.slice(0, 8));
    assert.equal(released.code, 0, released.stderr);
    assert.match(released.stdout, /: active/);
    const after = admin(dir, "prune", "--dry-run", "--tenant", "acme");
    assert.match(after.stdout, new RegExp(`${second.slice(0, 12)} .* remove`));
    assert.match(
      admin(dir, "snapshot", "mark-good", "acme", first.slice(0, 8)).stdout,
      /known-good/,
    );
    const show = admin(dir, "tenant", "show", "acme");
    assert.match(show.stdout, /2 active, 0 held, 0 deleted, 1 known-good/);
    assert.match(show.stdout, /reclaimable: 0 unreferenced pack/);
    const audit = admin(dir, "audit", "--tenant", "acme");
    for (const action of [
      "retention.policy.set",
      "snapshot.hold ",
      "snapshot.hold.release",
      "snapshot.known-good",
    ])
      assert.ok(audit.stdout.includes(action), `${action} audited`);
    assert.match(admin(dir, "snapshot", "hold", "acme", "zz").stderr, /not a snapshot id prefix/);
  });
});
