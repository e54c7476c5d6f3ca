// Turning per-tool, per-run results into the tables printed at the end of a run: medians over
// the runs, each tool against its anchor (local restic for local tools, restic through rclone
// for Rempart through its server), and the targets of issue 7.
import os from "node:os";

const shareBackups = (run) => [run.share?.initial, run.share?.office, run.share?.ransom];

/** Every metric, read from one run's results of one tool. */
const METRICS = [
  { id: "backup", label: "initial backup", unit: "s", get: (r) => r.share?.initial?.wallS },
  {
    id: "backupCpu",
    label: "initial backup, CPU user+sys",
    unit: "s",
    get: (r) => r.share?.initial?.cpuS,
  },
  { id: "office", label: "office-day incremental", unit: "s", get: (r) => r.share?.office?.wallS },
  {
    id: "ransom",
    label: "ransomware-day incremental",
    unit: "s",
    get: (r) => r.share?.ransom?.wallS,
  },
  { id: "restore", label: "full restore", unit: "s", get: (r) => r.share?.restore?.wallS },
  {
    id: "restoreCpu",
    label: "full restore, CPU user+sys",
    unit: "s",
    get: (r) => r.share?.restore?.cpuS,
  },
  {
    id: "sizeShare",
    label: "repo size, share (initial)",
    unit: "B",
    get: (r) => r.share?.initial?.repoBytes,
  },
  {
    id: "sizeShare3",
    label: "repo size, share (after 3)",
    unit: "B",
    get: (r) => r.share?.ransom?.repoBytes,
  },
  {
    id: "growthOffice",
    label: "repo growth, office day",
    unit: "B",
    get: (r) => r.share?.office?.growthBytes,
  },
  {
    id: "growthRansom",
    label: "repo growth, ransomware day",
    unit: "B",
    get: (r) => r.share?.ransom?.growthBytes,
  },
  {
    id: "sizeVersioned",
    label: "repo size, versioned set",
    unit: "B",
    get: (r) => r.versioned?.repoBytes,
  },
  {
    id: "versioned",
    label: "versioned set, all backups",
    unit: "s",
    get: (r) => r.versioned?.wallS,
  },
  {
    id: "rssBackup",
    label: "peak RSS, share backups",
    unit: "B",
    get: (r) => kibToBytes(maxOf(shareBackups(r).map((s) => s?.peakRssKiB))),
  },
  {
    id: "rssRestore",
    label: "peak RSS, restore",
    unit: "B",
    get: (r) => kibToBytes(r.share?.restore?.peakRssKiB),
  },
  {
    id: "rssVersioned",
    label: "peak RSS, versioned backups",
    unit: "B",
    get: (r) => kibToBytes(maxOf((r.versioned?.snapshots ?? []).map((s) => s.peakRssKiB))),
  },
];
const metric = (id) => METRICS.find((m) => m.id === id);

/** Which tool is measured against which, the rows that matter and the ratio each should reach. */
export const COMPARISONS = [
  {
    group: "local",
    tool: "rempart",
    anchor: "restic",
    rows: [
      ["backup", 0.5],
      ["restore", 0.5],
      ["backupCpu", undefined],
      ["restoreCpu", undefined],
      ["office", undefined],
      ["sizeShare", 0.98],
      ["sizeVersioned", 0.9],
      ["rssBackup", 1.0],
      ["rssRestore", 1.0],
    ],
  },
  {
    group: "through server",
    tool: "rempart-server",
    anchor: "restic-rclone",
    rows: [
      ["backup", 0.6],
      ["restore", 0.6],
      ["backupCpu", undefined],
      ["restoreCpu", undefined],
      ["office", 0.5],
      ["rssBackup", 1.0],
      ["rssRestore", 1.0],
    ],
  },
  { group: "borg", tool: "borg", anchor: "restic", rows: [["backup"], ["restore"], ["office"]] },
];

const kibToBytes = (kib) => (typeof kib === "number" ? kib * 1024 : undefined);

function maxOf(values) {
  const numbers = values.filter((v) => typeof v === "number");
  return numbers.length ? Math.max(...numbers) : undefined;
}

export function median(values) {
  const v = values.filter((x) => typeof x === "number" && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/** Median, min, max and count of one metric over a tool's runs. */
function summarize(result, m) {
  const values = (result?.runs ?? [])
    .map((run) => (run ? m.get(run) : undefined))
    .filter((v) => typeof v === "number");
  if (values.length === 0) return undefined;
  return {
    median: median(values),
    min: Math.min(...values),
    max: Math.max(...values),
    n: values.length,
    values,
  };
}

function measuredSteps(result) {
  return (result?.runs ?? []).flatMap((run) =>
    [...shareBackups(run ?? {}), run?.share?.restore, ...(run?.versioned?.snapshots ?? [])].filter(
      Boolean,
    ),
  );
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
  if (unit === "s") return `${value.toFixed(value < 10 ? 2 : 1)} s`;
  const units = ["B", "kB", "MB", "GB", "TB"];
  let v = value;
  let i = 0;
  while (Math.abs(v) >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(i === 0 ? 0 : v < 10 ? 2 : 1)} ${units[i]}`;
}

function fmtSummary(s, unit, runs) {
  if (!s) return "—";
  const n = s.n < runs ? ` n=${s.n}` : "";
  if (s.n === 1 || s.min === s.max) return `${fmt(s.median, unit)}${n}`;
  return `${fmt(s.median, unit)} (${fmt(s.min, unit)}–${fmt(s.max, unit)})${n}`;
}

/** Ratio of two numbers as text, or "—". */
function ratioOf(a, b) {
  return typeof a === "number" && typeof b === "number" && b > 0 ? a / b : undefined;
}

/** Ratios of the tool to its anchor within each run, where both measured it: the noise band. */
function perRunRatios(results, tool, anchor, m) {
  const a = results[tool]?.runs ?? [];
  const b = results[anchor]?.runs ?? [];
  const out = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const r = ratioOf(a[i] && m.get(a[i]), b[i] && m.get(b[i]));
    if (r !== undefined) out.push(r);
  }
  return out;
}

/**
 * The comparison issue 7 asks for: per row the tool's median, its anchor's median, the ratio of
 * the medians, the spread of the same ratio taken within each run, and the target.
 */
export function comparisonTable(results, tools, runs) {
  const header = [
    "",
    "metric",
    "tool",
    "median",
    "anchor",
    "median",
    "ratio",
    "per-run ratios",
    "target",
    "met",
  ];
  const rows = [header];
  for (const c of COMPARISONS) {
    if (!tools.includes(c.tool) || !tools.includes(c.anchor)) continue;
    for (const [id, target] of c.rows) {
      const m = metric(id);
      const a = summarize(results[c.tool], m);
      const b = summarize(results[c.anchor], m);
      const ratio = ratioOf(a?.median, b?.median);
      const band = perRunRatios(results, c.tool, c.anchor, m);
      const spread =
        band.length > 1
          ? `${Math.min(...band).toFixed(2)}–${Math.max(...band).toFixed(2)}`
          : band.length === 1
            ? band[0].toFixed(2)
            : "—";
      rows.push([
        c.group,
        m.label,
        c.tool,
        fmtSummary(a, m.unit, runs),
        c.anchor,
        fmtSummary(b, m.unit, runs),
        ratio === undefined ? "—" : ratio.toFixed(2),
        spread,
        target === undefined ? "—" : `≤ ${target.toFixed(2)}`,
        target === undefined || ratio === undefined ? "" : ratio <= target ? "yes" : "NO",
      ]);
    }
  }
  return rows;
}

/** Every metric for every tool: median (min–max) over the runs. */
export function fullTable(results, tools, runs) {
  const rows = [["metric", ...tools]];
  for (const m of METRICS) {
    const cells = tools.map((t) => {
      const r = results[t];
      const s = summarize(r, m);
      if (!s && r?.status === "failed") return "failed";
      let text = fmtSummary(s, m.unit, runs);
      if (m.id === "restore" && s) {
        const verified = (r.runs ?? []).filter((run) => run?.share?.restore?.verified).length;
        text += verified === s.n ? " verified" : ` MISMATCH (${s.n - verified} of ${s.n})`;
      }
      return text;
    });
    if (cells.every((c) => c === "—")) continue;
    rows.push([m.label, ...cells]);
  }
  return rows;
}

/** A Markdown table, padded so it also reads as plain text; `left` columns are text, not numbers. */
export function renderTable(rows, left = [0]) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  const isLeft = (i) => left.includes(i);
  const cell = (c, i) => (isLeft(i) ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]));
  const line = (r) => `| ${r.map(cell).join(" | ")} |`;
  const rule = widths.map((w, i) => (isLeft(i) ? `${"-".repeat(w + 2)}` : `${"-".repeat(w + 1)}:`));
  return [line(rows[0]), `|${rule.join("|")}|`, ...rows.slice(1).map(line)].join("\n");
}

/** Text columns of the comparison table. */
export const COMPARISON_TEXT_COLUMNS = [0, 1, 2, 4];

/** Plain numbers for the JSON file, so later runs can be compared by a script. */
export function metricValues(results, tools) {
  return Object.fromEntries(
    METRICS.map((m) => [
      m.label,
      Object.fromEntries(
        tools.map((t) => {
          const s = summarize(results[t], m);
          return [t, s ? { median: s.median, values: s.values } : null];
        }),
      ),
    ]),
  );
}
