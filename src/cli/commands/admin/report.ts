import type { CoverageReport } from "../../../protocol/api.js";
import { coverageReport } from "../../../server/reports/coverage.js";
import { coverageCsv } from "../../../server/reports/csv.js";
import { formatAge } from "../../../server/reports/status.js";
import type { Command } from "../../command.js";
import { EXIT } from "../../exit-codes.js";
import type { Output } from "../../output.js";
import { day, withDataDir } from "./session.js";

function drillText(drill: CoverageReport["clients"][number]["machines"][number]["last_drill"]) {
  if (drill === null) return "no drill";
  const rate = drill.rate_mb_s === null ? "" : ` ${drill.rate_mb_s} MB/s`;
  return `drill ${drill.ok ? "ok" : "FAILED"} ${day(drill.at).slice(0, 10)}${rate}`;
}

function printCoverage(output: Output, report: CoverageReport): void {
  output.line(report.summary);
  for (const client of report.clients) {
    const rpo = `RPO ${formatAge(client.rpo_seconds)}`;
    output.line(`${client.status.toUpperCase()}  ${client.tenant}  (${rpo})  ${client.reason}`);
    for (const m of client.machines) {
      const age = m.age_seconds === null ? "" : ` (${formatAge(m.age_seconds)} ago)`;
      output.line(
        `    ${m.status}  ${m.hostname}  last backup ${day(m.last_backup_at)}${age}  detection ${m.detection_verdict ?? "-"}  ${drillText(m.last_drill)}  ${m.reason}`,
      );
    }
  }
}

const coverage: Command = {
  name: "coverage",
  summary:
    "every client and machine: last backup, age against the RPO, detection, restore drill and status, worst first",
  usage: "rempart admin report coverage [--json | --csv]",
  options: {
    csv: {
      type: "boolean",
      help: "CSV (RFC 4180), one row per machine and one per client without any",
    },
  },
  run: withDataDir(async (context, admin) => {
    const { output } = context;
    const report = await coverageReport(admin.ctx);
    // The CSV's last CRLF loses its LF here, which `line` puts back.
    if (context.flag("csv")) output.line(coverageCsv(report).replace(/\n$/, ""));
    else if (output.json) output.object(report);
    else printCoverage(output, report);
    return EXIT.ok;
  }),
};

export const reportCommand: Command = {
  name: "report",
  summary: "reports across every tenant: coverage",
  usage: "rempart admin report coverage [--json | --csv]",
  options: {},
  subcommands: [coverage],
};
