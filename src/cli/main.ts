/** Entry point of the `rempart` command: dispatches to a command and maps errors to exit codes. */
import { isRempartError } from "../errors.js";
import { type Command, parseCommandLine } from "./command.js";
import { adminCommand } from "./commands/admin.js";
import { agentCommand } from "./commands/agent.js";
import { backupCommand } from "./commands/backup.js";
import { catCommand } from "./commands/cat.js";
import { checkCommand } from "./commands/check.js";
import { diffCommand } from "./commands/diff.js";
import { initCommand } from "./commands/init.js";
import { keyCommand } from "./commands/key.js";
import { lsCommand } from "./commands/ls.js";
import { restoreCommand } from "./commands/restore.js";
import { serverCommand } from "./commands/server.js";
import { snapshotsCommand } from "./commands/snapshots.js";
import { statsCommand } from "./commands/stats.js";
import { EXIT, exitCodeFor } from "./exit-codes.js";

const COMMANDS: readonly Command[] = [
  initCommand,
  backupCommand,
  snapshotsCommand,
  restoreCommand,
  checkCommand,
  lsCommand,
  diffCommand,
  catCommand,
  statsCommand,
  keyCommand,
  serverCommand,
  adminCommand,
  agentCommand,
];

function help(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    "usage: rempart COMMAND [options]",
    "",
    "commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "common options: --repo DIR (or REMPART_REPO, else the enrolled agent's server),",
    "                --password-file FILE (or REMPART_PASSWORD),",
    "                --recovery-key-file FILE (open with the MSP recovery private key), --json",
    "exit codes: 0 ok, 1 error, 3 backup incomplete (unreadable files), 10 wrong password,",
    "            11 repository corrupt or objects missing",
  ].join("\n");
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    process.stdout.write(`${help()}\n`);
    return name === undefined ? EXIT.error : EXIT.ok;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`rempart: unknown command "${name}"\n\n${help()}\n`);
    return EXIT.error;
  }
  try {
    const context = parseCommandLine(command, args);
    if (context.flag("help")) {
      process.stdout.write(`usage: ${command.usage}\n${command.summary}\n`);
      return EXIT.ok;
    }
    return await command.run(context);
  } catch (error) {
    if (isRempartError(error)) {
      process.stderr.write(`rempart ${name}: ${error.message}\n`);
      return exitCodeFor(error.code);
    }
    // An unexpected failure is a bug: show everything needed to report it.
    process.stderr.write(
      `rempart ${name}: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return EXIT.error;
  }
}
