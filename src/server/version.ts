/** The server's version, from the package it was built from. */
import { readFileSync } from "node:fs";

function readVersion(): string {
  try {
    // dist/server/version.js → package.json at the checkout's root.
    const text = readFileSync(new URL("../../package.json", import.meta.url), "utf8");
    const version: unknown = (JSON.parse(text) as { version?: unknown }).version;
    return typeof version === "string" ? version : "unknown";
  } catch {
    return "unknown";
  }
}

export const SERVER_VERSION = readVersion();
