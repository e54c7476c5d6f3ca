/**
 * The server's data directory, shared by `rempart server` and `rempart admin`:
 *
 *     <data>/catalog.sqlite   <data>/tls/   <data>/tenants/<tenant id>/
 *
 * Both processes may have it open at once (SQLite in WAL mode serializes their writes).
 */
import { randomBytes } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Catalog } from "../catalog/catalog.js";
import { openSqliteCatalog } from "../catalog/sqlite/catalog.js";
import { isRempartError } from "../errors.js";
import { hashPassword } from "./passwords.js";
import { TenantStores } from "./tenant-stores.js";

export const ADMIN_USERNAME = "admin";

export interface DataDir {
  readonly root: string;
  readonly catalog: Catalog;
  readonly stores: TenantStores;
}

export async function openDataDir(root: string): Promise<DataDir> {
  const path = resolve(root);
  // Owner only: the catalog names every client, and the stores' sizes say something about them.
  await mkdir(join(path, "tenants"), { recursive: true, mode: 0o700 });
  const catalog = openSqliteCatalog(join(path, "catalog.sqlite"));
  return { root: path, catalog, stores: new TenantStores(join(path, "tenants")) };
}

/**
 * Makes the `admin` operator with a random password unless it exists; answers that password the
 * one time it is made (only its scrypt hash is stored), undefined otherwise.
 */
export async function ensureAdminOperator(
  catalog: Catalog,
  now: Date,
): Promise<string | undefined> {
  if ((await catalog.getOperatorByUsername(ADMIN_USERNAME)) !== undefined) return undefined;
  const password = randomBytes(18).toString("base64url");
  try {
    const operator = await catalog.createOperator(
      { username: ADMIN_USERNAME, passwordHash: await hashPassword(password), role: "admin" },
      now,
    );
    await catalog.appendAudit(
      {
        actor: { kind: "system", id: "setup" },
        action: "operator.create",
        tenantId: null,
        details: { operator_id: operator.id, username: ADMIN_USERNAME, role: "admin" },
      },
      now,
    );
    return password;
  } catch (error) {
    // Another process (an admin command, a second start) made it first: theirs stands.
    if (isRempartError(error, "ObjectConflict")) return undefined;
    throw error;
  }
}
