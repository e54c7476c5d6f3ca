/**
 * Binds the command table (command.ts) to commander, which parses the command line, refuses
 * unknown commands, options and extra arguments, and prints each command's help. Every parse
 * error becomes an InvalidArgument error with the command's usage, so it ends like any other
 * usage error (exit code 1); help and --version end the run with their own exit code.
 */
import { Command as Commander, CommanderError, Option } from "commander";
import { RempartError } from "../errors.js";
import { type Command, CommandContext, type OptionSpec } from "./command.js";

/** Where the outcome of the command that ran is handed back to main. */
export interface Run {
  /** the full command, `rempart admin tenant create`, for error messages */
  command: string;
  exitCode?: number;
}

/** Help and --version: the run is over, with this exit code. */
const HELP_OR_VERSION = ["commander.helpDisplayed", "commander.help", "commander.version"];

export function isHelpOrVersion(error: unknown): error is CommanderError {
  return error instanceof CommanderError && HELP_OR_VERSION.includes(error.code);
}

const JSON_OPTION: OptionSpec = {
  type: "boolean",
  help: "print results as JSON (one object per line) instead of text",
};

function flagsOf(name: string, spec: OptionSpec): string {
  const long = `--${name}${spec.type === "string" ? ` <${spec.value ?? "VALUE"}>` : ""}`;
  return spec.short === undefined ? long : `-${spec.short}, ${long}`;
}

const collect = (value: string, previous: readonly string[] | undefined) => [
  ...(previous ?? []),
  value,
];

/** The values of a command's options and its parents' (`--data` is given to `admin`). */
function valuesOf(command: Commander): Record<string, string | boolean | string[] | undefined> {
  const values: Record<string, string | boolean | string[] | undefined> = {};
  for (let c: Commander | null = command; c !== null; c = c.parent)
    for (const option of c.options) {
      const name = option.long?.slice(2);
      if (name === undefined || name in values) continue;
      const value = c.getOptionValue(option.attributeName());
      // commander stores `--no-jobs` as jobs=false; a command asks flag("no-jobs"): was it given?
      values[name] = option.negate ? value === false : value;
    }
  return values;
}

function usageError(error: CommanderError, spec: Command, path: string): Error {
  if (HELP_OR_VERSION.includes(error.code)) return error;
  // `unknown admin command "bogus"`: the group is named, the command quoted as typed.
  const group = path.split(" ").slice(1).join(" ");
  const message = error.message
    .replace(/^error: /, "")
    .replace(/^required option '(?:-\w, )?(--[\w-]+)[^']*' not specified/, "$1 is required")
    .replace(
      /^unknown command '([^']*)'/,
      `unknown ${group === "" ? "" : `${group} `}command "$1"`,
    );
  return new RempartError(
    "InvalidArgument",
    `${message}\nusage: ${spec.usage}\n(\`${path} --help\` explains every option)`,
  );
}

/**
 * `inherited`: whether a group above this command (`admin`, for its `--data`) has options, which
 * its help then lists too.
 */
function toCommander(spec: Command, path: string, run: Run, inherited = false): Commander {
  const command = new Commander(spec.name)
    .description(spec.summary)
    .exitOverride((error) => {
      run.command = path;
      throw usageError(error, spec, path);
    })
    // usageError carries the message to main, which prints it once.
    .configureOutput({ outputError: () => {} })
    .configureHelp({
      showGlobalOptions: inherited,
      commandUsage: () => spec.usage,
      // A group lists its commands by name; each one's --help gives its arguments.
      subcommandTerm: (sub) => sub.name(),
      // `usage:`, as in usage errors and the rest of Rempart's output.
      styleTitle: (title) => title.toLowerCase(),
    })
    .allowExcessArguments(false);
  for (const argument of spec.arguments ?? []) command.argument(argument.syntax, argument.help);
  const options = spec.run === undefined ? spec.options : { ...spec.options, json: JSON_OPTION };
  for (const [name, option] of Object.entries(options)) {
    const added = new Option(
      flagsOf(name, option),
      option.required ? `${option.help} (required)` : option.help,
    ).makeOptionMandatory(option.required === true);
    command.addOption(option.multiple ? added.argParser(collect) : added);
  }
  for (const sub of spec.subcommands ?? [])
    command.addCommand(
      toCommander(
        sub,
        `${path} ${sub.name}`,
        run,
        inherited || Object.keys(spec.options).length > 0,
      ),
      {
        isDefault: sub.isDefault === true,
      },
    );
  if (spec.run !== undefined)
    command.action(async (...args: unknown[]) => {
      const self = args.at(-1) as Commander;
      run.command = path;
      run.exitCode = await spec.run?.call(spec, new CommandContext(valuesOf(self), self.args));
    });
  return command;
}

/** The whole command tree, ready to parse: `rempart` is `root`. */
export function buildProgram(root: Command, version: string, run: Run): Commander {
  const program = toCommander(root, root.name, run);
  return program.version(version, "-V, --version", "print Rempart's version");
}
