/**
 * Enrolling a machine: the one-time token buys an agent credential (over pinned HTTPS, so a
 * wrong fingerprint is refused before the token leaves the machine), the repository password is
 * proven against the tenant's repository (or creates it, for the tenant's first agent), and only
 * then is the configuration written. A wrong password therefore leaves no configuration behind.
 */
import { DEFAULT_CHUNKER_PARAMS } from "../chunker/fastcdc.js";
import { isRempartError, RempartError } from "../errors.js";
import { API_PREFIX, type EnrollRequest, EnrollResponse } from "../protocol/api.js";
import { Repository } from "../repository/repository.js";
import { normalizeFingerprint } from "../storage/http/fingerprint.js";
import { PinnedClient } from "../storage/http/pinned-client.js";
import { REMPART_VERSION as VERSION } from "../version.js";
import { type AgentConfig, agentStore, findAgentConfig, writeAgentConfig } from "./config.js";
import { parseCron } from "./cron.js";

export interface EnrollOptions {
  readonly server: string;
  readonly token: string;
  readonly fingerprint: string;
  readonly password: string;
  readonly hostname: string;
  readonly schedule: string;
  readonly paths: readonly string[];
  readonly exclude: readonly string[];
  /** where the configuration is written */
  readonly configPath: string;
}

export interface EnrollResult {
  readonly config: AgentConfig;
  /** whether this enrollment created the tenant's repository or opened the existing one */
  readonly repository: "created" | "opened";
  readonly repositoryId: string;
}

export async function enroll(options: EnrollOptions): Promise<EnrollResult> {
  // Everything that can be checked locally is, before the token is spent.
  parseCron(options.schedule);
  const fingerprint = normalizeFingerprint(options.fingerprint);
  if ((await findAgentConfig(options.configPath)) !== undefined)
    throw new RempartError(
      "RepositoryExists",
      `this machine is already enrolled (${options.configPath}); remove that file to enroll it again`,
      { path: options.configPath },
    );
  const client = new PinnedClient({ url: options.server, fingerprint, retries: 0 });
  let enrolled: EnrollResponse;
  try {
    const request: EnrollRequest = {
      token: options.token,
      hostname: options.hostname,
      version: VERSION,
    };
    // Not retried: the token is spent by the first request that reaches the server.
    const answer = await client.json<unknown>("POST", `${API_PREFIX}/enroll`, request, false);
    enrolled = EnrollResponse.answer(answer, client.origin);
  } finally {
    client.close();
  }

  const config: AgentConfig = {
    server: client.origin,
    fingerprint,
    agentId: enrolled.agent_id,
    credential: enrolled.credential,
    tenant: { id: enrolled.tenant.id, name: enrolled.tenant.name },
    repositoryPassword: options.password,
    schedule: options.schedule,
    paths: options.paths,
    exclude: options.exclude,
  };
  const store = agentStore(config);
  try {
    const { repo, outcome } = await openOrCreate(store, options).catch((error: unknown) => {
      if (!isRempartError(error, "WrongPassword")) throw error;
      throw new RempartError(
        "WrongPassword",
        `wrong password for the repository of tenant ${config.tenant.name}: no key slot matches. Nothing was written, and the enrollment token is used up: enroll again with a new token and the tenant's repository password`,
      );
    });
    // The slot the password opened (or created) is tried first on every later open.
    const enrolled = { ...config, keySlot: repo.openedWith };
    await writeAgentConfig(enrolled, options.configPath);
    return { config: enrolled, repository: outcome, repositoryId: repo.config.id };
  } finally {
    store.close();
  }
}

async function openOrCreate(
  store: ReturnType<typeof agentStore>,
  options: EnrollOptions,
): Promise<{ repo: Repository; outcome: "created" | "opened" }> {
  const open = async () => ({
    repo: await Repository.open(store, { password: options.password }),
    outcome: "opened" as const,
  });
  if (await store.stat({ kind: "config", name: "config" })) return open();
  try {
    const repo = await Repository.init(store, {
      password: options.password,
      label: `agent ${options.hostname}`,
      chunker: DEFAULT_CHUNKER_PARAMS,
    });
    return { repo, outcome: "created" };
  } catch (error) {
    // Another machine of the tenant created the repository meanwhile: its config won, and the
    // key slot stored here opens nothing (the repository ignores slots its config rejects).
    if (isRempartError(error, "ObjectConflict") || isRempartError(error, "RepositoryExists"))
      return open();
    throw error;
  }
}
