/**
 * Issue 8 end to end, through the real CLI and a real server process: machine A of a tenant is
 * taken; with its agent.json the attacker uploads what the server cannot judge without keys (a
 * junk index, a pack-shaped junk pack, a sealed snapshot dated 9999 whose tree does not exist) and
 * claims a backup that never happened. The operator quarantines A from the command line; the
 * tenant's other machine B then restores bit-exact with a plain `rempart restore latest`, because
 * none of A's uploads reach a listing or a read any more.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { agentStore, findAgentConfig } from "../../agent/config.js";
import { enrollCli, Operator, ServerProcess } from "../../agent/test-support.js";
import { forgedSnapshot, unwrapMasterKey } from "../../repository/forge-test-support.js";
import { sealSnapshot } from "../../repository/snapshot.js";
import type { ObjectKind } from "../../storage/object-store.js";
import {
  assertSameTree,
  type Cleanup,
  expectExit,
  jsonOutput,
  PASSWORD,
  runCli,
  tempDir,
  writePseudoRandomFile,
} from "../../testing/cli.js";
import { asPack, sha256 } from "../test-support.js";
import type { QuarantineView } from "./quarantine.js";

const cleanups: (() => unknown)[] = [];
const suite: Cleanup = { after: (fn) => cleanups.push(fn) };
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

describe("a tenant after one of its machines is taken", () => {
  it("restores the other machines bit-exact once the operator quarantines the taken one", async () => {
    const base = tempDir(suite, "quarantine-e2e");
    const dataDir = join(base, "server");
    const server = await ServerProcess.start(suite, dataDir);
    const operator = await Operator.login(server, server.adminPassword);
    suite.after(() => operator.close());
    await operator.createTenant("acme");

    // A enrolls first, so its upload created the repository (config and key slot): a quarantine
    // must leave those alone, or no machine could open the repository.
    const machines = ["a", "b"].map((name) => ({
      name,
      src: join(base, `${name}-src`),
      configPath: join(base, name, "agent.json"),
    }));
    for (const machine of machines) {
      mkdirSync(join(machine.src, "docs"), { recursive: true });
      writePseudoRandomFile(join(machine.src, "big.bin"), 600 * 1024, `${machine.name}-big`);
      writePseudoRandomFile(join(machine.src, "docs", "note.txt"), 3000, `${machine.name}-note`);
      const token = await operator.enrollToken("acme");
      expectExit(
        await enrollCli(server, token, {
          configPath: machine.configPath,
          extra: ["--path", machine.src],
        }),
        0,
        `enroll ${machine.name}`,
      );
    }
    const [a, b] = machines as [(typeof machines)[0], (typeof machines)[0]];
    const as = (machine: typeof a) => ({
      password: null,
      env: { REMPART_AGENT_CONFIG: machine.configPath },
    });
    for (const machine of machines) {
      const ran = jsonOutput<{ outcome: string }>(
        expectExit(await runCli(["agent", "run", "--once", "--json"], as(machine)), 0, "run"),
      );
      assert.equal(ran.outcome, "success");
    }

    // The attacker, with A's agent.json: objects the server cannot tell from real ones.
    const configA = await findAgentConfig(a.configPath);
    assert.ok(configA);
    const store = agentStore(configA);
    suite.after(() => store.close());
    const key = await unwrapMasterKey(store, PASSWORD);
    const junkIndex = randomBytes(400);
    await store.put({ kind: "index", name: sha256(junkIndex) }, junkIndex);
    const junkPack = asPack(randomBytes(2000));
    await store.put({ kind: "data", name: sha256(junkPack) }, junkPack);
    const forged = sealSnapshot(
      key.encryption,
      forgedSnapshot({
        time: "9999-12-31T23:59:59.000Z",
        host: "b",
        username: "root",
        paths: [b.src],
        tree: sha256("a tree that does not exist"),
        program: "rempart 0.1.0",
      }),
    );
    await store.commitSnapshot({
      name: sha256(forged),
      bytes: forged,
      packs: [sha256(junkPack)],
      claimedTime: "9999-12-31T23:59:59.000Z",
    });
    const hostile: [ObjectKind, string][] = [
      ["index", sha256(junkIndex)],
      ["data", sha256(junkPack)],
      ["snapshots", sha256(forged)],
    ];

    // Until the operator acts, every machine of the tenant is served the attacker's objects.
    const configB = await findAgentConfig(b.configPath);
    assert.ok(configB);
    const storeB = agentStore(configB);
    suite.after(() => storeB.close());
    for (const [kind, name] of hostile)
      assert.ok(await storeB.stat({ kind, name }), `${kind}/${name} before the quarantine`);

    // The operator quarantines A from the server's command line (and revokes it, as one would).
    const quarantined = jsonOutput<QuarantineView>(
      expectExit(
        await runCli(
          ["admin", "quarantine", "acme", "--agent", configA.agentId, "--data", dataDir, "--json"],
          { password: null },
        ),
        0,
        "admin quarantine",
      ),
    );
    assert.equal(quarantined.agent_id, configA.agentId);
    assert.ok(quarantined.hidden_objects >= hostile.length);
    expectExit(
      await runCli(["admin", "agent", "revoke", configA.agentId, "--data", dataDir], {
        password: null,
      }),
      0,
      "admin agent revoke",
    );

    // B's view: none of A's uploads, config and key slot excepted.
    for (const [kind, name] of hostile) {
      assert.equal(await storeB.stat({ kind, name }), undefined, `${kind}/${name} is visible`);
      const listed: string[] = [];
      for await (const info of storeB.list(kind)) listed.push(info.name);
      assert.ok(!listed.includes(name), `${kind}/${name} is listed`);
    }
    assert.ok(await storeB.stat({ kind: "config", name: "config" }));

    const target = join(base, "b-restored");
    expectExit(await runCli(["restore", "latest", "--target", target], as(b)), 0, "restore");
    await assertSameTree(b.src, join(target, b.src));

    // Listed, audited, and undone by release (which shows A's objects again).
    const listed = jsonOutput<QuarantineView[]>(
      expectExit(
        await runCli(["admin", "quarantine", "list", "acme", "--data", dataDir, "--json"], {
          password: null,
        }),
        0,
      ),
    );
    assert.deepEqual(
      listed.map((q) => [q.agent_id, q.released_at]),
      [[configA.agentId, null]],
    );
    expectExit(
      await runCli(
        ["admin", "quarantine", "release", "acme", "--agent", configA.agentId, "--data", dataDir],
        { password: null },
      ),
      0,
      "admin quarantine release",
    );
    assert.ok(await storeB.stat({ kind: "index", name: sha256(junkIndex) }));
    const audit = jsonOutput<{ action: string; actor: { id: string } }[]>(
      expectExit(
        await runCli(["admin", "audit", "--tenant", "acme", "--data", dataDir, "--json"], {
          password: null,
        }),
        0,
      ),
    );
    const actions = audit.map((e) => e.action);
    assert.ok(actions.includes("agent.quarantine"));
    assert.ok(actions.includes("agent.quarantine.release"));
  });
});
