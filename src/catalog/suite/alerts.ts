/** Alerts: raised, listed, closed once (acknowledged or resolved), never removed. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { at, catalogPerTest, fixtures, hashOf, type OpenCatalog, refuses } from "./fixtures.js";

export function describeAlertConformance(open: OpenCatalog): void {
  describe("alerts", () => {
    const catalog = catalogPerTest(open);
    const { tenant, agent, admin, commit } = fixtures(catalog);

    const detector = { actor: { kind: "system", id: "detection" } } as const;

    it("raises an alert about an agent and a snapshot, lists it newest first, counts it open until acknowledged once, and audits both", async () => {
      const acme = await tenant("acme");
      const pc = await agent(acme);
      const snapshot = await commit(acme, pc, "flagged", [], at(10));
      const alice = await admin("alice");
      const raised = await catalog.raiseAlert(
        {
          tenantId: acme.id,
          agentId: pc.id,
          snapshotId: snapshot.id,
          kind: "detection",
          severity: "critical",
          message: "Ransomware suspected on fileserver.\n- 4,211 files lost their type",
          details: { score: 92 },
        },
        detector,
        at(20),
      );
      assert.deepEqual(raised, {
        id: raised.id,
        tenantId: acme.id,
        agentId: pc.id,
        snapshotId: snapshot.id,
        kind: "detection",
        severity: "critical",
        message: "Ransomware suspected on fileserver.\n- 4,211 files lost their type",
        details: { score: 92 },
        createdAt: at(20),
        acknowledgedBy: null,
        acknowledgedAt: null,
        acknowledgeReason: null,
        resolvedBy: null,
        resolvedAt: null,
        resolveReason: null,
      });
      const second = await catalog.raiseAlert(
        { ...raised, severity: "warning", message: "Suspicious backup", details: {} },
        detector,
        at(30),
      );
      assert.deepEqual(
        (await catalog.listAlerts({ limit: 10 })).map((a) => a.id),
        [second.id, raised.id],
      );
      assert.deepEqual(await catalog.openAlertCounts(), new Map([[acme.id, 2]]));
      assert.deepEqual(await catalog.getAlert(raised.id), raised);

      const acked = await catalog.acknowledgeAlert(
        raised.id,
        alice.id,
        "restored from the held snapshot; machine reinstalled",
        { actor: { kind: "operator", id: alice.id } },
        at(40),
      );
      assert.equal(acked.acknowledgedBy, alice.id);
      assert.equal(acked.acknowledgedAt?.getTime(), at(40).getTime());
      assert.equal(acked.acknowledgeReason, "restored from the held snapshot; machine reinstalled");
      assert.deepEqual(await catalog.getAlert(raised.id), acked);
      assert.deepEqual(await catalog.openAlertCounts(), new Map([[acme.id, 1]]));
      assert.deepEqual(
        (await catalog.listAlerts({ open: true, limit: 10 })).map((a) => a.id),
        [second.id],
      );
      // Acknowledged once: a second acknowledgement is refused and changes nothing.
      await refuses(
        catalog.acknowledgeAlert(raised.id, alice.id, "again", detector, at(50)),
        "ObjectConflict",
        "already-acknowledged",
      );
      assert.deepEqual(await catalog.getAlert(raised.id), acked);

      const audit = (await catalog.listAudit({ tenantId: acme.id, limit: 10 })).reverse();
      assert.deepEqual(
        audit.map((e) => [e.action, e.actor.id, e.details.alert_id]),
        [
          ["alert.raise", "detection", raised.id],
          ["alert.raise", "detection", second.id],
          ["alert.acknowledge", alice.id, raised.id],
        ],
      );
      assert.equal(
        audit[2]?.details.reason,
        "restored from the held snapshot; machine reinstalled",
      );
      assert.equal(audit[2]?.details.username, "alice");
    });

    it("resolves a condition alert by the system once, audited, closed for good and no longer open", async () => {
      const acme = await tenant("acme");
      const pc = await agent(acme);
      const alice = await admin("alice");
      const system = { actor: { kind: "system", id: "alerts" } } as const;
      const condition = (kind: "backup-stale" | "backup-failing" | "quota", now: number) =>
        catalog.raiseAlert(
          {
            tenantId: acme.id,
            agentId: kind === "quota" ? null : pc.id,
            snapshotId: null,
            kind,
            severity: "warning",
            message: `${kind} on pc`,
          },
          system,
          at(now),
        );
      const stale = await condition("backup-stale", 10);
      const failing = await condition("backup-failing", 11);
      const ransomware = await catalog.raiseAlert(
        { ...stale, kind: "detection", severity: "critical", message: "ransomware" },
        detector,
        at(12),
      );
      assert.deepEqual(await catalog.openAlertCounts(), new Map([[acme.id, 3]]));

      const reason = "a backup of pc committed at 2026-12-01T10:00:00.000Z, within its RPO of 24 h";
      const resolved = await catalog.resolveAlert(stale.id, reason, system, at(20));
      assert.deepEqual(resolved, {
        ...stale,
        resolvedBy: "system",
        resolvedAt: at(20),
        resolveReason: reason,
      });
      assert.deepEqual(await catalog.getAlert(stale.id), resolved);
      assert.deepEqual(await catalog.openAlertCounts(), new Map([[acme.id, 2]]));
      assert.deepEqual(
        (await catalog.listAlerts({ open: true, limit: 10 })).map((a) => a.id),
        [ransomware.id, failing.id],
      );
      // History: listed with every alert, newest first.
      assert.deepEqual(
        (await catalog.listAlerts({ limit: 10 })).map((a) => a.id),
        [ransomware.id, failing.id, stale.id],
      );

      // Closed once, one way: neither a second resolution nor an acknowledgement changes it.
      await refuses(
        catalog.resolveAlert(stale.id, "again", system, at(30)),
        "ObjectConflict",
        "already-resolved",
      );
      await refuses(
        catalog.acknowledgeAlert(stale.id, alice.id, "seen", detector, at(30)),
        "ObjectConflict",
        "already-resolved",
      );
      await catalog.acknowledgeAlert(failing.id, alice.id, "disk replaced", detector, at(31));
      await refuses(
        catalog.resolveAlert(failing.id, "backup succeeded", system, at(32)),
        "ObjectConflict",
        "already-acknowledged",
      );
      // A person decides about ransomware: the system cannot close it.
      await refuses(
        catalog.resolveAlert(ransomware.id, "looks fine now", system, at(33)),
        "ObjectConflict",
        "operator-only",
      );
      // Resolving is the system's: an operator acknowledges instead.
      const quota = await condition("quota", 34);
      await refuses(
        catalog.resolveAlert(quota.id, "ok", { actor: { kind: "operator", id: alice.id } }, at(35)),
        "InvalidArgument",
      );
      for (const bad of ["", "two\nlines", "x".repeat(1001)])
        await refuses(catalog.resolveAlert(quota.id, bad, system, at(35)), "InvalidArgument");
      await refuses(catalog.resolveAlert(quota.id + 1, "ok", system, at(35)), "NotFound");
      assert.deepEqual(await catalog.getAlert(ransomware.id), ransomware);
      assert.deepEqual(await catalog.getAlert(quota.id), quota);

      const audit = await catalog.listAudit({ tenantId: acme.id, limit: 100 });
      const resolutions = audit.filter((e) => e.action === "alert.resolve");
      assert.deepEqual(
        resolutions.map((e) => [e.actor, e.details]),
        [
          [
            { kind: "system", id: "alerts" },
            {
              alert_id: stale.id,
              kind: "backup-stale",
              severity: "warning",
              agent_id: pc.id,
              resolved_by: "system",
              reason,
            },
          ],
        ],
      );
    });

    it("lists one tenant's alerts only, and keeps the tenant's alerts apart from another's", async () => {
      const acme = await tenant("acme");
      const other = await tenant("other");
      const alert = (owner: typeof acme, message: string, now: number) =>
        catalog.raiseAlert(
          {
            tenantId: owner.id,
            agentId: null,
            snapshotId: null,
            kind: "detection",
            severity: "warning",
            message,
          },
          detector,
          at(now),
        );
      await alert(acme, "a", 1);
      await alert(other, "b", 2);
      await alert(acme, "c", 3);
      assert.deepEqual(
        (await catalog.listAlerts({ tenantId: acme.id, limit: 10 })).map((a) => a.message),
        ["c", "a"],
      );
      assert.deepEqual(
        (await catalog.listAlerts({ tenantId: acme.id, limit: 1 })).map((a) => a.message),
        ["c"],
      );
      // The cursor: alerts older than the last one of the previous page.
      const [newest] = await catalog.listAlerts({ tenantId: acme.id, limit: 1 });
      assert.deepEqual(
        (await catalog.listAlerts({ tenantId: acme.id, beforeId: newest?.id ?? 0, limit: 10 })).map(
          (a) => a.message,
        ),
        ["a"],
      );
      assert.deepEqual(
        (await catalog.listAlerts({ beforeId: newest?.id ?? 0, limit: 10 })).map((a) => a.message),
        ["b", "a"],
      );
      assert.deepEqual(
        await catalog.openAlertCounts(),
        new Map([
          [acme.id, 2],
          [other.id, 1],
        ]),
      );
    });

    it("refuses alerts about another tenant's agent or snapshot, unknown kinds and severities, bad messages and reasons", async () => {
      const acme = await tenant("acme");
      const other = await tenant("other");
      const stranger = await agent(other);
      const theirs = await commit(other, stranger, "theirs", [], at(1));
      const alice = await admin("alice");
      const base = {
        tenantId: acme.id,
        agentId: null,
        snapshotId: null,
        kind: "detection",
        severity: "warning",
        message: "m",
      } as const;
      const raise = (changes: Record<string, unknown>) =>
        catalog.raiseAlert({ ...base, ...changes } as typeof base, detector, at(2));
      await refuses(raise({ agentId: stranger.id }), "NotFound");
      await refuses(raise({ snapshotId: theirs.id }), "NotFound");
      await refuses(raise({ snapshotId: hashOf("nothing") }), "NotFound");
      await refuses(raise({ tenantId: "no-such-tenant" }), "NotFound");
      await refuses(raise({ kind: "weather" }), "InvalidArgument");
      await refuses(raise({ severity: "meh" }), "InvalidArgument");
      await refuses(raise({ message: "" }), "InvalidArgument");
      await refuses(raise({ message: "bell\u0007" }), "InvalidArgument");
      await refuses(raise({ message: "x".repeat(4001) }), "InvalidArgument");
      assert.deepEqual(await catalog.listAlerts({ limit: 10 }), []);
      assert.deepEqual(await catalog.listAudit({ limit: 10 }), []);

      const alert = await raise({});
      for (const reason of ["", "two\nlines", "x".repeat(1001)])
        await refuses(
          catalog.acknowledgeAlert(alert.id, alice.id, reason, detector, at(3)),
          "InvalidArgument",
        );
      await refuses(
        catalog.acknowledgeAlert(alert.id, "no-such-operator", "ok", detector, at(3)),
        "NotFound",
      );
      await refuses(
        catalog.acknowledgeAlert(alert.id + 1, alice.id, "ok", detector, at(3)),
        "NotFound",
      );
      assert.equal((await catalog.getAlert(alert.id))?.acknowledgedAt, null);
      assert.equal(await catalog.getAlert(alert.id + 1), undefined);
    });
  });
}
