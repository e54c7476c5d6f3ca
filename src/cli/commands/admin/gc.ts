import { collectGarbage } from "../../../server/admin.js";
import { DEFAULT_GRACE_MS, type GcReport, withGcLock } from "../../../server/gc/gc.js";
import { describeDelay } from "../../../server/offboarding/plan.js";
import type { Command } from "../../command.js";
import { EXIT } from "../../exit-codes.js";
import { formatBytes, type Output } from "../../output.js";
import { parseDuration } from "../../units.js";
import { ONE_TENANT_OPTION, withDataDir } from "./session.js";

function printGc(output: Output, report: GcReport): void {
  const verb = report.dryRun ? "would free" : "freed";
  output.line(
    `tenant ${report.tenant.name}: ${verb} ${report.packs} unreferenced pack(s), ${formatBytes(report.bytes)}; ${report.strayFiles} stray file(s), ${formatBytes(report.strayBytes)}${report.restored > 0 ? `; put back ${report.restored} re-uploaded pack(s)` : ""}`,
  );
}

export const gcCommand: Command = {
  name: "gc",
  summary: "free the packs no kept snapshot references, once unreferenced for the grace period",
  usage: "rempart admin gc [--tenant NAME] [--grace 24h] [--dry-run]",
  options: {
    tenant: ONE_TENANT_OPTION,
    grace: {
      type: "string",
      value: "DURATION",
      help: `spare packs younger than this, a backup may still reference them (default: ${describeDelay(DEFAULT_GRACE_MS)})`,
    },
    "dry-run": { type: "boolean", help: "say what would be freed; free nothing" },
  },
  run: withDataDir(async (context, admin) => {
    const { output } = context;
    const grace = context.string("grace");
    const graceMs = grace === undefined ? DEFAULT_GRACE_MS : parseDuration(grace, "--grace");
    const dryRun = context.flag("dry-run");
    const run = () =>
      admin
        .actor()
        .then((who) =>
          collectGarbage(admin.ctx, who, { tenantName: context.string("tenant"), dryRun, graceMs }),
        );
    const reports = dryRun ? await run() : await withGcLock(admin.dataDir, run);
    if (output.json)
      output.object(
        reports.map((r) => ({
          tenant: r.tenant.name,
          dry_run: r.dryRun,
          packs: r.packs,
          bytes: r.bytes,
          stray_files: r.strayFiles,
          stray_bytes: r.strayBytes,
          restored: r.restored,
        })),
      );
    else for (const report of reports) printGc(output, report);
    return EXIT.ok;
  }),
};
