import { type AuditView, listTenants, readAudit } from "../../../server/admin.js";
import type { Command } from "../../command.js";
import { EXIT } from "../../exit-codes.js";
import type { Output } from "../../output.js";
import { parseCount } from "../../units.js";
import { day, withDataDir } from "./session.js";

function printAudit(
  output: Output,
  entries: readonly AuditView[],
  names: ReadonlyMap<string, string>,
): void {
  if (entries.length === 0) output.line("no audit entries");
  for (const entry of entries) {
    const tenant = entry.tenant_id === null ? "-" : (names.get(entry.tenant_id) ?? entry.tenant_id);
    output.line(
      `${entry.id}  ${day(entry.at)}  ${entry.actor.kind}:${entry.actor.id ?? "-"}  ${entry.action}  ${tenant}  ${JSON.stringify(entry.details)}`,
    );
  }
}

export const auditCommand: Command = {
  name: "audit",
  summary: "the audit log, newest first",
  usage: "rempart admin audit [--tenant NAME] [--limit N]",
  options: {
    tenant: { type: "string", value: "NAME", help: "only the entries about this tenant" },
    limit: { type: "string", value: "N", help: "at most N entries" },
  },
  run: withDataDir(async (context, admin) => {
    const { output } = context;
    const limit = context.string("limit");
    const entries = await readAudit(admin.ctx, {
      tenantName: context.string("tenant"),
      limit: limit === undefined ? undefined : parseCount(limit, "--limit"),
    });
    if (output.json) output.object(entries);
    else {
      const names = new Map((await listTenants(admin.ctx)).map((t) => [t.id, t.name]));
      printAudit(output, entries, names);
    }
    return EXIT.ok;
  }),
};
