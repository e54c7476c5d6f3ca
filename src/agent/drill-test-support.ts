/**
 * For the drill suites: a real server process, a tenant, and an agent enrolled through the CLI
 * whose configuration drills every file of the snapshot into a scratch folder the test watches.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CoverageReport } from "../protocol/api.js";
import {
  type Cleanup,
  type CliOptions,
  expectExit,
  jsonOutput,
  runCli,
  tempDir,
} from "../testing/cli.js";
import { enrollCli, Operator, ServerProcess } from "./test-support.js";

export interface DrillingAgent {
  readonly server: ServerProcess;
  readonly tenantId: string;
  readonly configPath: string;
  /** the CLI options that make a command act as this agent */
  readonly as: CliOptions;
  /** where its drills make their scratch folders */
  readonly scratchParent: string;
  /** `admin report coverage --json` on the server's data directory */
  coverage(): Promise<CoverageReport>;
}

/**
 * Enrolls an agent of tenant acme backing up `src` (filled by `fill`), with `drill` settings
 * (every file sampled unless they say otherwise); nothing is backed up yet.
 */
export async function drillingAgent(
  suite: Cleanup,
  label: string,
  fill: (src: string) => void,
  drill: Record<string, unknown> = {},
  enrollOptions: readonly string[] = [],
): Promise<DrillingAgent> {
  const base = tempDir(suite, label);
  const server = await ServerProcess.start(suite, join(base, "server"));
  const operator = await Operator.login(server, server.adminPassword);
  suite.after(() => operator.close());
  const tenant = await operator.createTenant("acme");
  const src = join(base, "src");
  mkdirSync(src);
  fill(src);
  const configPath = join(base, "agent", "agent.json");
  const token = await operator.enrollToken("acme");
  const extra = ["--path", src, ...enrollOptions];
  expectExit(await enrollCli(server, token, { configPath, extra }), 0, "enroll");
  const scratchParent = join(base, "scratch");
  mkdirSync(scratchParent);
  const config = JSON.parse(readFileSync(configPath, "utf8")) as Record<string, unknown>;
  config.drill = { percent: 100, scratchParent, ...drill };
  writeFileSync(configPath, JSON.stringify(config), { mode: 0o600 });
  return {
    server,
    tenantId: tenant.id,
    configPath,
    as: { password: null, env: { REMPART_AGENT_CONFIG: configPath } },
    scratchParent,
    coverage: async () =>
      jsonOutput<CoverageReport>(
        expectExit(
          await runCli(["admin", "report", "coverage", "--json", "--data", server.dataDir]),
          0,
        ),
      ),
  };
}
