import assert from "node:assert/strict";
import { readdirSync, statSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { isRempartError } from "../errors.js";
import { tempDir } from "../testing/cli.js";
import {
  AGENT_CONFIG_ENV,
  type AgentConfig,
  agentConfigPath,
  findAgentConfig,
  readAgentConfig,
  writeAgentConfig,
} from "./config.js";

const FINGERPRINT = Array.from({ length: 32 }, (_, i) => (i * 7).toString(16).padStart(2, "0"))
  .join(":")
  .toUpperCase();

const CONFIG: AgentConfig = {
  server: "https://127.0.0.1:8443",
  fingerprint: FINGERPRINT,
  agentId: "agent-1",
  credential: "rmpa_agent-1_secret",
  tenant: { id: "t-1", name: "acme" },
  repositoryPassword: "correct horse",
  schedule: "0 2 * * *",
  paths: ["/srv/share"],
  exclude: ["*.tmp"],
};

describe("the agent configuration", () => {
  it("is written owner-only, whole, and read back as it was", async (t) => {
    const path = join(tempDir(t, "agent-config"), "nested", "agent.json");
    await writeAgentConfig(CONFIG, path);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.deepEqual(await readAgentConfig(path), CONFIG);
    await writeAgentConfig({ ...CONFIG, schedule: "30 1 * * 1-5" }, path);
    assert.equal((await readAgentConfig(path)).schedule, "30 1 * * 1-5");
    assert.deepEqual(readdirSync(join(path, "..")), ["agent.json"], "no temp file is left");
  });

  it("keeps the key slot the machine enrolled with, and refuses one that is not a slot name", async (t) => {
    const path = join(tempDir(t, "agent-config"), "agent.json");
    const keySlot = "0f".repeat(32);
    await writeAgentConfig({ ...CONFIG, keySlot }, path);
    assert.equal((await readAgentConfig(path)).keySlot, keySlot);
    writeFileSync(path, JSON.stringify({ ...CONFIG, keySlot: "../keys" }));
    await assert.rejects(readAgentConfig(path), (error: unknown) =>
      isRempartError(error, "InvalidArgument"),
    );
  });

  it("is absent rather than an error when the machine is not enrolled", async (t) => {
    const path = join(tempDir(t, "agent-config"), "agent.json");
    assert.equal(await findAgentConfig(path), undefined);
    await assert.rejects(
      readAgentConfig(path),
      (error: unknown) => isRempartError(error, "NotFound") && /agent enroll/.test(error.message),
    );
  });

  it("accepts a fingerprint however it was typed, and keeps the canonical form", async (t) => {
    const path = join(tempDir(t, "agent-config"), "agent.json");
    const typed = FINGERPRINT.replaceAll(":", "").toLowerCase();
    writeFileSync(path, JSON.stringify({ ...CONFIG, fingerprint: typed }));
    assert.equal((await readAgentConfig(path)).fingerprint, FINGERPRINT);
  });

  const broken: readonly (readonly [string, unknown, RegExp])[] = [
    ["not JSON", "{", /not valid JSON/],
    ["not an object", [], /not a JSON object/],
    ["a plain-http server", { ...CONFIG, server: "http://127.0.0.1:8443" }, /"server"/],
    ["a short fingerprint", { ...CONFIG, fingerprint: "AB:CD" }, /"fingerprint"/],
    ["an operator token", { ...CONFIG, credential: "rmps_x" }, /"credential"/],
    ["a bad schedule", { ...CONFIG, schedule: "0 25 * * *" }, /"schedule".*not a hour/],
    ["a relative path", { ...CONFIG, paths: ["srv"] }, /"paths"/],
    ["no password", { ...CONFIG, repositoryPassword: "" }, /"repositoryPassword"/],
    ["no tenant", { ...CONFIG, tenant: undefined }, /"tenant"/],
  ];
  for (const [label, content, why] of broken) {
    it(`refuses ${label}, naming the file and the field`, async (t) => {
      const path = join(tempDir(t, "agent-config"), "agent.json");
      writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content));
      await assert.rejects(
        readAgentConfig(path),
        (error: unknown) =>
          isRempartError(error, "InvalidArgument") &&
          error.message.includes(path) &&
          why.test(error.message),
      );
    });
  }

  it("lives where REMPART_AGENT_CONFIG says, else in the user's or the system's place", (t) => {
    const saved = process.env[AGENT_CONFIG_ENV];
    t.after(() => {
      if (saved === undefined) delete process.env[AGENT_CONFIG_ENV];
      else process.env[AGENT_CONFIG_ENV] = saved;
    });
    process.env[AGENT_CONFIG_ENV] = "/somewhere/agent.json";
    assert.equal(agentConfigPath(), "/somewhere/agent.json");
    delete process.env[AGENT_CONFIG_ENV];
    assert.equal(
      agentConfigPath(),
      process.getuid?.() === 0
        ? "/etc/rempart/agent.json"
        : join(homedir(), ".config", "rempart", "agent.json"),
    );
  });
});
