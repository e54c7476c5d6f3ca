/** The only place that prints: human text on a TTY, JSON lines for machines. */
import { encodeName, hasEscapedBytes } from "../snapshot/filename.js";
import type { fitToColumns } from "./status-line.js";

export class Output {
  /**
   * Loaded only where a status line can show: string-width and ICU's segmenter take ~50 ms of
   * CPU to start, which every scheduled or redirected command would pay for nothing. Until it is
   * loaded (before the first progress report, in practice) status lines are left out.
   */
  private fit: typeof fitToColumns | undefined;

  constructor(readonly json: boolean) {
    if (!json && process.stderr.isTTY)
      void import("./status-line.js").then((line) => {
        this.fit = line.fitToColumns;
      });
  }

  /** A result for the user (stdout). */
  line(text: string): void {
    process.stdout.write(`${text}\n`);
  }

  /** One JSON document on its own line (stdout). */
  object(value: unknown): void {
    process.stdout.write(`${JSON.stringify(value)}\n`);
  }

  /** Diagnostics (stderr), so stdout stays parseable. */
  warn(text: string): void {
    process.stderr.write(`${text}\n`);
  }

  /**
   * A transient status line, only on an interactive terminal. Two escape codes stay hand-written
   * (log-update would bring ten packages and a hidden cursor for them); measuring columns does not.
   */
  status(text: string): void {
    if (this.json || !process.stderr.isTTY || this.fit === undefined) return;
    process.stderr.write(`\r\x1b[K${this.fit(text, process.stderr.columns || 100)}`);
  }

  clearStatus(): void {
    if (!this.json && process.stderr.isTTY) process.stderr.write("\r\x1b[K");
  }
}

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 2 : 1)} ${UNITS[unit]}`;
}

export function formatDuration(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  return `${minutes} min ${seconds} s`;
}

/**
 * A snapshot path or link target for JSON output. `key` holds the decoded string (filename.ts):
 * JSON.stringify writes each byte that is not UTF-8 as a lone surrogate escape `\udcNN` (which
 * Python's json reads back as its own surrogateescape), and only then `<key>_bytes` holds the
 * exact bytes in base64, for readers that would replace lone surrogates.
 */
export function jsonPath(key: string, value: string): Record<string, string> {
  if (!hasEscapedBytes(value)) return { [key]: value };
  return {
    [key]: value,
    [`${key}_bytes`]: (encodeName(value) ?? Buffer.from(value)).toString("base64"),
  };
}
