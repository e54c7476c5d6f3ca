/**
 * The embedded catalog: one SQLite file (db.ts), one part per concept, all on one connection so
 * that a method spanning concepts is still one transaction.
 */
import type { Catalog } from "../catalog.js";
import { composeCatalog } from "../compose.js";
import { SqliteAgents } from "./agents.js";
import { SqliteAlerts } from "./alerts.js";
import { SqliteAudit } from "./audit.js";
import { SqliteDb } from "./db.js";
import { SqliteDelivery } from "./delivery.js";
import { SqliteDrills } from "./drills.js";
import { SqliteObjects } from "./objects.js";
import { SqliteOffboarding } from "./offboarding.js";
import { SqliteOperators } from "./operators.js";
import { SqlitePacks } from "./packs.js";
import { SqliteQuarantines } from "./quarantines.js";
import { SqliteRetention } from "./retention.js";
import { SqliteSnapshots } from "./snapshots.js";
import { SqliteTenants } from "./tenants.js";

/** Opens the catalog at path, creating the file and bringing its schema up to date. */
export function openSqliteCatalog(path: string): Catalog {
  const db = SqliteDb.open(path);
  return composeCatalog(
    {
      tenants: new SqliteTenants(db),
      operators: new SqliteOperators(db),
      agents: new SqliteAgents(db),
      objects: new SqliteObjects(db),
      snapshots: new SqliteSnapshots(db),
      retention: new SqliteRetention(db),
      packs: new SqlitePacks(db),
      quarantines: new SqliteQuarantines(db),
      offboarding: new SqliteOffboarding(db),
      alerts: new SqliteAlerts(db),
      audit: new SqliteAudit(db),
      drills: new SqliteDrills(db),
      delivery: new SqliteDelivery(db),
    },
    async () => db.close(),
  );
}
