/** What every command shares: its option table, the repository it opens, and its output. */
import { resolve } from "node:path";
import type { AgentConfig } from "../agent/config.js";
import { parseRecoveryPrivateKey } from "../crypto/recovery-key.js";
import { RempartError } from "../errors.js";
import { type OpenOptions, Repository, type SkippedObject } from "../repository/repository.js";
import { FsObjectStore } from "../storage/fs/fs-store.js";
import type { ObjectStore } from "../storage/object-store.js";
import { Output } from "./output.js";
import { readFileSecret, readPassword } from "./secrets.js";

/** One option: `--NAME VALUE` (string) or `--NAME` (boolean), with its meaning for --help. */
export interface OptionSpec {
  readonly type: "string" | "boolean";
  /** may be given again; every value is kept, in order */
  readonly multiple?: boolean;
  readonly short?: string;
  /** the value's placeholder in help and usage: DIR, SIZE… */
  readonly value?: string;
  /** the parser refuses a command line without it */
  readonly required?: boolean;
  readonly help: string;
}

export type OptionTable = Readonly<Record<string, OptionSpec>>;

export interface ArgumentSpec {
  /** `<NAME>` required, `[NAME]` optional, `<PATH...>` one or more */
  readonly syntax: string;
  readonly help: string;
}

/**
 * A command as data: src/cli/program.ts binds it to the argument parser (commander), which checks
 * the options and arguments declared here and prints the help made from them.
 */
export interface Command {
  readonly name: string;
  readonly summary: string;
  /** shown by --help and after a usage error */
  readonly usage: string;
  readonly arguments?: readonly ArgumentSpec[];
  readonly options: OptionTable;
  readonly subcommands?: readonly Command[];
  /** the subcommand its group runs when the next word names none (it is then an argument) */
  readonly isDefault?: boolean;
  /** absent for a group that only holds subcommands; a group with one runs it when none is named */
  run?(context: CommandContext): Promise<number>;
}

/** The options of every command that opens a repository. */
export const REPOSITORY_OPTIONS = {
  repo: {
    type: "string",
    value: "DIR",
    help: "the repository (default: REMPART_REPO, else the server this machine is enrolled with)",
  },
  "password-file": {
    type: "string",
    value: "FILE",
    help: "read the repository password from FILE (default: REMPART_PASSWORD, else a prompt)",
  },
  "recovery-key-file": {
    type: "string",
    value: "FILE",
    help: "open the repository with the MSP recovery private key in FILE instead of a password",
  },
} as const satisfies OptionTable;

/**
 * The agent's module, and with it the HTTP store and the wire schemas (TypeBox: most of a local
 * backup's code otherwise), loaded only by a command that uses the server this machine is
 * enrolled with.
 */
const agentModule = () => import("../agent/config.js");

type Values = Readonly<Record<string, string | boolean | readonly string[] | undefined>>;

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

  /** An option declared `required`: the parser has already refused a command line without it. */
  required(name: string): string {
    const value = this.string(name);
    if (value === undefined) throw new RempartError("InvalidArgument", `--${name} is required`);
    return value;
  }

  strings(name: string): string[] {
    const value = this.values[name];
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
  }

  /** A declared required argument: the parser has already refused a command line without it. */
  argument(index: number): string {
    const value = this.positionals[index];
    if (value === undefined)
      throw new RempartError("InvalidArgument", `argument ${index + 1} is missing`);
    return value;
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
    if (agent === undefined) return FsObjectStore.open(this.repositoryPath());
    const { agentCacheDir, agentStore } = await agentModule();
    return agentStore(agent, undefined, agentCacheDir(agent));
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
  private async agentConfig(): Promise<AgentConfig | undefined> {
    if (this.string("repo") ?? process.env.REMPART_REPO) return undefined;
    return (await agentModule()).findAgentConfig();
  }

  /** What the command reads next, asked for during the open (OpenOptions). */
  async openRepository(
    options: Pick<OpenOptions, "loadsIndex" | "listsSnapshots"> = {},
  ): Promise<Repository> {
    const keyFile = this.string("recovery-key-file");
    const secret = keyFile
      ? {
          recoveryPrivateKey: parseRecoveryPrivateKey(readFileSecret(keyFile, "recovery key file")),
        }
      : { password: await this.password() };
    const agent = await this.agentConfig();
    return Repository.open(await this.store(), secret, {
      ...options,
      ...(agent ? (await agentModule()).agentOpenOptions(agent) : {}),
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
