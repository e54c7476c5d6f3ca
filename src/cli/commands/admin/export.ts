import { exportTenant } from "../../../server/export/export.js";
import { withGcLock } from "../../../server/gc/gc.js";
import type { Command } from "../../command.js";
import { EXIT } from "../../exit-codes.js";
import { formatBytes } from "../../output.js";
import { TENANT_ARGUMENT, withDataDir } from "./session.js";

export const exportCommand: Command = {
  name: "export",
  summary:
    "write a tenant's repository to a new directory as a plain local repository its client opens with its own password",
  usage: "rempart admin export NAME --to DIR",
  arguments: [TENANT_ARGUMENT],
  options: {
    to: {
      type: "string",
      value: "DIR",
      required: true,
      help: "where to write it: a new or empty directory",
    },
  },
  run: withDataDir(async (context, admin) => {
    const { output } = context;
    const name = context.argument(0);
    const to = context.required("to");
    const { audit } = await admin.actor();
    // Under the maintenance lock: GC, prune and deletions remove nothing while objects are copied.
    const report = await withGcLock(admin.dataDir, () =>
      exportTenant(admin.ctx, audit, name, to, admin.now),
    );
    if (output.json)
      output.object({
        tenant: report.tenant,
        target: report.target,
        objects: report.objects,
        bytes: report.bytes,
        by_kind: report.byKind,
      });
    else {
      output.line(
        `exported tenant ${report.tenant}: ${report.objects} object(s), ${formatBytes(report.bytes)}, each checked, to ${report.target}`,
      );
      output.line(
        `the client opens it with its own password: rempart snapshots --repo ${report.target}`,
      );
    }
    return EXIT.ok;
  }),
};
