/** What every command shares: its option table, the repository it opens, and its output. */
import { resolve } from "node:path";
import { type ParseArgsConfig, parseArgs } from "node:util";
import {
  type AgentConfig,
  agentOpenOptions,
  agentStore,
  findAgentConfig,
} from "../agent/config.js";
import { parseRecoveryPrivateKey } from "../crypto/recovery-key.js";
import { RempartError } from "../errors.js";
import { Repository, type SkippedObject } from "../repository/repository.js";
import { FsObjectStore } from "../storage/fs/fs-store.js";
import type { ObjectStore } from "../storage/object-store.js";
import { Output } from "./output.js";
import { readFileSecret, readPassword } from "./secrets.js";

export type OptionTable = NonNullable<ParseArgsConfig["options"]>;

const GLOBAL_OPTIONS: OptionTable = {
  repo: { type: "string" },
  "password-file": { type: "string" },
  "recovery-key-file": { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
};

export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  readonly options: OptionTable;
  run(context: CommandContext): Promise<number>;
}

type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

export class CommandContext {
  readonly output: Output;

  constructor(
    private readonly values: Values,
    readonly positionals: readonly string[],
  ) {
    this.output = new Output(this.flag("json"));
  }

  string(name: string): string | undefined {
    const value = this.values[name];
    return typeof value === "string" ? value : undefined;
  }

  strings(name: string): string[] {
    const value = this.values[name];
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
  }

  flag(name: string): boolean {
    return this.values[name] === true;
  }

  repositoryPath(): string {
    const path = this.string("repo") ?? process.env.REMPART_REPO;
    if (!path)
      throw new RempartError(
        "InvalidArgument",
        "no repository given: pass --repo or set REMPART_REPO",
      );
    return resolve(path);
  }

  /** The storage of an existing repository: --repo, else the server this machine is enrolled with. */
  async store(): Promise<ObjectStore> {
    const agent = await this.agentConfig();
    return agent ? agentStore(agent) : FsObjectStore.open(this.repositoryPath());
  }

  async password(confirm = false): Promise<string> {
    const given = this.string("password-file") !== undefined || !!process.env.REMPART_PASSWORD;
    const agent = given ? undefined : await this.agentConfig();
    if (agent) return agent.repositoryPassword;
    return readPassword({
      file: this.string("password-file"),
      env: "REMPART_PASSWORD",
      prompt: "repository password",
      confirm,
    });
  }

  /** The agent configuration, when no local repository is named and this machine is enrolled. */
  private agentConfig(): Promise<AgentConfig | undefined> {
    if (this.string("repo") ?? process.env.REMPART_REPO) return Promise.resolve(undefined);
    return findAgentConfig();
  }

  async openRepository(): Promise<Repository> {
    const keyFile = this.string("recovery-key-file");
    const secret = keyFile
      ? {
          recoveryPrivateKey: parseRecoveryPrivateKey(readFileSecret(keyFile, "recovery key file")),
        }
      : { password: await this.password() };
    const agent = await this.agentConfig();
    return Repository.open(await this.store(), secret, {
      ...(agent ? agentOpenOptions(agent) : {}),
      onSkipped: (objects) => warnSkipped(this.output, objects),
    });
  }
}

/**
 * Objects a command's reads skipped (they failed to open or authenticate: damage, or uploads of
 * a compromised machine) are announced on stderr, and the command goes on without them.
 */
export function warnSkipped(output: Output, objects: readonly SkippedObject[]): void {
  if (output.json) {
    for (const object of objects)
      output.warn(JSON.stringify({ message_type: "skipped", ...object }));
    return;
  }
  const shown = objects.slice(0, 5);
  for (const { kind, name, reason, uploadedBy } of shown)
    output.warn(
      `warning: skipped ${kind} object ${name.slice(0, 16)}: ${reason}${uploadedBy === undefined ? "" : ` (uploaded by agent ${uploadedBy})`}`,
    );
  if (objects.length > shown.length)
    output.warn(
      `warning: ${objects.length - shown.length} more object(s) skipped; \`rempart check\` lists them all`,
    );
}

export function parseCommandLine(command: Command, args: string[]): CommandContext {
  try {
    const { values, positionals } = parseArgs({
      args,
      options: { ...command.options, ...GLOBAL_OPTIONS },
      allowPositionals: true,
      strict: true,
    });
    return new CommandContext(values, positionals);
  } catch (error) {
    throw new RempartError(
      "InvalidArgument",
      `${(error as Error).message}\nusage: ${command.usage}`,
    );
  }
}
