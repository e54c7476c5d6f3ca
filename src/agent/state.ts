/**
 * What the agent remembers between runs, beside its configuration: its last backup and its last
 * check-in, so that `rempart agent status` on the machine can say how it is doing without asking
 * the server (which may be the thing that is down). Written after each attempt, atomically;
 * holds no secret, but the configuration's folder is owner-only, so is this file.
 */
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { BACKUP_OUTCOMES, type BackupOutcome } from "../protocol/api.js";
import { writeOwnerOnlyFile } from "./config.js";

export interface AgentState {
  readonly lastBackup?: {
    readonly at: string;
    readonly outcome: BackupOutcome;
    readonly snapshotId?: string;
    readonly error?: string;
  };
  readonly lastCheckIn?: { readonly at: string; readonly ok: boolean };
}

/** Beside the configuration it belongs to. */
export function agentStatePath(configPath: string): string {
  return join(dirname(configPath), "agent-state.json");
}

/** The state; empty when there is none yet, or when it cannot be read (it is only a report). */
export async function readAgentState(path: string): Promise<AgentState> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(path, "utf8"));
  } catch {
    return {};
  }
  return parseAgentState(value);
}

export async function writeAgentState(path: string, state: AgentState): Promise<void> {
  await writeOwnerOnlyFile(path, `${JSON.stringify(state, null, 2)}\n`, "agent state");
}

/** The parts of `value` that have the expected shape; the rest is dropped. */
function parseAgentState(value: unknown): AgentState {
  if (typeof value !== "object" || value === null) return {};
  const { lastBackup, lastCheckIn } = value as Record<string, unknown>;
  const backup = lastBackup as Record<string, unknown> | undefined;
  const checkIn = lastCheckIn as Record<string, unknown> | undefined;
  const text = (field: unknown) => (typeof field === "string" ? field : undefined);
  const outcome = BACKUP_OUTCOMES.find((o) => o === backup?.outcome);
  const at = text(backup?.at);
  const snapshotId = text(backup?.snapshotId);
  const error = text(backup?.error);
  return {
    ...(outcome === undefined || at === undefined
      ? {}
      : {
          lastBackup: {
            at,
            outcome,
            ...(snapshotId === undefined ? {} : { snapshotId }),
            ...(error === undefined ? {} : { error }),
          },
        }),
    ...(typeof checkIn?.at === "string" && typeof checkIn.ok === "boolean"
      ? { lastCheckIn: { at: checkIn.at, ok: checkIn.ok } }
      : {}),
  };
}
