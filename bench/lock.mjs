// A pid lock file: O_EXCL create, and a lock whose owner has died is taken over.
import fs from "node:fs";

/** Returns true when this process now holds `lockFile`, false when a live process does. */
export function takeLock(lockFile) {
  try {
    fs.writeFileSync(lockFile, String(process.pid), { flag: "wx" });
    return true;
  } catch (e) {
    if (e.code !== "EEXIST") throw e;
    const holder = Number(fs.readFileSync(lockFile, "utf8"));
    if (holder && holder !== process.pid && fs.existsSync(`/proc/${holder}`)) return false;
    fs.rmSync(lockFile, { force: true });
    return takeLock(lockFile);
  }
}

export function releaseLock(lockFile) {
  try {
    if (Number(fs.readFileSync(lockFile, "utf8")) === process.pid) fs.rmSync(lockFile);
  } catch {
    // already gone
  }
}
