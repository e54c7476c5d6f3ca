/** The command line itself, through the real bin/rempart.js: help, version, usage errors. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  assertCleanFailure,
  CLI,
  expectExit,
  jsonOutput,
  PROJECT_ROOT,
  runCli,
  tempDir,
} from "../testing/cli.js";

const VERSION = (
  JSON.parse(readFileSync(join(PROJECT_ROOT, "package.json"), "utf8")) as { version: string }
).version;

describe("rempart help", () => {
  it("prints a command's own help for `COMMAND --help` and `help COMMAND`, on stdout, exit 0", async () => {
    const own = expectExit(await runCli(["backup", "--help"]), 0, "backup --help");
    assert.match(own.stdout, /^usage: rempart backup /);
    // Each option with its meaning, and the global help is not what was printed.
    assert.match(own.stdout, /--exclude <PATTERN>\s+skip paths matching PATTERN/);
    assert.match(own.stdout, /--tag <TAG>\s+tag the snapshot/);
    assert.match(own.stdout, /--repo <DIR>\s+the repository/);
    assert.match(own.stdout, /--json\s+print results as JSON/);
    assert.doesNotMatch(own.stdout, /snapshots\s+list snapshots/);
    const viaHelp = expectExit(await runCli(["help", "backup"]), 0, "help backup");
    assert.equal(viaHelp.stdout, own.stdout);
  });

  it("lists every command in the global help, and each admin group's commands in its own", async () => {
    const global = expectExit(await runCli(["--help"]), 0, "--help");
    for (const name of ["init", "backup", "restore", "server", "admin", "agent", "version"])
      assert.match(global.stdout, new RegExp(`^  ${name} `, "m"), name);
    assert.match(global.stdout, /exit codes: 0 ok, 1 error/);
    const admin = expectExit(await runCli(["admin", "help", "tenant"]), 0, "admin help tenant");
    for (const name of ["create", "list", "show", "set-quota", "delete", "cancel-delete"])
      assert.match(admin.stdout, new RegExp(`^  ${name} `, "m"), name);
  });

  it("shows a nested command's options with the group's --data", async () => {
    const result = expectExit(
      await runCli(["admin", "tenant", "create", "--help"]),
      0,
      "admin tenant create --help",
    );
    assert.match(result.stdout, /^usage: rempart admin tenant create NAME --retention-days N/);
    assert.match(result.stdout, /--retention-days <N>\s+keep snapshots N days[\s\S]*\(required\)/);
    assert.match(result.stdout, /--quota <SIZE\|none>\s+the tenant's storage quota/);
    assert.match(result.stdout, /global options:\s+--data <DIR>\s+the server's data directory/);
  });
});

describe("rempart --version", () => {
  it("prints package.json's version, as `rempart version` does", async () => {
    const flag = expectExit(await runCli(["--version"]), 0, "--version");
    assert.equal(flag.stdout, `${VERSION}\n`);
    const command = expectExit(await runCli(["version"]), 0, "version");
    assert.equal(command.stdout, `${VERSION}\n`);
    const json = jsonOutput<{ version: string }>(
      expectExit(await runCli(["version", "--json"]), 0, "version --json"),
    );
    assert.deepEqual(json, { version: VERSION });
  });

  it("starts with 64 open files allowed: loading its own modules takes few descriptors", () => {
    // A dependency of hundreds of small ES modules once made Node open them all at once. Help
    // loads every command's module (the bundle's chunks), more than any one command does.
    const result = spawnSync(
      "sh",
      ["-c", 'ulimit -n 64 && exec "$@"', "sh", process.execPath, CLI, "--help"],
      {
        encoding: "utf8",
      },
    );
    assert.equal(result.stderr, "");
    assert.match(result.stdout, /^usage: rempart COMMAND/);
    assert.equal(result.status, 0);
  });

  it("ends quietly, by SIGPIPE's status, when its reader stops early (`| head`)", () => {
    const result = spawnSync(
      "sh",
      ["-c", '"$@" | head -c 10 >/dev/null', "sh", process.execPath, CLI, "--help"],
      { encoding: "utf8" },
    );
    assert.equal(result.stderr, "", "no unhandled EPIPE and its stack trace");
    assert.equal(result.status, 0);
  });
});

describe("usage errors", () => {
  it("name the unknown option, command or extra argument, show the usage, and exit 1", async (t) => {
    const data = join(tempDir(t, "usage"), "none");
    const cases: [string[], RegExp][] = [
      [
        ["backup", "--frobnicate", "/tmp"],
        /^rempart backup: unknown option '--frobnicate'\nusage: rempart backup /,
      ],
      [
        ["admin", "tenant", "list", "--bogus", "--data", data],
        /^rempart admin tenant list: unknown option '--bogus'\nusage: rempart admin tenant list/,
      ],
      [
        ["admin", "tenant", "frobnicate"],
        /unknown admin tenant command "frobnicate"[\s\S]*usage: rempart admin tenant /,
      ],
      [["snapshots", "extra"], /too many arguments[\s\S]*usage: rempart snapshots/],
      [
        ["admin", "agent", "revoke"],
        /missing required argument 'AGENT_ID'[\s\S]*usage: rempart admin agent revoke AGENT_ID/,
      ],
      [["key", "generate-recovery", "--public-out", "x"], /--private-out is required/],
      [["restore", "latest", "--target"], /option '-t, --target <DIR>' argument missing/],
      [
        ["server", "--data", data, "--disk-reserve", "5X"],
        /--disk-reserve wants a size such as 500G/,
      ],
      [["server", "--data", data, "--upload-memory", "0.5"], /--upload-memory wants a size/],
    ];
    for (const [args, message] of cases) {
      const result = expectExit(await runCli(args), 1, args.join(" "));
      assertCleanFailure(result);
      assert.match(result.stderr, message, args.join(" "));
      assert.equal(result.stdout, "", args.join(" "));
    }
  });

  it("print the help on stderr for a group named without a command, and exit 1", async () => {
    const result = expectExit(await runCli(["admin"]), 1, "admin");
    assert.match(result.stderr, /^usage: rempart admin COMMAND/);
    assert.match(result.stderr, /^ {2}quarantine /m);
  });
});
