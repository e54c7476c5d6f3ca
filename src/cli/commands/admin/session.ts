/** What every `rempart admin` command shares: the server's data directory, opened, and its actor. */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Catalog } from "../../../catalog/catalog.js";
import { RempartError } from "../../../errors.js";
import type { AdminActor, AdminContext } from "../../../server/admin.js";
import { ADMIN_USERNAME, ensureAdminOperator, openDataDir } from "../../../server/data-dir.js";
import type { ArgumentSpec, CommandContext, OptionSpec } from "../../command.js";
import type { Output } from "../../output.js";

export interface AdminSession {
  readonly ctx: AdminContext;
  readonly dataDir: string;
  /** one clock reading for the whole command */
  readonly now: Date;
  /** who the audit log names; creates the first admin login when there is none */
  actor(): Promise<AdminActor>;
}

export const TENANT_ARGUMENT: ArgumentSpec = { syntax: "<NAME>", help: "the tenant's name" };

/** For the jobs that run over every tenant (prune, gc). */
export const ONE_TENANT_OPTION: OptionSpec = {
  type: "string",
  value: "NAME",
  help: "this tenant only (default: every tenant)",
};

/** A catalog time as the admin commands print it: UTC, to the second. */
export const day = (iso: string | null) =>
  iso === null ? "never" : iso.replace("T", " ").slice(0, 19);

/** The `admin` operator issues the CLI's enrollment tokens; the audit log names the CLI itself. */
async function cliActor(catalog: Catalog, output: Output, now: Date): Promise<AdminActor> {
  const password = await ensureAdminOperator(catalog, now);
  if (password !== undefined)
    output.warn(
      `created the first admin login: username ${ADMIN_USERNAME}, password ${password} (shown this once)`,
    );
  const admin = await catalog.getOperatorByUsername(ADMIN_USERNAME);
  if (admin === undefined) throw new RempartError("NotFound", "the admin operator is missing");
  return { audit: { kind: "system", id: "admin-cli" }, operatorId: admin.id };
}

/** An admin command's action, run on the data directory named by `--data` (default ./data). */
export function withDataDir(
  action: (context: CommandContext, admin: AdminSession) => Promise<number>,
): (context: CommandContext) => Promise<number> {
  return async (context) => {
    const dataDir = resolve(context.string("data") ?? "data");
    if (!existsSync(join(dataDir, "catalog.sqlite")))
      throw new RempartError(
        "NotFound",
        `there is no Rempart server data in ${dataDir}: start \`rempart server --data ${dataDir}\` once, or pass --data DIR`,
        { data: dataDir },
      );
    const data = await openDataDir(dataDir);
    try {
      const ctx: AdminContext = {
        catalog: data.catalog,
        stores: data.stores,
        now: () => new Date(),
      };
      const now = ctx.now();
      return await action(context, {
        ctx,
        dataDir,
        now,
        actor: () => cliActor(ctx.catalog, context.output, now),
      });
    } finally {
      await data.catalog.close();
    }
  };
}
