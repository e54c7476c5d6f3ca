/**
 * The behaviour every Catalog must show, as node:test suites, one per concept (suite/), each run
 * against a fresh, empty catalog per test. The server may rely on exactly what is proven here; a
 * new implementation (PostgreSQL) calls this with a function that opens one of its catalogs.
 */
import { describe } from "node:test";
import { describeAgentConformance } from "./suite/agents.js";
import { describeAlertConformance } from "./suite/alerts.js";
import { describeAuditConformance } from "./suite/audit.js";
import { describeDeliveryConformance } from "./suite/delivery.js";
import { describeDrillConformance } from "./suite/drills.js";
import type { OpenCatalog } from "./suite/fixtures.js";
import { describeObjectConformance } from "./suite/objects.js";
import { describeOffboardingConformance } from "./suite/offboarding.js";
import { describeOperatorConformance } from "./suite/operators.js";
import { describePackConformance } from "./suite/packs.js";
import { describeQuarantineConformance } from "./suite/quarantines.js";
import { describeRetentionConformance } from "./suite/retention.js";
import { describeSnapshotConformance } from "./suite/snapshots.js";
import { describeTenantConformance } from "./suite/tenants.js";

export function describeCatalogConformance(name: string, open: OpenCatalog): void {
  describe(`${name} behaves as a Catalog`, () => {
    describeTenantConformance(open);
    describeOperatorConformance(open);
    describeAgentConformance(open);
    describeObjectConformance(open);
    describeSnapshotConformance(open);
    describeRetentionConformance(open);
    describePackConformance(open);
    describeQuarantineConformance(open);
    describeOffboardingConformance(open);
    describeAlertConformance(open);
    describeAuditConformance(open);
    describeDrillConformance(open);
    describeDeliveryConformance(open);
  });
}
