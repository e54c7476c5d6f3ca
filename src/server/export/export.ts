/**
 * Export for a departing client: the tenant's repository written as a plain local repository
 * (docs/FORMAT.md's layout, `FsObjectStore`) that the client opens with its own password
 * (`rempart snapshots --repo DIR`, `rempart restore`). The server never holds a tenant key: it
 * copies the encrypted objects as they are, and the export is as confidential as the store.
 *
 * What is exported is the repository as the tenant's agents see it (`listVisibleObjects`):
 * recorded objects, without those hidden by an active quarantine and without the snapshots
 * retention deleted. Kinds are copied snapshots first, then index, data, keys and config: a
 * snapshot committed while the export runs was committed after its packs and index were stored,
 * so every snapshot copied finds what it needs copied after it (the caller holds the maintenance
 * lock, so GC removes nothing meanwhile).
 *
 * Write-once and atomic: everything goes to a temporary directory beside the target, each object
 * flushed to disk by the store; then every copied object is read back and checked (its SHA-256
 * against its name; `config`, the one object not named by its hash, against its size), and only
 * then is the directory renamed into place. A damaged stored object fails the export with its
 * name and leaves no target behind. The target must be absent or an empty directory.
 */
import { createHash, randomBytes } from "node:crypto";
import { readdir, rename, rm } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import type { AuditActor, Catalog } from "../../catalog/catalog.js";
import { MAX_PAGE } from "../../catalog/catalog.js";
import { isRempartError, RempartError } from "../../errors.js";
import { FsObjectStore, syncDir } from "../../storage/fs/fs-store.js";
import type { ObjectKind, ObjectRef, ObjectStore } from "../../storage/object-store.js";
import type { TenantStoreSet } from "../../storage/tenant-store-set.js";
import { tenantByName } from "../admin.js";

export interface ExportContext {
  readonly catalog: Catalog;
  readonly stores: TenantStoreSet;
}

export interface ExportReport {
  readonly tenant: string;
  readonly target: string;
  readonly objects: number;
  readonly bytes: number;
  readonly byKind: Readonly<Record<ObjectKind, { objects: number; bytes: number }>>;
}

/** Snapshots before what they reference: see the header. */
const COPY_ORDER: readonly ObjectKind[] = ["snapshots", "index", "data", "keys", "config"];
/** Damaged objects named in the error; the count says how many more. */
const NAMED_DAMAGE = 20;

interface Copied {
  readonly ref: ObjectRef;
  readonly size: number;
}

async function isEmptyOrAbsent(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length === 0;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return true;
    if (code === "ENOTDIR") return false;
    throw error;
  }
}

/** Every object the tenant's agents can see, kind by kind, into `to`; and those missing. */
async function copyObjects(
  ctx: ExportContext,
  tenantId: string,
  from: ObjectStore,
  to: ObjectStore,
): Promise<{ copied: Copied[]; missing: string[] }> {
  const copied: Copied[] = [];
  const missing: string[] = [];
  for (const kind of COPY_ORDER) {
    for (let after = ""; ; ) {
      const page = await ctx.catalog.listVisibleObjects(tenantId, kind, { after, limit: MAX_PAGE });
      for (const object of page) {
        const ref = { kind, name: object.name };
        let bytes: Uint8Array;
        try {
          // One object in memory at a time: at most MAX_OBJECT_BYTES (packs are 16 MiB).
          bytes = await from.get(ref);
        } catch (error) {
          if (!isRempartError(error, "NotFound")) throw error;
          missing.push(`${kind}/${object.name}: recorded, but missing from the store`);
          continue;
        }
        await to.put(ref, bytes);
        copied.push({ ref, size: object.size });
      }
      const last = page.at(-1);
      if (page.length < MAX_PAGE || last === undefined) break;
      after = last.name;
    }
  }
  return { copied, missing };
}

/** What is wrong with each copied object, read back from the export. */
async function verify(store: ObjectStore, copied: readonly Copied[]): Promise<string[]> {
  const damaged: string[] = [];
  for (const { ref, size } of copied) {
    const bytes = await store.get(ref);
    const where = ref.kind === "config" ? "config" : `${ref.kind}/${ref.name}`;
    if (ref.kind === "config") {
      if (bytes.length !== size)
        damaged.push(`${where}: ${bytes.length} bytes where the catalog recorded ${size}`);
      continue;
    }
    const hash = createHash("sha256").update(bytes).digest("hex");
    if (hash !== ref.name) damaged.push(`${where}: its bytes hash to ${hash}`);
  }
  return damaged;
}

function emptyCounts(): Record<ObjectKind, { objects: number; bytes: number }> {
  return {
    config: { objects: 0, bytes: 0 },
    keys: { objects: 0, bytes: 0 },
    data: { objects: 0, bytes: 0 },
    index: { objects: 0, bytes: 0 },
    snapshots: { objects: 0, bytes: 0 },
  };
}

export async function exportTenant(
  ctx: ExportContext,
  actor: AuditActor,
  tenantName: string,
  targetDir: string,
  now: Date,
): Promise<ExportReport> {
  const tenant = await tenantByName(ctx.catalog, tenantName);
  if (tenant.status === "deleted")
    throw new RempartError(
      "NotFound",
      `tenant ${tenant.name} is deleted: its repository is gone and cannot be exported`,
      { tenant: tenant.name },
    );
  const target = resolve(targetDir);
  if (!(await isEmptyOrAbsent(target)))
    throw new RempartError(
      "ObjectConflict",
      `${target} is not empty: an export is written to a new or empty directory, never over anything`,
      { target, reason: "target-not-empty" },
    );
  const temp = join(
    dirname(target),
    `.${basename(target)}.rempart-export-${randomBytes(6).toString("hex")}`,
  );
  const audit = (action: string, details: Record<string, unknown>) =>
    ctx.catalog.appendAudit({ actor, action, tenantId: tenant.id, details }, now);
  try {
    const exported = await FsObjectStore.create(temp);
    const source = await ctx.stores.get(tenant.id);
    const { copied, missing } = await copyObjects(ctx, tenant.id, source, exported);
    const damaged = [...missing, ...(await verify(exported, copied))];
    if (damaged.length > 0) {
      await audit("tenant.export.fail", {
        target,
        damaged: damaged.length,
        first: damaged.slice(0, 5),
      });
      throw new RempartError(
        "RepositoryCorrupt",
        `the export of tenant ${tenant.name} failed: ${damaged.length} stored object(s) are damaged, nothing was written to ${target}:\n${damaged
          .slice(0, NAMED_DAMAGE)
          .map((line) => `  ${line}`)
          .join(
            "\n",
          )}${damaged.length > NAMED_DAMAGE ? `\n  … and ${damaged.length - NAMED_DAMAGE} more` : ""}`,
        { tenant: tenant.name, damaged: damaged.length },
      );
    }
    await syncDir(temp);
    // rename(2) replaces an empty directory and fails on one that filled up meanwhile: write-once.
    await rename(temp, target);
    await syncDir(dirname(target));
    const byKind = emptyCounts();
    for (const { ref, size } of copied) {
      byKind[ref.kind].objects += 1;
      byKind[ref.kind].bytes += size;
    }
    const bytes = copied.reduce((n, c) => n + c.size, 0);
    await audit("tenant.export", { target, objects: copied.length, bytes });
    return { tenant: tenant.name, target, objects: copied.length, bytes, byKind };
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}
