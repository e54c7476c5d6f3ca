// A freshly made ext4 filesystem for each timed restore. On ext4, restoring right after a large
// tree was deleted makes the inode allocator scan recently freed inodes, and any tool's restore
// could take up to 3x longer, at random (../shared/notes/README.md). A new loop-mounted image per
// restore gives every tool the same empty filesystem; it needs root (mount).
import fs from "node:fs";
import { onPath, run } from "./measure.mjs";

// The share after the ransomware day is ~1.42 GB; the rest is room for metadata and slack.
const IMAGE_BYTES = 4 * 1024 ** 3;

/** Why a fresh filesystem cannot be made here, or undefined when it can. */
export function freshFsUnavailable() {
  if (process.getuid?.() !== 0) return "not running as root (mount needs it)";
  for (const cmd of ["mkfs.ext4", "mount", "umount"]) {
    if (!onPath(cmd)) return `${cmd} is not installed`;
  }
  return undefined;
}

/**
 * Makes a sparse image, an ext4 filesystem on it and mounts it at `mountPoint` (emptied first).
 * The inode tables and journal are written now, not by ext4lazyinit in the background, where
 * they would compete with the restore being timed.
 */
export function mountFreshFs(image, mountPoint) {
  unmountFreshFs(image, mountPoint);
  fs.mkdirSync(mountPoint, { recursive: true });
  run("truncate", ["-s", String(IMAGE_BYTES), image]);
  run("mkfs.ext4", ["-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0", image]);
  run("mount", ["-o", "loop", image, mountPoint]);
}

/** Unmounts (if mounted) and, unless `keepImage`, deletes the image. */
export function unmountFreshFs(image, mountPoint, keepImage = false) {
  if (isMountPoint(mountPoint)) run("umount", [mountPoint]);
  if (!keepImage) fs.rmSync(image, { force: true });
}

function isMountPoint(dir) {
  const target = fs.existsSync(dir) ? fs.realpathSync(dir) : dir;
  return fs
    .readFileSync("/proc/self/mounts", "utf8")
    .split("\n")
    .some((line) => line.split(" ")[1] === target);
}
