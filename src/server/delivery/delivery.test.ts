import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { Catalog } from "../../catalog/catalog.js";
import { openSqliteCatalog } from "../../catalog/sqlite/catalog.js";
import { makeCertificate } from "../../testing/tls.js";
import { startServer } from "../server.js";
import { tempDir } from "../test-support.js";
import { startSmtpReceiver, startWebhookReceiver } from "./receivers-test-support.js";
import type { AlertDeliveryOptions } from "./start.js";

const SECRET = "webhook secret of the MSP";
/** Fast retries for the tests; the policy's shape is what is tested, not its defaults. */
const FAST = { baseDelayMs: 20, maxDelayMs: 100, maxAttempts: 5 };
const ALERT = {
  agentId: null,
  snapshotId: null,
  kind: "detection",
  severity: "high",
  message: "agent pc of former client acme is still calling in",
} as const;
const SYSTEM = { actor: { kind: "system", id: "test" } } as const;

/** A real server with these delivery settings, and a second connection to its catalog. */
async function serverWith(
  t: { after(fn: () => unknown): void },
  alertDelivery: AlertDeliveryOptions,
): Promise<{ catalog: Catalog; tenantId: string }> {
  const open: { close(): Promise<void> }[] = [];
  // Registered before the directory's removal, so that everything is closed first.
  t.after(async () => {
    for (const closable of open.reverse()) await closable.close();
  });
  const dir = tempDir(t, "delivery");
  const server = await startServer({
    dataDir: dir,
    listen: { host: "127.0.0.1", port: 0 },
    alertDelivery: { pollMs: 20, retry: FAST, ...alertDelivery },
  });
  open.push(server);
  const catalog = openSqliteCatalog(join(dir, "catalog.sqlite"));
  open.push(catalog);
  const tenant = await catalog.createTenant({ name: "acme", retentionDays: 30 }, new Date());
  return { catalog, tenantId: tenant.id };
}

/** Polls the catalog (the loop runs on its own schedule) until every delivery has ended. */
async function settled(catalog: Catalog, count: number) {
  for (;;) {
    const all = await catalog.listDeliveries({ limit: 100 });
    if (all.length >= count && all.every((d) => d.state !== "pending")) return all;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("alert delivery", () => {
  it("delivers an alert by signed webhook and by email over STARTTLS with a login", async (t) => {
    const hook = await startWebhookReceiver(SECRET, () => 204);
    const certificate = await makeCertificate();
    const smtp = await startSmtpReceiver(certificate, "rempart", "relay password");
    t.after(() => Promise.all([hook.close(), smtp.close()]));
    const { catalog, tenantId } = await serverWith(t, {
      destinations: [{ tenantId: null, kind: "webhook", target: hook.url, secret: SECRET }],
      smtp: {
        host: "127.0.0.1",
        port: smtp.port,
        security: "starttls",
        user: "rempart",
        password: "relay password",
        from: "alerts@msp.example",
        ca: certificate.cert,
      },
    });
    await catalog.addAlertDestination(
      { tenantId, kind: "email", target: "oncall@msp.example", secret: null },
      SYSTEM,
      new Date(),
    );
    const alert = await catalog.raiseAlert({ ...ALERT, tenantId }, SYSTEM, new Date());
    await Promise.all([hook.waitFor(1), smtp.waitFor(1)]);
    const deliveries = await settled(catalog, 2);

    const [request] = hook.received;
    assert.equal(request?.signatureValid, true);
    assert.equal(request?.body.alert.id, alert.id);
    assert.equal(request?.body.alert.tenant, "acme");
    assert.equal(request?.body.alert.message, ALERT.message);
    const webhook = deliveries.find((d) => d.kind === "webhook");
    assert.equal(request?.key, String(webhook?.id));

    const [mail] = smtp.received;
    assert.deepEqual(mail?.to, ["oncall@msp.example"]);
    assert.equal(mail?.from, "alerts@msp.example");
    assert.equal(mail?.user, "rempart");
    assert.equal(mail?.secure, true, "the message went over STARTTLS");
    assert.match(mail?.data ?? "", /Subject: \[Rempart high\] detection alert #\d+ for acme/);
    assert.match(mail?.data ?? "", /still calling in/);
    assert.deepEqual(deliveries.map((d) => [d.kind, d.state, d.attempts]).sort(), [
      ["email", "delivered", 1],
      ["webhook", "delivered", 1],
    ]);
  });

  it("retries a receiver that fails three times, and gives up on one that never succeeds", async (t) => {
    const flaky = await startWebhookReceiver(SECRET, (n) => (n < 3 ? 503 : 200));
    const broken = await startWebhookReceiver(SECRET, () => 500);
    t.after(() => Promise.all([flaky.close(), broken.close()]));
    const { catalog, tenantId } = await serverWith(t, {
      destinations: [
        { tenantId: null, kind: "webhook", target: flaky.url, secret: SECRET },
        { tenantId: null, kind: "webhook", target: broken.url, secret: SECRET },
      ],
    });
    await catalog.raiseAlert({ ...ALERT, tenantId }, SYSTEM, new Date());
    const deliveries = await settled(catalog, 2);
    const toFlaky = deliveries.find((d) => d.target === flaky.url);
    const toBroken = deliveries.find((d) => d.target === broken.url);
    assert.deepEqual([toFlaky?.state, toFlaky?.attempts], ["delivered", 4]);
    assert.deepEqual([toBroken?.state, toBroken?.attempts], ["failed", FAST.maxAttempts]);
    assert.match(toBroken?.lastError ?? "", /answered HTTP 500/);
    // Every attempt of one delivery carries the same key; the broken one stopped at the bound.
    assert.equal(flaky.received.length, 4);
    assert.deepEqual(new Set(flaky.received.map((r) => r.key)), new Set([String(toFlaky?.id)]));
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(broken.received.length, FAST.maxAttempts);
  });

  it("leaves a delivery cut by a server stop pending, and sends it again at the next start", async (t) => {
    const hook = await startWebhookReceiver(SECRET, (n) => (n === 0 ? "hang" : 200));
    const open: { close(): Promise<void> }[] = [hook];
    t.after(async () => {
      for (const closable of open.reverse()) await closable.close();
    });
    const dir = tempDir(t, "delivery-stop");
    const options = {
      dataDir: dir,
      listen: { host: "127.0.0.1", port: 0 },
      alertDelivery: {
        pollMs: 20,
        retry: FAST,
        destinations: [{ tenantId: null, kind: "webhook", target: hook.url, secret: SECRET }],
      },
    } as const;
    const first = await startServer(options);
    open.push(first);
    const catalog = openSqliteCatalog(join(dir, "catalog.sqlite"));
    open.push(catalog);
    const tenant = await catalog.createTenant({ name: "acme", retentionDays: 30 }, new Date());
    await catalog.raiseAlert({ ...ALERT, tenantId: tenant.id }, SYSTEM, new Date());
    await hook.waitFor(1);
    await first.close();
    const [cut] = await catalog.listDeliveries({ limit: 10 });
    assert.deepEqual([cut?.state, cut?.attempts], ["pending", 0]);

    open.push(await startServer(options));
    const [delivered] = await settled(catalog, 1);
    assert.deepEqual([delivered?.state, delivered?.attempts], ["delivered", 1]);
    assert.deepEqual(
      hook.received.map((r) => r.key),
      [String(cut?.id), String(cut?.id)],
    );
  });
});
