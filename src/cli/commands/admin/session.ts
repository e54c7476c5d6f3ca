/** What every `rempart admin` command shares: the server's data directory, opened, and its actor. */
import { existsSync } from "node:fs";
import { userInfo } from "node:os";
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

/** Who ran the command, as the system tells it: `os.userInfo()`, and `SUDO_USER`/`SUDO_UID`. */
export interface CliUser {
  readonly username: string;
  readonly uid: number;
  readonly sudoUser?: string | undefined;
  readonly sudoUid?: string | undefined;
}

/** Enough of a login name to recognise it; four of them stay within the actor id's 128. */
const NAME_CHARS = 32;

/**
 * The actor id of an admin command: `admin-cli:alice(1000)`, or `admin-cli:root(0),sudo:alice(1000)`
 * through sudo. The OS user comes first and is the system's word; the sudo part is what sudo
 * put in the environment (whoever can set it there is that OS user already).
 */
export function cliActorId(user: CliUser): string {
  const os = `admin-cli:${user.username.slice(0, NAME_CHARS)}(${user.uid})`;
  if (user.sudoUser === undefined || user.sudoUser === "") return os;
  return `${os},sudo:${user.sudoUser.slice(0, NAME_CHARS)}(${(user.sudoUid ?? "?").slice(0, 10)})`;
}

function currentUser(): CliUser {
  const sudo = { sudoUser: process.env.SUDO_USER, sudoUid: process.env.SUDO_UID };
  try {
    const { username, uid } = userInfo();
    return { username, uid, ...sudo };
  } catch {
    // A uid with no passwd entry (some containers): the uid still names it.
    return { username: process.env.USER ?? "?", uid: process.getuid?.() ?? -1, ...sudo };
  }
}

/** The `admin` operator issues the CLI's enrollment tokens; the audit log names who ran the CLI. */
async function cliActor(catalog: Catalog, output: Output, now: Date): Promise<AdminActor> {
  const password = await ensureAdminOperator(catalog, now);
  if (password !== undefined)
    output.warn(
      `created the first admin login: username ${ADMIN_USERNAME}, password ${password} (shown this once)`,
    );
  const admin = await catalog.getOperatorByUsername(ADMIN_USERNAME);
  if (admin === undefined) throw new RempartError("NotFound", "the admin operator is missing");
  return { audit: { kind: "system", id: cliActorId(currentUser()) }, operatorId: admin.id };
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
