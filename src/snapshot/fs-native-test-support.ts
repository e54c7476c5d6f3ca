/** Where tests can set extended attributes: tmpfs took no user.* attributes before Linux 6.6. */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { setXattr } from "./fs-native.js";

/** Whether the filesystem holding `dir` takes user.* attributes (probed with a file it removes). */
export function userXattrsWork(dir: string): boolean {
  const probe = join(dir, "xattr-probe");
  writeFileSync(probe, "");
  try {
    setXattr(probe, "user.probe", Buffer.from("1"));
    return true;
  } catch {
    return false;
  } finally {
    rmSync(probe);
  }
}

/**
 * A new directory, removed after the test, on the first of the usual temporary places whose
 * filesystem takes user.* attributes; undefined when none does.
 */
export function userXattrDir(t: TestContext): string | undefined {
  for (const parent of [tmpdir(), "/tmp", "/dev/shm", "/var/tmp"]) {
    if (!existsSync(parent)) continue;
    const dir = mkdtempSync(join(parent, "rempart-xattr-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    if (userXattrsWork(dir)) return dir;
  }
  return undefined;
}
