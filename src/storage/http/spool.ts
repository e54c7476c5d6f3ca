/**
 * The private directory where an agent spools packs before uploading them. Under a shared /tmp
 * another local user could make that directory first and watch or swap the files, so it must be
 * a real directory, ours, closed to everyone else. Files a killed agent left there are removed once
 * they are stale (a live spooled file is written and uploaded within seconds).
 */
import { lstat, mkdir, opendir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { RempartError } from "../../errors.js";

/** Like the filesystem store's temp files: an hour untouched means nobody is writing it. */
const STALE_SPOOL_AGE_MS = 60 * 60 * 1000;

export async function prepareSpoolDir(path: string, now = Date.now()): Promise<string> {
  try {
    await mkdir(path, { mode: 0o700 });
  } catch (error) {
    if ((error as { code?: unknown }).code !== "EEXIST") throw spoolError(path, error);
  }
  const found = await lstat(path).catch((error: unknown) => {
    throw spoolError(path, error);
  });
  const uid = process.getuid?.();
  if (
    !found.isDirectory() ||
    (uid !== undefined && found.uid !== uid) ||
    (found.mode & 0o077) !== 0
  )
    throw new RempartError(
      "InvalidArgument",
      `The spool directory ${path} is not a private directory of this user (mode ${(found.mode & 0o777).toString(8)}); remove it or point TMPDIR elsewhere.`,
      { path },
    );
  for await (const entry of await opendir(path)) {
    const file = join(path, entry.name);
    const info = await stat(file).catch(() => undefined);
    if (info?.isFile() && info.mtimeMs <= now - STALE_SPOOL_AGE_MS) await rm(file, { force: true });
  }
  return path;
}

function spoolError(path: string, error: unknown): RempartError {
  const code = (error as { code?: unknown }).code;
  return new RempartError(
    "Io",
    `Cannot prepare the spool directory ${path} (${String(code ?? error)}); set TMPDIR to a writable directory.`,
    { path },
  );
}
