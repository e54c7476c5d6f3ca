/**
 * A server killed between recording a flagged commit and responding to it: the alert job finds
 * the flagged snapshot without its alert and holds and alerts as the commit route would have,
 * once, and never doubles a response the route made or may still be making.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import type { Agent, Catalog, SnapshotDetection, Tenant } from "../../catalog/catalog.js";
import { openSqliteCatalog } from "../../catalog/sqlite/catalog.js";
import { at, DAY, fixtures, hashOf, MINUTE } from "../../catalog/suite/fixtures.js";
import { raiseBackupAlerts } from "../jobs/alerts-job.js";
import { LOOKBACK_MS, respondToMissed, SETTLE_MS } from "./missed-responses.js";
import { respondToVerdict } from "./response.js";

function detection(verdict: SnapshotDetection["verdict"]): SnapshotDetection {
  return {
    verdict,
    score: verdict === "ok" ? 0 : 91,
    reasons: verdict === "ok" ? [] : ["590 of 620 changed files renamed to .locked"],
    signals: {},
  };
}

async function withCatalog(test: (catalog: Catalog) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "rempart-missed-"));
  const catalog = openSqliteCatalog(join(dir, "catalog.db"));
  try {
    await test(catalog);
  } finally {
    await catalog.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** A commit recorded as the route records it, with no response after it (the crash). */
async function recordCommit(
  catalog: Catalog,
  tenant: Tenant,
  agent: Agent,
  label: string,
  verdict: SnapshotDetection["verdict"],
  now: Date,
) {
  const id = hashOf(label);
  await catalog.recordObject(
    { tenantId: tenant.id, kind: "snapshots", name: id, size: 300, createdByAgent: agent.id },
    now,
  );
  return catalog.recordSnapshot(
    {
      tenantId: tenant.id,
      id,
      agentId: agent.id,
      claimedTime: now,
      packs: [],
      detection: detection(verdict),
    },
    now,
  );
}

async function detectionAlerts(catalog: Catalog, tenant: Tenant) {
  return (await catalog.listAlerts({ tenantId: tenant.id, limit: 100 })).filter(
    (a) => a.kind === "detection",
  );
}

describe("detection responses a crash lost", () => {
  it("are made by the alert job once the commit has settled: the restore point held, one alert", async () => {
    await withCatalog(async (catalog) => {
      const { tenant, agent } = fixtures(catalog);
      const acme = await tenant("acme");
      const pc = await agent(acme);
      const good = await recordCommit(catalog, acme, pc, "monday", "ok", at(DAY));
      const bad = await recordCommit(catalog, acme, pc, "tuesday", "ransomware", at(2 * DAY));
      const snapshots = () => catalog.listSnapshots(acme.id);

      // Too fresh: the route may still be responding.
      const early = at(2 * DAY + SETTLE_MS - MINUTE);
      assert.equal(await respondToMissed(catalog, acme, await snapshots(), early), 0);
      assert.equal((await detectionAlerts(catalog, acme)).length, 0);

      const outcome = await raiseBackupAlerts(catalog, at(2 * DAY + SETTLE_MS));
      assert.equal(outcome.counts.detection_responses, 1);
      const [alert, ...others] = await detectionAlerts(catalog, acme);
      assert.equal(others.length, 0);
      assert.equal(alert?.snapshotId, bad.id);
      assert.equal(alert?.severity, "critical");
      assert.equal(alert?.details.held_snapshot_id, good.id);
      assert.equal((await catalog.getSnapshot(acme.id, good.id))?.state, "held");

      // Made once: later runs find the alert.
      const later = await raiseBackupAlerts(catalog, at(2 * DAY + 30 * MINUTE));
      assert.equal(later.counts.detection_responses, 0);
      assert.equal((await detectionAlerts(catalog, acme)).length, 1);
    });
  });

  it("leave alone a response the route made, an ok commit, and a flagged commit older than the look-back", async () => {
    await withCatalog(async (catalog) => {
      const { tenant, agent } = fixtures(catalog);
      const acme = await tenant("acme");
      const pc = await agent(acme);
      await recordCommit(catalog, acme, pc, "long ago", "suspicious", at(0));
      const ok = await recordCommit(catalog, acme, pc, "monday", "ok", at(LOOKBACK_MS + DAY));
      const answered = await recordCommit(
        catalog,
        acme,
        pc,
        "tuesday",
        "ransomware",
        at(LOOKBACK_MS + 2 * DAY),
      );
      const now = at(LOOKBACK_MS + 2 * DAY);
      const responder = { catalog, now: () => now };
      await respondToVerdict(responder, acme, pc, answered, [ok]);
      const later = at(LOOKBACK_MS + 3 * DAY);
      assert.equal(
        await respondToMissed(catalog, acme, await catalog.listSnapshots(acme.id), later),
        0,
      );
      assert.equal((await detectionAlerts(catalog, acme)).length, 1);
    });
  });
});
