/** Entry point of the `rempart` command: dispatches to a command and maps errors to exit codes. */
import { isRempartError } from "../errors.js";
import { REMPART_VERSION } from "../version.js";
import type { Command } from "./command.js";
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
import { versionCommand } from "./commands/version.js";
import { EXIT, exitCodeFor } from "./exit-codes.js";
import { buildProgram, isHelpOrVersion, type Run } from "./program.js";

const rempart: Command = {
  name: "rempart",
  summary: "Externalized, deduplicated, encrypted backups for managed-service providers",
  usage: "rempart COMMAND [options]   (rempart help COMMAND, rempart COMMAND --help)",
  options: {},
  subcommands: [
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
    versionCommand,
  ],
};

const EPILOGUE = [
  "",
  "A repository command without --repo (or REMPART_REPO) uses the server this machine is enrolled",
  "with. Secrets are never taken on the command line: REMPART_PASSWORD, --password-file, a prompt.",
  "exit codes: 0 ok, 1 error (a usage error too), 3 backup incomplete (unreadable files),",
  "            10 wrong password, 11 repository corrupt or objects missing",
].join("\n");

export async function main(argv: string[]): Promise<number> {
  const run: Run = { command: "rempart" };
  const program = buildProgram(rempart, REMPART_VERSION, run).addHelpText("after", EPILOGUE);
  if (argv.length === 0) {
    // Bare `rempart`: the help, on stdout, but not a success (a script that forgot its command).
    program.outputHelp();
    return EXIT.error;
  }
  try {
    await program.parseAsync(argv, { from: "user" });
    return run.exitCode ?? EXIT.ok;
  } catch (error) {
    if (isHelpOrVersion(error)) return error.exitCode;
    if (isRempartError(error)) {
      process.stderr.write(`${run.command}: ${error.message}\n`);
      return exitCodeFor(error.code);
    }
    // An unexpected failure is a bug: show everything needed to report it.
    process.stderr.write(
      `${run.command}: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return EXIT.error;
  }
}
