import { type AuditView, listTenants, readAudit } from "../../../server/admin.js";
import { parseAnchor, verifyAuditChain } from "../../../server/audit/verify.js";
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

/** The group's default: `admin audit --tenant acme` lists. */
const list: Command = {
  name: "list",
  isDefault: true,
  summary: "the audit log, newest first (the default)",
  usage: "rempart admin audit [list] [--tenant NAME] [--limit N]",
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

const verify: Command = {
  name: "verify",
  summary:
    "check the audit log's hash chain: names the first edited, removed or moved entry (exit 11)",
  usage: "rempart admin audit verify [--anchor SEQ:HASH] [--json]",
  options: {
    anchor: {
      type: "string",
      value: "SEQ:HASH",
      help: "a head printed by an earlier verify and kept elsewhere: the log must still hold it",
    },
  },
  run: withDataDir(async (context, admin) => {
    const { output } = context;
    const anchor = context.string("anchor");
    const result = await verifyAuditChain(
      admin.ctx.catalog,
      anchor === undefined ? undefined : parseAnchor(anchor),
    );
    if (output.json) output.object({ ok: result.broken === null, ...result });
    else if (result.broken !== null) {
      output.line(`audit log BROKEN at entry ${result.broken.seq}: ${result.broken.message}`);
    } else if (result.head === null) output.line("audit log empty: nothing to verify");
    else {
      output.line(`audit log intact: ${result.entries} entries chained from the first`);
      output.line(
        `head: ${result.head.seq}:${result.head.hash} (keep it elsewhere; --anchor checks it later)`,
      );
    }
    return result.broken === null ? EXIT.ok : EXIT.corrupt;
  }),
};

export const auditCommand: Command = {
  name: "audit",
  summary: "the audit log, newest first; verify its hash chain",
  usage: "rempart admin audit [--tenant NAME] [--limit N] | audit verify [--anchor SEQ:HASH]",
  options: {},
  subcommands: [list, verify],
};
