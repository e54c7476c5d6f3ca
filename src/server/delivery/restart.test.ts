import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import type { Catalog } from "../../catalog/catalog.js";
import { openSqliteCatalog } from "../../catalog/sqlite/catalog.js";
import { tempDir } from "../test-support.js";
import { startWebhookReceiver } from "./receivers-test-support.js";

const BIN = fileURLToPath(new URL("../../../bin/rempart.js", import.meta.url));
const SECRET = "restart test secret";
const SYSTEM = { actor: { kind: "system", id: "test" } } as const;

/** `rempart server` in a child process, resolved once it listens. */
async function startChild(dir: string, webhook: string, secretFile: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      BIN,
      "server",
      "--data",
      dir,
      "--listen",
      "127.0.0.1:0",
      "--alert-webhook",
      webhook,
      "--alert-webhook-secret-file",
      secretFile,
      "--json",
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  const [line] = (await Promise.race([
    once(child.stdout as NodeJS.ReadableStream, "data"),
    once(child, "exit").then(() => {
      throw new Error(`the server exited: ${stderr}`);
    }),
  ])) as [Buffer];
  assert.match(line.toString("utf8"), /"url"/);
  return child;
}

async function kill(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  const exited = once(child, "exit");
  child.kill(signal);
  await exited;
}

async function allDelivered(catalog: Catalog, count: number) {
  for (;;) {
    const all = await catalog.listDeliveries({ limit: 100 });
    if (all.length === count && all.every((d) => d.state === "delivered")) return all;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("alert delivery across a server killed with alerts in its outbox", () => {
  it("delivers every alert after the restart, at least once, with one idempotency key per delivery", async (t) => {
    let child: ChildProcess | undefined;
    let catalog: Catalog | undefined;
    // Registered before the directories' removal, so that it runs first.
    t.after(async () => {
      if (child?.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await catalog?.close();
    });
    const dir = tempDir(t, "delivery-restart");
    const secretFile = join(tempDir(t, "delivery-secret"), "webhook.secret");
    writeFileSync(secretFile, `${SECRET}\n`, { mode: 0o600 });
    // The first request is taken and never answered: the server dies with it in flight.
    const hook = await startWebhookReceiver(SECRET, (n) => (n === 0 ? "hang" : 200));
    t.after(() => hook.close());

    child = await startChild(dir, hook.url, secretFile);
    const opened = openSqliteCatalog(join(dir, "catalog.sqlite"));
    catalog = opened;
    const tenant = await opened.createTenant({ name: "acme", retentionDays: 30 }, new Date());
    const raise = (message: string) =>
      opened.raiseAlert(
        {
          tenantId: tenant.id,
          agentId: null,
          snapshotId: null,
          kind: "detection",
          severity: "high",
          message,
        },
        SYSTEM,
        new Date(),
      );
    const inFlight = await raise("raised while the server runs");
    await hook.waitFor(1);
    await kill(child, "SIGKILL");
    const whileDown = [await raise("raised while it is down"), await raise("and another")];

    child = await startChild(dir, hook.url, secretFile);
    const deliveries = await allDelivered(opened, 3);
    await hook.waitFor(4);
    await kill(child, "SIGTERM");

    assert.ok(hook.received.every((r) => r.signatureValid));
    const keyOf = new Map(deliveries.map((d) => [d.alertId, String(d.id)]));
    const timesReceived = (alertId: number) =>
      hook.received.filter((r) => r.body.alert.id === alertId && r.key === keyOf.get(alertId))
        .length;
    // Sent before the kill and again after: the receiver sees the same key twice and keeps one.
    assert.equal(timesReceived(inFlight.id), 2);
    for (const alert of whileDown) assert.equal(timesReceived(alert.id), 1);
    assert.equal(hook.received.length, 4);
    assert.equal(new Set(hook.received.map((r) => r.key)).size, 3);
    // The restart did not add destinations: the flags' webhook is the same one.
    assert.equal((await opened.listAlertDestinations({})).length, 1);
  });
});
