import { compareTrees } from "../../detection/compare.js";
import type { DetectionSignals, DetectionSummary } from "../../detection/summary.js";
import { RempartError } from "../../errors.js";
import { displayName } from "../../snapshot/filename.js";
import { type WalkEntry, walkTree } from "../../snapshot/walk.js";
import { type Command, type OptionTable, REPOSITORY_OPTIONS } from "../command.js";
import { EXIT } from "../exit-codes.js";
import { formatBytes, jsonPath, type Output } from "../output.js";

const options = { ...REPOSITORY_OPTIONS } satisfies OptionTable;

function modified(a: WalkEntry["node"], b: WalkEntry["node"]): boolean {
  if (a.type !== b.type) return true;
  if (a.type === "file")
    return a.size !== b.size || (a.content ?? []).join() !== (b.content ?? []).join();
  if (a.type === "symlink") return a.target !== b.target;
  return false;
}

/** B's detection section: its signals against A, and the verdict B's own backup sealed. */
interface DetectionSection {
  readonly signals: DetectionSignals;
  /** B's sealed verdict, judged against B's parent when it was made; null for older snapshots */
  readonly verdict: DetectionSummary["verdict"] | null;
  readonly score: number | null;
  readonly reasons: readonly string[];
  /** the parent B was judged against (it may not be SNAPSHOT1) */
  readonly judged_against: string | null;
}

function printDetection(output: Output, section: DetectionSection): void {
  const s = section.signals;
  output.line("");
  output.line("detection signals of SNAPSHOT2 against SNAPSHOT1:");
  output.line(
    `  ${s.files_added} added, ${s.files_changed} changed, ${s.files_deleted} deleted, ${s.files_renamed} renamed (of ${s.files_total} files)`,
  );
  output.line(
    `  ${s.extension_changes} renamed to another extension${s.new_extensions.length > 0 ? `; new extensions: ${s.new_extensions.join(", ")}` : ""}`,
  );
  output.line(
    `  ${s.type_mismatches} lost their file-type signature or structure, ${s.high_entropy_changes} turned to noise (entropy jump)`,
  );
  output.line(
    `  ${s.ransom_notes} named like ransom notes, ${s.known_ransom_extensions} with a known ransomware extension`,
  );
  if (section.verdict === null) {
    output.line("verdict: none (SNAPSHOT2 was made before detection)");
    return;
  }
  const against =
    section.judged_against === null
      ? ""
      : ` (against its parent ${section.judged_against.slice(0, 8)})`;
  output.line(
    `verdict of SNAPSHOT2's backup${against}: ${section.verdict}, score ${section.score}/100`,
  );
  for (const reason of section.reasons) output.line(`  ${reason}`);
}

export const diffCommand: Command = {
  name: "diff",
  summary:
    "show what was added, removed and modified between two snapshots, and the ransomware signals",
  usage: "rempart diff --repo DIR SNAPSHOT1 SNAPSHOT2",
  arguments: [
    { syntax: "<SNAPSHOT1>", help: "the snapshot before" },
    { syntax: "<SNAPSHOT2>", help: "the snapshot after" },
  ],
  options,
  async run(context) {
    const { output, positionals } = context;
    if (positionals.length !== 2) throw new RempartError("InvalidArgument", `usage: ${this.usage}`);
    const repo = await context.openRepository();
    const [first, second] = [
      await repo.findSnapshot(positionals[0] as string),
      await repo.findSnapshot(positionals[1] as string),
    ];
    const list = async (treeId: string) => {
      const entries = new Map<string, WalkEntry["node"]>();
      for await (const { path, node } of walkTree((id) => repo.readTree(id), treeId))
        entries.set(path, node);
      return entries;
    };
    const before = await list(first.snapshot.tree);
    const after = await list(second.snapshot.tree);
    const changes: {
      change: "added" | "removed" | "modified";
      path: string;
      size: number;
      previous_size?: number;
    }[] = [];
    for (const [path, node] of after) {
      const old = before.get(path);
      if (!old) changes.push({ change: "added", path, size: node.size ?? 0 });
      else if (modified(old, node))
        changes.push({
          change: "modified",
          path,
          size: node.size ?? 0,
          previous_size: old.size ?? 0,
        });
    }
    for (const [path, node] of before)
      if (!after.has(path)) changes.push({ change: "removed", path, size: node.size ?? 0 });
    changes.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const sealed = second.snapshot.summary.detection;
    const detection: DetectionSection = {
      signals: await compareTrees(repo, first.snapshot.tree, second.snapshot.tree),
      verdict: sealed?.verdict ?? null,
      score: sealed?.score ?? null,
      reasons: sealed?.reasons ?? [],
      judged_against: sealed === undefined ? null : (second.snapshot.parent ?? null),
    };
    if (output.json)
      output.object({
        changes: changes.map(({ path, ...change }) => ({ ...jsonPath("path", path), ...change })),
        detection,
      });
    else {
      const sign = { added: "+", removed: "-", modified: "M" } as const;
      for (const c of changes)
        output.line(
          `${sign[c.change]}  ${displayName(c.path)}  ${c.change === "modified" ? `${formatBytes(c.previous_size ?? 0)} -> ` : ""}${formatBytes(c.size)}`,
        );
      const count = (kind: string) => changes.filter((c) => c.change === kind).length;
      output.line(
        `${count("added")} added, ${count("removed")} removed, ${count("modified")} modified`,
      );
      printDetection(output, detection);
    }
    return EXIT.ok;
  },
};
