/**
 * Counts what a backup will walk (files and bytes, excludes applied) on another thread, so the
 * progress display can show an ETA without slowing the walk itself: restic's scanner does the same.
 */
import { lstatSync } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import { fsPath } from "../snapshot/filename.js";
import { readDirectory } from "../snapshot/fs-paths.js";
import { childPath } from "../snapshot/tree.js";
import { compileExcludes } from "./excludes.js";

export interface ScanRequest {
  readonly paths: readonly string[];
  readonly excludes: readonly string[];
}

export interface ScanTotals {
  readonly files: number;
  readonly bytes: number;
}

const { paths, excludes } = workerData as ScanRequest;
const excluded = compileExcludes(excludes);
const totals = { files: 0, bytes: 0 };

function visit(path: string): void {
  let stats: ReturnType<typeof lstatSync>;
  try {
    stats = lstatSync(fsPath(path));
  } catch {
    return; // the backup itself reports what it cannot read
  }
  if (stats.isFile()) {
    totals.files++;
    totals.bytes += stats.size;
  } else if (stats.isDirectory()) {
    let names: string[];
    try {
      names = readDirectory(path);
    } catch {
      return;
    }
    for (const name of names) {
      const child = childPath(path, name);
      if (!excluded(child, name)) visit(child);
    }
  }
}

for (const path of paths) visit(path);
parentPort?.postMessage(totals satisfies ScanTotals);
