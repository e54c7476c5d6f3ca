import { withGcLock } from "../../../server/gc/gc.js";
import {
  cancelTenantDeletion,
  type DeletionReport,
  requestTenantDeletion,
  runDeletions,
} from "../../../server/offboarding/offboarding.js";
import {
  DEFAULT_DELETION_DELAY_MS,
  describeDelay,
  MIN_DELETION_DELAY_MS,
} from "../../../server/offboarding/plan.js";
import type { DeletionView } from "../../../server/offboarding/view.js";
import type { Command } from "../../command.js";
import { EXIT } from "../../exit-codes.js";
import type { Output } from "../../output.js";
import { parseDuration } from "../../units.js";
import { day, TENANT_ARGUMENT, withDataDir } from "./session.js";

export function printDeletion(output: Output, deletion: DeletionView): void {
  const why =
    deletion.reason === "immutability" ? "end of the immutability window" : "end of the delay";
  output.line(
    `deletion #${deletion.id}: requested by ${deletion.requested_by} at ${day(deletion.requested_at)}, due at ${day(deletion.due_at)} UTC (${why})`,
  );
  if (deletion.completed_at !== null) output.line(`  completed at ${day(deletion.completed_at)}`);
  else if (deletion.cancelled_at !== null)
    output.line(`  cancelled by ${deletion.cancelled_by} at ${day(deletion.cancelled_at)}`);
  else if (deletion.started_at !== null)
    output.line(`  started at ${day(deletion.started_at)}: no longer cancellable`);
  else
    output.line(
      `  cancellable until ${day(deletion.cancellable_until)} UTC by an admin other than ${deletion.requested_by}`,
    );
}

function printDeletionRun(output: Output, report: DeletionReport): void {
  output.line(
    `tenant ${report.tenant} (deletion #${report.deletionId}): ${report.outcome}: ${report.reason}`,
  );
}

export const deleteCommand: Command = {
  name: "delete",
  summary:
    "schedule a tenant's deletion: its agents are refused at once, its data deleted after the delay and every immutability window",
  usage: "rempart admin tenant delete NAME --requested-by ADMIN [--delay 72h]",
  arguments: [TENANT_ARGUMENT],
  options: {
    "requested-by": {
      type: "string",
      value: "ADMIN",
      required: true,
      help: "the admin operator asking; another admin may cancel until it is due",
    },
    delay: {
      type: "string",
      value: "DURATION",
      help: `how long a second admin has to cancel (default: ${describeDelay(DEFAULT_DELETION_DELAY_MS)}, at least ${describeDelay(MIN_DELETION_DELAY_MS)})`,
    },
  },
  run: withDataDir(async (context, admin) => {
    const { output } = context;
    const name = context.argument(0);
    const delay = context.string("delay");
    const scheduled = await requestTenantDeletion(admin.ctx, await admin.actor(), name, {
      requestedBy: context.required("requested-by"),
      delayMs: delay === undefined ? undefined : parseDuration(delay, "--delay"),
    });
    if (output.json) {
      output.object(scheduled);
      return EXIT.ok;
    }
    const { deletion, plan } = scheduled;
    output.line(
      `tenant ${name} is now offboarding: its agents are refused and their credentials revoked (a new enrollment is needed even if the deletion is cancelled)`,
    );
    output.line(
      deletion.reason === "immutability"
        ? `its data will be deleted at ${day(deletion.due_at)} UTC, when the last snapshot's immutability window ends (the delay alone would end at ${day(plan.delay_ends_at)} UTC)`
        : `its data will be deleted at ${day(deletion.due_at)} UTC, at the end of the ${describeDelay(Date.parse(deletion.due_at) - Date.parse(deletion.requested_at))} delay${plan.immutable_until === null ? "" : ` (the last immutability window ends at ${day(plan.immutable_until)} UTC)`}`,
    );
    output.line(
      `requested by ${deletion.requested_by}; another admin can cancel it until then: rempart admin tenant cancel-delete ${name} --by OTHER_ADMIN`,
    );
    if (plan.held_snapshots > 0)
      output.warn(
        `warning: ${plan.held_snapshots} snapshot(s) are held; the deletion will not run until their holds are released`,
      );
    return EXIT.ok;
  }),
};

export const cancelDeleteCommand: Command = {
  name: "cancel-delete",
  summary: "cancel a scheduled deletion (an admin other than the one who asked for it)",
  usage: "rempart admin tenant cancel-delete NAME --by OTHER_ADMIN",
  arguments: [TENANT_ARGUMENT],
  options: {
    by: {
      type: "string",
      value: "ADMIN",
      required: true,
      help: "the admin operator cancelling (two-person rule)",
    },
  },
  run: withDataDir(async (context, admin) => {
    const { output } = context;
    const name = context.argument(0);
    const cancelled = await cancelTenantDeletion(
      admin.ctx,
      await admin.actor(),
      name,
      context.required("by"),
    );
    if (output.json) output.object(cancelled);
    else {
      output.line(
        `cancelled the deletion of ${name} requested by ${cancelled.deletion.requested_by}; the tenant is active again`,
      );
      output.line(
        `its agents stay revoked: enroll them again (rempart admin enroll-token ${name} --expires 24h)`,
      );
    }
    return EXIT.ok;
  }),
};

export const runDeletionsCommand: Command = {
  name: "run-deletions",
  summary:
    "run the tenant deletions that are due (from cron, e.g. hourly); exits 1 while one is blocked",
  usage: "rempart admin run-deletions [--dry-run]",
  options: { "dry-run": { type: "boolean", help: "say what would be deleted; delete nothing" } },
  run: withDataDir(async (context, admin) => {
    const { output } = context;
    const { now } = admin;
    const dryRun = context.flag("dry-run");
    const job = () =>
      admin.actor().then((who) => runDeletions(admin.ctx, { now, dryRun, actor: who.audit }));
    // One destructive job at a time per data directory: GC would recreate a store being removed.
    const reports = dryRun ? await job() : await withGcLock(admin.dataDir, job);
    if (output.json)
      output.object(
        reports.map((r) => ({
          tenant: r.tenant,
          deletion_id: r.deletionId,
          due_at: r.dueAt.toISOString(),
          outcome: r.outcome,
          reason: r.reason,
          snapshots_deleted: r.snapshotsDeleted,
          store_removed: r.storeRemoved,
        })),
      );
    else if (reports.length === 0) output.line("no scheduled deletions");
    else for (const report of reports) printDeletionRun(output, report);
    return reports.some((r) => r.outcome === "blocked") ? EXIT.error : EXIT.ok;
  }),
};
