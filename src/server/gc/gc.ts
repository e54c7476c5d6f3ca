/**
 * Server-side garbage collection of packs, without tenant keys (the argument is in docs/GC.md).
 *
 * Mark: the packs that some active or held snapshot lists (the catalog's snapshot_packs, recorded
 * at commit). Sweep, per tenant:
 * 1. every pack the catalog holds, that nothing marks, recorded before `now - grace`: forget it in
 *    the catalog first (`forgetPack`, atomic with commits, which check the catalog), then remove
 *    its file;
 * 2. every pack file the catalog does not list whose file is older than the grace: leftovers of a
 *    killed GC (forgotten, file not yet removed) or of a killed upload (stored, never recorded).
 *
 * A file is removed in two steps (SweepableStore): set aside into the store's trash, then, unless
 * the catalog meanwhile lists the pack again (an agent re-uploaded it: the upload found the file
 * still there, so it did not write it again), purged; if the catalog does list it, the file is put
 * back. A run killed between the steps leaves packs in the trash, which the next run settles first.
 */
import { open, readFile, unlink } from "node:fs/promises";
import { join } from "node:path";
import type { AuditActor, Catalog, Tenant } from "../../catalog/catalog.js";
import { MAX_PAGE } from "../../catalog/catalog.js";
import { RempartError } from "../../errors.js";
import type { TenantStoreSet } from "../../storage/tenant-store-set.js";

/** Like Proxmox Backup Server: a backup running longer than a day is not protected. */
export const DEFAULT_GRACE_MS = 24 * 60 * 60 * 1000;

export interface GcContext {
  readonly catalog: Catalog;
  readonly stores: TenantStoreSet;
}

export interface GcOptions {
  readonly now: Date;
  readonly graceMs: number;
  readonly dryRun: boolean;
  readonly actor: AuditActor;
}

export interface GcReport {
  readonly tenant: Tenant;
  readonly dryRun: boolean;
  /** Packs the catalog held and this run forgot and removed (dry run: would). */
  readonly packs: number;
  readonly bytes: number;
  /** Pack files the catalog did not list, removed (dry run: would be). */
  readonly strayFiles: number;
  readonly strayBytes: number;
  /** Files found in gc-trash (a killed run's) or removed meanwhile, put back because listed again. */
  readonly restored: number;
}

/** Pure: whether a pack file is debris the sweep may remove. */
export function isStray(file: { recorded: boolean; mtimeMs: number }, cutoffMs: number): boolean {
  return !file.recorded && file.mtimeMs < cutoffMs;
}

function errno(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

export async function collectTenant(
  ctx: GcContext,
  tenant: Tenant,
  options: GcOptions,
): Promise<GcReport> {
  const { now, dryRun } = options;
  if (!Number.isSafeInteger(options.graceMs) || options.graceMs < 0)
    throw new RempartError("InvalidArgument", "the grace period must be a duration of 0 or more");
  const cutoff = new Date(now.getTime() - options.graceMs);
  const store = await ctx.stores.get(tenant.id);
  const recorded = (name: string) => ctx.catalog.objectExists(tenant.id, "data", name);
  let restored = 0;

  /** Sets the pack aside, then purges it unless the catalog lists it again. Bytes freed. */
  const discard = async (name: string): Promise<number> =>
    (await store.trashPack(name)) ? settle(name) : 0;
  /** A trashed pack: back in place if the catalog lists it, else gone. Bytes freed. */
  const settle = async (name: string): Promise<number> => {
    if (!(await recorded(name))) return store.purgePack(name);
    await store.restorePack(name);
    restored += 1;
    return 0;
  };

  // A killed run's trashed packs first, so that none of them is left in limbo.
  if (!dryRun) {
    const leftovers: string[] = [];
    for await (const name of store.trashedPacks()) leftovers.push(name);
    for (const name of leftovers) await settle(name);
  }

  let packs = 0;
  let bytes = 0;
  if (dryRun) {
    const usage = await ctx.catalog.unreferencedPackUsage(tenant.id, cutoff);
    packs = usage.count;
    bytes = usage.bytes;
  } else {
    for (let after = ""; ; ) {
      const page = await ctx.catalog.listUnreferencedPacks(tenant.id, {
        createdBefore: cutoff,
        after,
        limit: MAX_PAGE,
      });
      for (const name of page) {
        const forgot = await ctx.catalog.forgetPack(tenant.id, name, cutoff);
        if (forgot.outcome !== "forgotten") continue; // referenced by a commit since the listing
        packs += 1;
        bytes += forgot.size;
        await discard(name);
      }
      const last = page.at(-1);
      if (page.length < MAX_PAGE || last === undefined) break;
      after = last;
    }
  }

  let strayFiles = 0;
  let strayBytes = 0;
  for await (const info of store.list("data")) {
    const storedAt = await store.storedAt(info);
    if (storedAt === undefined) continue;
    const mtimeMs = storedAt.getTime();
    if (!isStray({ recorded: await recorded(info.name), mtimeMs }, cutoff.getTime())) continue;
    const freed = dryRun ? info.size : await discard(info.name);
    if (freed > 0) {
      strayFiles += 1;
      strayBytes += freed;
    }
  }

  const report = { tenant, dryRun, packs, bytes, strayFiles, strayBytes, restored };
  if (!dryRun && (packs > 0 || strayFiles > 0 || restored > 0))
    await ctx.catalog.appendAudit(
      {
        actor: options.actor,
        action: "gc.run",
        tenantId: tenant.id,
        details: {
          packs,
          bytes,
          stray_files: strayFiles,
          stray_bytes: strayBytes,
          restored,
          grace_seconds: Math.round(options.graceMs / 1000),
        },
      },
      now,
    );
  return report;
}

/**
 * One GC at a time per data directory: two sweeps interleaving their rename and recheck could
 * each trust a state the other is changing. The lock holds the owner's pid; a lock whose process
 * is gone (killed GC) is taken over.
 */
export async function withGcLock<T>(dataDir: string, work: () => Promise<T>): Promise<T> {
  const path = join(dataDir, "gc.lock");
  for (let attempt = 0; ; attempt += 1) {
    try {
      const handle = await open(path, "wx", 0o600);
      await handle.writeFile(String(process.pid));
      await handle.close();
      break;
    } catch (error) {
      if (errno(error) !== "EEXIST" || attempt > 0) {
        if (errno(error) === "EEXIST")
          throw new RempartError("ObjectConflict", `another GC is running (lock ${path})`, {
            reason: "gc-running",
          });
        throw error;
      }
      const pid = Number((await readFile(path, "utf8").catch(() => "")).trim());
      if (Number.isSafeInteger(pid) && pid > 0 && isAlive(pid))
        throw new RempartError(
          "ObjectConflict",
          `another GC is running (process ${pid}, lock ${path})`,
          { reason: "gc-running", pid },
        );
      await unlink(path).catch(() => {});
    }
  }
  try {
    return await work();
  } finally {
    await unlink(path).catch(() => {});
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errno(error) === "EPERM";
  }
}
