import { availableParallelism, hostname } from "node:os";
import type { BackupProgress } from "../../backup/archiver.js";
import { readExcludeFile } from "../../backup/excludes.js";
import { seriesIn } from "../../backup/series.js";
import { RempartError } from "../../errors.js";
import { displayName } from "../../snapshot/filename.js";
import { type Command, type OptionTable, REPOSITORY_OPTIONS } from "../command.js";
import { EXIT } from "../exit-codes.js";
import { formatBytes, formatDuration } from "../output.js";

const options = {
  ...REPOSITORY_OPTIONS,
  exclude: {
    type: "string",
    multiple: true,
    value: "PATTERN",
    help: "skip paths matching PATTERN (restic's syntax: *, **, ?, [..]); repeatable",
  },
  "exclude-file": {
    type: "string",
    multiple: true,
    value: "FILE",
    help: "skip the patterns listed in FILE, one a line; repeatable",
  },
  tag: { type: "string", multiple: true, value: "TAG", help: "tag the snapshot; repeatable" },
  host: {
    type: "string",
    value: "HOST",
    help: "the host recorded in the snapshot, and whose latest snapshot is the parent (default: this machine's name)",
  },
} satisfies OptionTable;

function progressLine(p: BackupProgress): string {
  const seconds = p.elapsedMs / 1000;
  const rate = seconds > 0 ? p.bytesDone / seconds : 0;
  const total = p.scanned ? ` of ${p.scanned.files}` : "";
  const done = p.scanned ? ` of ${formatBytes(p.scanned.bytes)}` : "";
  const remaining = p.scanned ? Math.max(0, p.scanned.bytes - p.bytesDone) : 0;
  const eta = p.scanned && rate > 0 ? `, ETA ${formatDuration((remaining / rate) * 1000)}` : "";
  return `${p.files}${total} files, ${formatBytes(p.bytesDone)}${done} (${formatBytes(rate)}/s${eta}), ${formatBytes(p.bytesAdded)} new  ${displayName(p.currentPath)}`;
}

export const backupCommand: Command = {
  name: "backup",
  summary: "back up files and directories",
  usage: "rempart backup --repo DIR [--exclude PATTERN]… [--exclude-file FILE]… [--tag TAG]… PATH…",
  arguments: [{ syntax: "[PATH...]", help: "the files and directories to back up (at least one)" }],
  options,
  async run(context) {
    const { output } = context;
    if (context.positionals.length === 0)
      throw new RempartError("InvalidArgument", `nothing to back up\nusage: ${this.usage}`);
    const patterns = [
      ...context.strings("exclude"),
      ...context.strings("exclude-file").flatMap(readExcludeFile),
    ];
    // The walk's code is loaded and evaluated while the key slot's KDF runs on another thread.
    const archiver = import("../../backup/archiver.js");
    archiver.catch(() => undefined);
    // The index and the parent snapshot are asked for while the key slot's KDF runs.
    const repo = await context.openRepository({ loadsIndex: true, listsSnapshots: true });
    const { backup, normalizeBackupPaths } = await archiver;
    const paths = normalizeBackupPaths(context.positionals, process.cwd());
    const host = context.string("host") ?? hostname();
    const series = await seriesIn(repo, host, paths);
    const warnings: string[] = [];
    const result = await backup(repo, {
      paths,
      tags: context.strings("tag"),
      host,
      excludes: patterns,
      ...series,
      workers: Math.max(1, Math.min(2, availableParallelism())),
      // Progress (and the scan thread that counts the work for its ETA) only when someone sees
      // it: a scheduled or redirected backup saves the thread's memory.
      ...(output.json || process.stderr.isTTY
        ? {
            onProgress: (p: BackupProgress) => {
              if (output.json) output.object({ message_type: "status", ...p });
              else output.status(progressLine(p));
            },
          }
        : {}),
      onWarning: ({ path, message }) => {
        warnings.push(path);
        output.clearStatus();
        output.warn(`warning: cannot read ${displayName(path)}: ${message}`);
      },
      // Leftover packs that are not well-formed were reported by the repository (onSkipped).
      onResume: (adopted) => {
        if (adopted === 0) return;
        output.clearStatus();
        output.warn(`resuming: reused ${adopted} pack(s) left by an interrupted backup`);
      },
    });
    output.clearStatus();
    const s = result.snapshot.summary;
    if (output.json) {
      output.object({
        message_type: "summary",
        snapshot_id: result.id,
        parent: series.parent?.id ?? null,
        files_new: s.filesNew,
        files_changed: s.filesChanged,
        files_unchanged: s.filesUnchanged,
        dirs: s.dirs,
        files_unreadable: s.unreadable,
        bytes_read: s.bytesRead,
        bytes_added: s.bytesAdded,
        bytes_stored: s.bytesStored,
        total_files: s.totalFiles,
        total_bytes: s.totalBytes,
        duration_ms: s.durationMs,
        ...(s.detection
          ? {
              detection: {
                verdict: s.detection.verdict,
                score: s.detection.score,
                reasons: s.detection.reasons,
              },
            }
          : {}),
      });
    } else {
      output.line(
        `files: ${s.filesNew} new, ${s.filesChanged} changed, ${s.filesUnchanged} unchanged` +
          (s.unreadable > 0 ? `, ${s.unreadable} unreadable` : ""),
      );
      output.line(
        `read ${formatBytes(s.bytesRead)}, added ${formatBytes(s.bytesAdded)} (${formatBytes(s.bytesStored)} stored) in ${formatDuration(s.durationMs)}`,
      );
      output.line(
        `snapshot ${result.id.slice(0, 8)} saved${series.parent ? ` (parent ${series.parent.id.slice(0, 8)})` : ""}`,
      );
      if (s.detection && s.detection.verdict !== "ok")
        output.line(
          `detection: ${s.detection.verdict.toUpperCase()} (score ${s.detection.score}/100): ${s.detection.reasons.join("; ")}`,
        );
    }
    return s.unreadable > 0 ? EXIT.partial : EXIT.ok;
  },
};
