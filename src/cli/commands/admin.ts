import type { Command } from "../command.js";
import { agentCommand, enrollTokenCommand } from "./admin/agent.js";
import { alertsCommand } from "./admin/alerts.js";
import { auditCommand } from "./admin/audit.js";
import { exportCommand } from "./admin/export.js";
import { gcCommand } from "./admin/gc.js";
import { keyCommand } from "./admin/key.js";
import { runDeletionsCommand } from "./admin/offboarding.js";
import { operatorCommand } from "./admin/operator.js";
import { quarantineCommand } from "./admin/quarantine.js";
import { reportCommand } from "./admin/report.js";
import { policyCommand, pruneCommand } from "./admin/retention.js";
import { snapshotCommand } from "./admin/snapshot.js";
import { tenantCommand } from "./admin/tenant.js";
import { tokenCommand } from "./admin/token.js";

export const adminCommand: Command = {
  name: "admin",
  summary:
    "manage the server's tenants, operators, API tokens, agents, key slots, quarantines, retention, holds, prune, GC, deletions, alerts, reports, exports and audit log (on the server machine)",
  usage: "rempart admin COMMAND [--data DIR] [--json]   (rempart admin help COMMAND)",
  options: {
    data: {
      type: "string",
      value: "DIR",
      help: "the server's data directory, used directly (default: ./data)",
    },
  },
  subcommands: [
    tenantCommand,
    operatorCommand,
    tokenCommand,
    enrollTokenCommand,
    agentCommand,
    keyCommand,
    quarantineCommand,
    auditCommand,
    policyCommand,
    pruneCommand,
    gcCommand,
    snapshotCommand,
    runDeletionsCommand,
    alertsCommand,
    exportCommand,
    reportCommand,
  ],
};
