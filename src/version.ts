/**
 * Rempart's version, written in one place: the package.json it was built from. The server
 * reports it, agents send it when they enroll and check in, and snapshots name it as their program.
 */
import { readFileSync } from "node:fs";

function readVersion(): string {
  try {
    // dist/version.js → package.json at the checkout's root.
    const text = readFileSync(new URL("../package.json", import.meta.url), "utf8");
    const version: unknown = (JSON.parse(text) as { version?: unknown }).version;
    return typeof version === "string" ? version : "unknown";
  } catch {
    return "unknown";
  }
}

export const REMPART_VERSION = readVersion();
