import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { openDataDir } from "../data-dir.js";
import { tempDir } from "../test-support.js";

const BIN = fileURLToPath(new URL("../../../bin/rempart.js", import.meta.url));
const SECRET = "the-secret-that-never-comes-back";

function admin(dir: string, ...args: string[]) {
  const run = spawnSync(process.execPath, [BIN, "admin", ...args, "--data", dir], {
    encoding: "utf8",
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe("rempart admin alerts destination and deliveries", () => {
  it("adds, lists and removes destinations, audited, never showing a secret back", async (t) => {
    const dir = tempDir(t, "admin-destinations");
    const secretFile = join(tempDir(t, "admin-secret"), "hook.secret");
    writeFileSync(secretFile, `${SECRET}\n`, { mode: 0o600 });
    const data = await openDataDir(dir);
    await data.catalog.createTenant({ name: "acme", retentionDays: 30 }, new Date());
    await data.catalog.close();

    for (const url of [
      "file:///etc/passwd",
      "ftp://example.com/x",
      "https://user:pw@example.com/",
    ]) {
      const refused = admin(
        dir,
        "alerts",
        "destination",
        "add",
        "--tenant",
        "acme",
        "--webhook",
        url,
        "--secret-file",
        secretFile,
      );
      assert.equal(refused.code, 1, url);
    }
    assert.match(
      admin(dir, "alerts", "destination", "add", "--webhook", "https://hooks.example.com/x").stderr,
      /needs --secret-file/,
    );
    const hook = admin(
      dir,
      "alerts",
      "destination",
      "add",
      "--tenant",
      "acme",
      "--webhook",
      "https://hooks.example.com/rempart",
      "--secret-file",
      secretFile,
      "--json",
    );
    assert.equal(hook.code, 0, hook.stderr);
    const added = JSON.parse(hook.stdout) as { id: string; tenant: string };
    assert.equal(added.tenant, "acme");
    const mail = admin(dir, "alerts", "destination", "add", "--email", "oncall@msp.example");
    assert.equal(mail.code, 0, mail.stderr);
    assert.match(mail.stdout, /email oncall@msp\.example {2}for every tenant/);

    const listed = admin(dir, "alerts", "destination", "list", "--tenant", "acme");
    assert.match(listed.stdout, /webhook https:\/\/hooks\.example\.com\/rempart {2}for acme/);
    assert.match(listed.stdout, /email oncall@msp\.example/);
    const removed = admin(dir, "alerts", "destination", "remove", added.id);
    assert.equal(removed.code, 0, removed.stderr);
    assert.doesNotMatch(admin(dir, "alerts", "destination").stdout, /hooks\.example\.com/);
    assert.equal(admin(dir, "alerts", "destination", "remove", added.id).code, 1);

    const audit = admin(dir, "audit", "--json");
    const actions = (JSON.parse(audit.stdout) as { action: string }[]).map((e) => e.action);
    assert.deepEqual(
      actions.filter((a) => a.startsWith("alert.destination")),
      ["alert.destination.remove", "alert.destination.add", "alert.destination.add"],
    );
    for (const output of [
      hook.stdout,
      listed.stdout,
      audit.stdout,
      admin(dir, "alerts", "destination", "--json").stdout,
    ])
      assert.ok(!output.includes(SECRET));
    assert.equal(admin(dir, "audit", "verify").code, 0);
    assert.match(admin(dir, "alerts", "deliveries").stdout, /no alert deliveries/);
  });
});
