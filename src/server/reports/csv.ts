/**
 * The coverage report as CSV (RFC 4180): one row per machine, and one per client without any, for
 * a spreadsheet. Host names come from agents and may hold commas, quotes or line breaks: every
 * field that does is quoted, its quotes doubled. A field starting with = + - @ is prefixed with a
 * quote character so a spreadsheet never runs it as a formula (CSV injection from a host name).
 */
import type { CoverageClient, CoverageMachine, CoverageReport } from "../../protocol/api.js";

const HEADER = [
  "tenant",
  "tenant_status",
  "rpo_seconds",
  "client_status",
  "hostname",
  "agent_id",
  "status",
  "reason",
  "last_backup_at",
  "age_seconds",
  "last_outcome",
  "detection_verdict",
  "open_alerts",
  "last_drill_at",
  "last_drill_ok",
  "last_drill_rate_mb_s",
] as const;

type Cell = string | number | boolean | null;

export function csvField(value: Cell): string {
  if (value === null) return "";
  let text = String(value);
  if (typeof value === "string" && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function row(client: CoverageClient, machine: CoverageMachine | undefined): Cell[] {
  const drill = machine?.last_drill ?? null;
  return [
    client.tenant,
    client.tenant_status,
    client.rpo_seconds,
    client.status,
    machine?.hostname ?? null,
    machine?.agent_id ?? null,
    machine?.status ?? client.status,
    machine?.reason ?? client.reason,
    machine?.last_backup_at ?? null,
    machine?.age_seconds ?? null,
    machine?.last_outcome ?? null,
    machine?.detection_verdict ?? null,
    machine?.open_alerts ?? null,
    drill?.at ?? null,
    drill?.ok ?? null,
    drill?.rate_mb_s ?? null,
  ];
}

/** Lines end in CRLF, as RFC 4180 says. */
export function coverageCsv(report: CoverageReport): string {
  const rows: Cell[][] = [[...HEADER]];
  for (const client of report.clients) {
    if (client.machines.length === 0) rows.push(row(client, undefined));
    for (const machine of client.machines) rows.push(row(client, machine));
  }
  return rows.map((cells) => `${cells.map(csvField).join(",")}\r\n`).join("");
}
