// Turning per-tool results into the comparison tables printed at the end of a run.
import os from "node:os";

const METRICS = [
  { label: "initial backup", unit: "s", get: (r) => r.share?.initial?.wallS },
  { label: "initial backup, CPU user+sys", unit: "s", get: (r) => r.share?.initial?.cpuS },
  { label: "office-day incremental", unit: "s", get: (r) => r.share?.office?.wallS },
  { label: "ransomware-day incremental", unit: "s", get: (r) => r.share?.ransom?.wallS },
  {
    label: "full restore",
    unit: "s",
    get: (r) => r.share?.restore?.wallS,
    note: (r) => {
      const v = r.share?.restore?.verified;
      return v === undefined ? "" : v ? "verified" : "MISMATCH";
    },
  },
  { label: "full restore, CPU user+sys", unit: "s", get: (r) => r.share?.restore?.cpuS },
  { label: "repo size, share (initial)", unit: "B", get: (r) => r.share?.initial?.repoBytes },
  { label: "repo size, share (after 3)", unit: "B", get: (r) => r.share?.ransom?.repoBytes },
  { label: "repo growth, office day", unit: "B", get: (r) => r.share?.office?.growthBytes },
  { label: "repo growth, ransomware day", unit: "B", get: (r) => r.share?.ransom?.growthBytes },
  { label: "repo size, versioned set", unit: "B", get: (r) => r.versioned?.repoBytes },
  { label: "versioned set, 7 backups", unit: "s", get: (r) => r.versioned?.wallS },
  { label: "peak RSS (backup/restore)", unit: "B", get: (r) => peakRssBytes(r) },
];

function measuredSteps(result) {
  const share = result.share ?? {};
  const steps = [share.initial, share.office, share.ransom, share.restore];
  return [...steps, ...(result.versioned?.snapshots ?? [])].filter(Boolean);
}

function maxOf(values) {
  const numbers = values.filter((v) => typeof v === "number");
  return numbers.length ? Math.max(...numbers) : undefined;
}

/** Max peak RSS over the backup and restore commands of one tool, in bytes. */
export function peakRssBytes(result) {
  const kib = maxOf(measuredSteps(result).map((s) => s.peakRssKiB));
  return kib === undefined ? undefined : kib * 1024;
}

/** Worst share of the host's CPU taken by other processes during one of the tool's commands. */
export function busiestHost(result) {
  const cores = os.cpus().length;
  return maxOf(
    measuredSteps(result)
      .filter((s) => typeof s.othersCpuS === "number" && s.wallS > 1)
      .map((s) => s.othersCpuS / (s.wallS * cores)),
  );
}

function fmt(value, unit) {
  if (typeof value !== "number" || !Number.isFinite(value)) return "—";
  if (unit === "s") return `${value.toFixed(1)} s`;
  const units = ["B", "kB", "MB", "GB", "TB"];
  let v = value;
  let i = 0;
  while (Math.abs(v) >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : v < 10 ? 2 : 1)} ${units[i]}`;
}

function ratio(a, b) {
  return typeof a === "number" && typeof b === "number" && b > 0 ? (a / b).toFixed(2) : "—";
}

/** Rows of [label, per-tool cells..., ratio cells...]; `tools` are the names that ran. */
export function metricTable(results, tools) {
  const ratioTools = tools.filter((t) => t !== "restic");
  const withRatios = tools.includes("restic");
  const header = ["metric", ...tools, ...(withRatios ? ratioTools.map((t) => `${t}/restic`) : [])];
  const rows = METRICS.map((m) => {
    const cells = tools.map((t) => {
      const r = results[t];
      if (r?.status === "failed" && m.get(r) === undefined) return "failed";
      const note = m.note?.(r ?? {}) ?? "";
      return `${fmt(m.get(r ?? {}), m.unit)}${note ? ` ${note}` : ""}`;
    });
    const ratios = withRatios
      ? ratioTools.map((t) => ratio(m.get(results[t] ?? {}), m.get(results.restic ?? {})))
      : [];
    return [m.label, ...cells, ...ratios];
  });
  return [header, ...rows];
}

export function renderTable(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  const line = (r) =>
    r.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i])));
  return rows.map((r) => line(r).join("   ").trimEnd()).join("\n");
}

/** Plain numbers for the JSON file, so later runs can be compared by a script. */
export function metricValues(results, tools) {
  return Object.fromEntries(
    METRICS.map((m) => [
      m.label,
      Object.fromEntries(tools.map((t) => [t, m.get(results[t] ?? {}) ?? null])),
    ]),
  );
}
