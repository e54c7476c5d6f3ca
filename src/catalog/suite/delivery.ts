/** Alert destinations and the outbox. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { NewAlertDestination } from "../delivery.js";
import {
  at,
  catalogPerTest,
  DAY,
  fixtures,
  MINUTE,
  type OpenCatalog,
  refuses,
} from "./fixtures.js";

export function describeDeliveryConformance(open: OpenCatalog): void {
  describe("alert delivery", () => {
    const catalog = catalogPerTest(open);
    const { tenant } = fixtures(catalog);
    const system = { actor: { kind: "system", id: "test" } } as const;
    const hook = (tenantId: string | null, target = "https://hooks.example.com/a") =>
      ({ tenantId, kind: "webhook", target, secret: "hook-secret-never-shown" }) as const;
    const mail = (tenantId: string | null, target = "oncall@msp.example") =>
      ({ tenantId, kind: "email", target, secret: null }) as const;
    const raise = (tenantId: string, now: number) =>
      catalog.raiseAlert(
        {
          tenantId,
          agentId: null,
          snapshotId: null,
          kind: "detection",
          severity: "high",
          message: "m",
        },
        system,
        at(now),
      );

    it("queues each alert, with the alert, for the destinations in force for its tenant", async () => {
      const acme = await tenant("acme");
      const other = await tenant("other");
      const mine = await catalog.addAlertDestination(hook(acme.id), system, at(1));
      const everyone = await catalog.addAlertDestination(mail(null), system, at(1));
      await catalog.addAlertDestination(hook(other.id), system, at(1));
      const gone = await catalog.addAlertDestination(
        mail(acme.id, "old@msp.example"),
        system,
        at(1),
      );
      await catalog.removeAlertDestination(gone.id, system, at(2));

      const alert = await raise(acme.id, 10);
      const queued = await catalog.listDeliveries({ tenantId: acme.id, limit: 10 });
      assert.deepEqual(
        queued.map((d) => [d.alertId, d.destinationId, d.state, d.attempts]).sort(),
        [
          [alert.id, everyone.id, "pending", 0],
          [alert.id, mine.id, "pending", 0],
        ].sort(),
      );
      const due = await catalog.dueDeliveries(at(10), 10);
      assert.deepEqual(
        due.map((d) => d.alert),
        [alert, alert],
      );
      assert.deepEqual(
        due.map((d) => [d.tenantName, d.secret]).sort(),
        [
          ["acme", "hook-secret-never-shown"],
          ["acme", null],
        ].sort(),
      );
      assert.deepEqual(
        (await catalog.listAlertDestinations({ tenantId: acme.id })).map((d) => d.id).sort(),
        [mine.id, everyone.id].sort(),
      );
      const shown = JSON.stringify([
        await catalog.listAlertDestinations({}),
        await catalog.listDeliveries({ limit: 10 }),
        await catalog.listAudit({ limit: 100 }),
      ]);
      assert.ok(!shown.includes("hook-secret-never-shown"));
    });

    it("queues a resolved notice where the raise went, for the destinations still in force", async () => {
      const acme = await tenant("acme");
      const kept = await catalog.addAlertDestination(hook(acme.id), system, at(1));
      const removed = await catalog.addAlertDestination(mail(acme.id), system, at(1));
      const alert = await catalog.raiseAlert(
        {
          tenantId: acme.id,
          agentId: null,
          snapshotId: null,
          kind: "quota",
          severity: "warning",
          message: "acme stores 95 % of its quota",
        },
        system,
        at(10),
      );
      const raised = await catalog.dueDeliveries(at(10), 10);
      for (const delivery of raised)
        await catalog.recordDeliveryAttempt(delivery.id, { state: "delivered" }, at(11));
      await catalog.removeAlertDestination(removed.id, system, at(12));
      // Added after the raise: it never heard of the alert, so it hears nothing of its end.
      await catalog.addAlertDestination(mail(acme.id, "late@msp.example"), system, at(13));

      const resolved = await catalog.resolveAlert(alert.id, "acme stores 40 %", system, at(20));
      const due = await catalog.dueDeliveries(at(20), 10);
      assert.deepEqual(
        due.map((d) => [d.alertId, d.destinationId, d.event, d.state]),
        [[alert.id, kept.id, "resolve", "pending"]],
      );
      assert.deepEqual(due[0]?.alert, resolved);
      assert.ok(
        raised.every((d) => d.id !== due[0]?.id),
        "a notice of its own: its own idempotency key",
      );
      assert.deepEqual(
        (await catalog.listDeliveries({ tenantId: acme.id, limit: 10 })).map((d) => d.event).sort(),
        ["raise", "raise", "resolve"],
      );
    });

    it("records attempts: a retry waits for its time, delivered and failed are final", async () => {
      const acme = await tenant("acme");
      await catalog.addAlertDestination(hook(acme.id), system, at(0));
      await raise(acme.id, MINUTE);
      const [delivery] = await catalog.dueDeliveries(at(MINUTE), 10);
      assert.ok(delivery !== undefined);
      const retry = await catalog.recordDeliveryAttempt(
        delivery.id,
        { state: "retry", error: "refused\nconnection", retryAt: at(3 * MINUTE) },
        at(MINUTE),
      );
      assert.deepEqual(
        [retry.state, retry.attempts, retry.lastError, retry.nextAttemptAt],
        ["pending", 1, "refused connection", at(3 * MINUTE)],
      );
      assert.deepEqual(await catalog.dueDeliveries(at(2 * MINUTE), 10), []);
      assert.equal((await catalog.dueDeliveries(at(3 * MINUTE), 10)).length, 1);
      const done = await catalog.recordDeliveryAttempt(
        delivery.id,
        { state: "delivered" },
        at(3 * MINUTE),
      );
      assert.deepEqual(
        [done.state, done.attempts, done.deliveredAt, done.nextAttemptAt],
        ["delivered", 2, at(3 * MINUTE), null],
      );
      await refuses(
        catalog.recordDeliveryAttempt(delivery.id, { state: "failed", error: "x" }, at(4 * MINUTE)),
        "ObjectConflict",
        "delivery-final",
      );
      await refuses(
        catalog.recordDeliveryAttempt(delivery.id + 1, { state: "delivered" }, at(4 * MINUTE)),
        "NotFound",
      );
      assert.deepEqual(await catalog.dueDeliveries(at(DAY), 10), []);
      assert.equal((await catalog.listDeliveries({ state: "delivered", limit: 10 })).length, 1);
    });

    it("ends a removed destination's pending deliveries failed, audited without its secret", async () => {
      const acme = await tenant("acme");
      const destination = await catalog.addAlertDestination(hook(acme.id), system, at(0));
      await raise(acme.id, 1);
      const removed = await catalog.removeAlertDestination(destination.id, system, at(2));
      assert.equal(removed.removedAt?.getTime(), at(2).getTime());
      const [ended] = await catalog.listDeliveries({ limit: 10 });
      assert.deepEqual([ended?.state, ended?.lastError], ["failed", "the destination was removed"]);
      assert.deepEqual(await catalog.dueDeliveries(at(3), 10), []);
      await refuses(catalog.removeAlertDestination(destination.id, system, at(3)), "NotFound");
      const audit = await catalog.listAudit({ tenantId: acme.id, limit: 10 });
      assert.deepEqual(
        audit.filter((e) => e.action.startsWith("alert.destination")).map((e) => e.details),
        [
          {
            destination_id: destination.id,
            kind: "webhook",
            target: "https://hooks.example.com/a",
            origin: "admin",
            pending_abandoned: 1,
          },
          {
            destination_id: destination.id,
            kind: "webhook",
            target: "https://hooks.example.com/a",
            origin: "admin",
          },
        ],
      );
    });

    it("makes the configured destinations exactly the given ones, changing only what differs", async () => {
      const a = hook(null, "https://a.example.com/");
      const b = mail(null, "b@example.com");
      await catalog.setConfiguredDestinations([a, b], system, at(1));
      const first = await catalog.listAlertDestinations({});
      await catalog.setConfiguredDestinations([a, b], system, at(2));
      assert.deepEqual(await catalog.listAlertDestinations({}), first);
      const c: NewAlertDestination = { ...a, secret: "rotated" };
      await catalog.setConfiguredDestinations([c], system, at(3));
      const now = await catalog.listAlertDestinations({});
      assert.deepEqual(
        now.map((d) => [d.kind, d.target, d.origin]),
        [["webhook", "https://a.example.com/", "config"]],
      );
      assert.ok(!first.some((d) => d.id === now[0]?.id), "a new secret is a new destination");
      // An operator's destination is not the configuration's to remove.
      const acme = await tenant("acme");
      await catalog.addAlertDestination(hook(acme.id), system, at(4));
      await catalog.setConfiguredDestinations([], system, at(5));
      assert.deepEqual(
        (await catalog.listAlertDestinations({})).map((d) => d.origin),
        ["admin"],
      );
    });

    it("refuses destinations that are not http(s) webhooks with a secret or email addresses", async () => {
      const acme = await tenant("acme");
      for (const bad of [
        hook(acme.id, "file:///etc/passwd"),
        hook(acme.id, "gopher://example.com/"),
        hook(acme.id, "javascript:alert(1)"),
        hook(acme.id, "https://user:password@example.com/"),
        hook(acme.id, "not a url"),
        { ...hook(acme.id), secret: null },
        { ...hook(acme.id), secret: "" },
        mail(acme.id, "no-at-sign"),
        mail(acme.id, "two@@example.com"),
        mail(acme.id, "bell\u0007@example.com"),
        { ...mail(acme.id), secret: "x" },
      ])
        await refuses(catalog.addAlertDestination(bad, system, at(1)), "InvalidArgument");
      await refuses(catalog.addAlertDestination(hook("no-such-tenant"), system, at(1)), "NotFound");
      assert.deepEqual(await catalog.listAlertDestinations({}), []);
    });
  });
}
