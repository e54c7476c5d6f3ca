/**
 * The agent configuration: which server (and its pinned certificate), the agent's credential,
 * the repository password, what to back up and when. It holds two secrets, so it is written
 * owner-only (0600) and atomically (temp file, fsync, rename): a crash while enrolling leaves
 * the old file or the new one, never half of one.
 *
 * Default place: /etc/rempart/agent.json as root, ~/.config/rempart/agent.json otherwise;
 * REMPART_AGENT_CONFIG overrides both.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { homedir } from "node:os";
import { basename, dirname, isAbsolute, join } from "node:path";
import { RempartError } from "../errors.js";
import { AGENT_TOKEN_PREFIX } from "../protocol/api.js";
import { normalizeFingerprint } from "../storage/http/fingerprint.js";
import { HttpObjectStore, type HttpObjectStoreOptions } from "../storage/http/http-store.js";
import { parseServerUrl, type RetryNotice } from "../storage/http/pinned-client.js";
import { nextRun } from "./cron.js";
import { type DrillSettings, parseDrillSettings } from "./drill-config.js";

export interface AgentConfig {
  /** `https://host:port` */
  readonly server: string;
  /** SHA-256 of the server's certificate, `AB:CD:…` */
  readonly fingerprint: string;
  readonly agentId: string;
  /** bearer credential, `rmpa_<agent id>_<secret>` */
  readonly credential: string;
  readonly tenant: { readonly id: string; readonly name: string };
  readonly repositoryPassword: string;
  /**
   * The key slot the password opened at enrollment (its object name). Tried first on every
   * open, so key slots a compromised machine of the tenant adds cost this machine nothing.
   * Absent in configurations written before it was recorded.
   */
  readonly keySlot?: string;
  /** five-field cron expression, local time */
  readonly schedule: string;
  /** absolute paths `rempart agent run` backs up */
  readonly paths: readonly string[];
  /** exclude patterns, as `backup --exclude` takes them */
  readonly exclude: readonly string[];
  /** restore drills (drill-config.ts); absent: the defaults, false: none */
  readonly drill?: DrillSettings | false;
}

export const DEFAULT_SCHEDULE = "0 2 * * *";
export const AGENT_CONFIG_ENV = "REMPART_AGENT_CONFIG";

/** Where the configuration lives on this machine. */
export function agentConfigPath(): string {
  const override = process.env[AGENT_CONFIG_ENV];
  if (override !== undefined && override !== "") return override;
  return process.getuid?.() === 0 ? SYSTEM_CONFIG_PATH : userConfigPath();
}

const SYSTEM_CONFIG_PATH = "/etc/rempart/agent.json";

function userConfigPath(): string {
  return join(homedir(), ".config", "rempart", "agent.json");
}

/** The configuration, or undefined when there is none (this machine is not an enrolled agent). */
export async function findAgentConfig(path = agentConfigPath()): Promise<AgentConfig | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new RempartError(
      "InvalidArgument",
      `cannot read the agent configuration ${path}: ${(error as Error).message}`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new RempartError(
      "InvalidArgument",
      `the agent configuration ${path} is not valid JSON: ${(error as Error).message}`,
    );
  }
  return parseAgentConfig(value, path);
}

/** The configuration; `NotFound` with what to do when the machine is not enrolled. */
export async function readAgentConfig(path = agentConfigPath()): Promise<AgentConfig> {
  const config = await findAgentConfig(path);
  if (config === undefined)
    throw new RempartError(
      "NotFound",
      `this machine is not enrolled (no agent configuration at ${path}): run rempart agent enroll`,
      { path },
    );
  return config;
}

export async function writeAgentConfig(
  config: AgentConfig,
  path = agentConfigPath(),
): Promise<void> {
  const checked = parseAgentConfig(config, path);
  await writeOwnerOnlyFile(path, `${JSON.stringify(checked, null, 2)}\n`, "agent configuration");
}

/**
 * Writes `text` to `path` owner-only (0600, in a 0700 directory) and atomically: temp file,
 * fsync, rename, fsync of the directory. `what` names the file in the error.
 */
export async function writeOwnerOnlyFile(path: string, text: string, what: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(8).toString("hex")}.tmp`);
  try {
    const handle = await open(temp, "wx", 0o600);
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
    const dir = await open(dirname(path), "r");
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  } catch (error) {
    await rm(temp, { force: true });
    throw new RempartError("Io", `cannot write the ${what} ${path}: ${(error as Error).message}`, {
      path,
    });
  }
}

/** How to reach the server as this agent. */
export function agentConnection(
  config: AgentConfig,
  onRetry?: (notice: RetryNotice) => void,
): HttpObjectStoreOptions {
  return {
    url: config.server,
    fingerprint: config.fingerprint,
    credential: config.credential,
    ...(onRetry ? { onRetry } : {}),
  };
}

/** How this agent opens the tenant's repository: its enrolled key slot first. */
export function agentOpenOptions(config: AgentConfig): { preferredSlot?: string } {
  return config.keySlot === undefined ? {} : { preferredSlot: config.keySlot };
}

/** The store of the tenant's repository on the server, caching in `cacheDir` when given. */
export function agentStore(
  config: AgentConfig,
  onRetry?: (notice: RetryNotice) => void,
  cacheDir?: string,
): HttpObjectStore {
  return new HttpObjectStore({
    ...agentConnection(config, onRetry),
    ...(cacheDir === undefined ? {} : { cacheDir }),
  });
}

/**
 * Where the agent caches the tenant's index and snapshot objects (storage/http/object-cache.ts):
 * the service's CacheDirectory (systemd sets $CACHE_DIRECTORY: /var/cache/rempart), else the
 * usual cache folder of a configuration in its usual place (/var/cache/rempart for
 * /etc/rempart/agent.json, $XDG_CACHE_HOME/rempart or ~/.cache/rempart for a user's), else a
 * `cache` directory beside a configuration kept elsewhere; one subdirectory per tenant.
 */
export function agentCacheDir(config: AgentConfig, configPath = agentConfigPath()): string {
  const service = process.env.CACHE_DIRECTORY?.split(":")[0];
  const { id } = config.tenant;
  // The id comes from a file a person may edit: never a path of its own.
  const name = /^[A-Za-z0-9_-]{1,64}$/.test(id)
    ? id
    : createHash("sha256").update(id).digest("hex");
  return join(service || cacheRootFor(configPath), name);
}

function cacheRootFor(configPath: string): string {
  if (configPath === SYSTEM_CONFIG_PATH) return "/var/cache/rempart";
  if (configPath === userConfigPath()) {
    return join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "rempart");
  }
  return join(dirname(configPath), "cache");
}

/** Checks every field, so a hand-edited file fails here with its name rather than later. */
export function parseAgentConfig(value: unknown, path: string): AgentConfig {
  const fail = (why: string) =>
    new RempartError("InvalidArgument", `the agent configuration ${path} is invalid: ${why}`, {
      path,
    });
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw fail("it is not a JSON object");
  const body = value as Record<string, unknown>;
  const text = (field: string): string => {
    const found = body[field];
    if (typeof found !== "string" || found === "")
      throw fail(`"${field}" must be a non-empty string`);
    return found;
  };
  const texts = (field: string, check: (item: string) => boolean, what: string): string[] => {
    const found = body[field] ?? [];
    if (!Array.isArray(found) || !found.every((item) => typeof item === "string" && check(item)))
      throw fail(`"${field}" must be a list of ${what}`);
    return found as string[];
  };
  const guarded = <T>(field: string, parse: () => T): T => {
    try {
      return parse();
    } catch (error) {
      throw fail(`"${field}": ${(error as Error).message}`);
    }
  };
  const tenant = body.tenant as Record<string, unknown> | null | undefined;
  if (typeof tenant?.id !== "string" || typeof tenant.name !== "string")
    throw fail(`"tenant" must be {"id", "name"}`);
  const credential = text("credential");
  if (!credential.startsWith(AGENT_TOKEN_PREFIX))
    throw fail(`"credential" must be an agent credential (${AGENT_TOKEN_PREFIX}…)`);
  const server = text("server");
  const schedule = text("schedule");
  const fingerprint = text("fingerprint");
  const keySlot = body.keySlot;
  if (keySlot !== undefined && (typeof keySlot !== "string" || !/^[0-9a-f]{64}$/.test(keySlot)))
    throw fail(`"keySlot" must be a key slot name (64 hex digits)`);
  guarded("server", () => parseServerUrl(server));
  guarded("schedule", () => nextRun(schedule, new Date()));
  const drill = guarded("drill", () => parseDrillSettings(body.drill));
  return {
    server,
    fingerprint: guarded("fingerprint", () => normalizeFingerprint(fingerprint)),
    agentId: text("agentId"),
    credential,
    tenant: { id: tenant.id, name: tenant.name },
    repositoryPassword: text("repositoryPassword"),
    ...(keySlot === undefined ? {} : { keySlot }),
    schedule,
    paths: texts("paths", isAbsolute, "absolute paths"),
    exclude: texts("exclude", () => true, "patterns"),
    ...(body.drill === undefined ? {} : { drill }),
  };
}
