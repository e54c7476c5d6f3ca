/**
 * What the per-concept conformance suites share: a fixed timeline, a fresh catalog per test, and
 * the records most tests start from, made through the catalog's own methods.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { afterEach, beforeEach } from "node:test";
import { type ErrorCode, isRempartError } from "../../errors.js";
import type { Agent, Catalog, NewAgent, SnapshotRecord, Tenant } from "../catalog.js";

export interface OpenedCatalog {
  readonly catalog: Catalog;
  readonly cleanup: () => Promise<void>;
}

/** Opens a fresh, empty catalog of the implementation under test. */
export type OpenCatalog = () => Promise<OpenedCatalog>;

const T0 = new Date("2030-01-01T00:00:00.000Z");
export const MINUTE = 60_000;
export const DAY = 86_400_000;

/** T0 plus `ms`: every test runs on a fixed timeline, never the clock. */
export function at(ms: number): Date {
  return new Date(T0.getTime() + ms);
}

/** A lowercase hex SHA-256, the form of token hashes, secret hashes and object names. */
export function hashOf(label: string): string {
  return createHash("sha256").update(label).digest("hex");
}

type RempartDetails = Readonly<Record<string, unknown>>;

/** Fails unless promise rejects with a RempartError of `code` (and `details.reason`, if given). */
export async function refuses(
  promise: Promise<unknown>,
  code: ErrorCode,
  reason?: string,
): Promise<RempartDetails> {
  let details: RempartDetails | undefined;
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isRempartError(error, code), `expected RempartError ${code}, got ${String(error)}`);
    if (reason !== undefined) assert.equal(error.details.reason, reason, error.message);
    details = error.details;
    return true;
  });
  return details ?? {};
}

/**
 * The catalog of the tests of the enclosing `describe`: a fresh one is opened before each test and
 * cleaned up after it, and this stands for whichever is open.
 */
export function catalogPerTest(open: OpenCatalog): Catalog {
  let current: OpenedCatalog | undefined;
  beforeEach(async () => {
    current = await open();
  });
  afterEach(async () => {
    await current?.cleanup();
    current = undefined;
  });
  const opened = (): Catalog => {
    if (current === undefined) throw new Error("the catalog is open only during a test");
    return current.catalog;
  };
  // Transparent to reflection too: a test may look at which methods the catalog offers.
  return new Proxy({} as Catalog, {
    get(_, name) {
      const value: unknown = Reflect.get(opened(), name);
      return typeof value === "function" ? value.bind(opened()) : value;
    },
    ownKeys: () => Reflect.ownKeys(opened()),
    getOwnPropertyDescriptor: (_, name) => Reflect.getOwnPropertyDescriptor(opened(), name),
    getPrototypeOf: () => Reflect.getPrototypeOf(opened()),
  });
}

/** Records most tests start from, each made the way the server makes it. */
export function fixtures(catalog: Catalog) {
  const recordPack = (owner: Tenant, pack: string, now: Date) =>
    catalog.recordObject(
      { tenantId: owner.id, kind: "data", name: pack, size: 1000, createdByAgent: null },
      now,
    );
  return {
    tenant: (name: string, settings: { immutableDays?: number } = {}) =>
      catalog.createTenant({ name, retentionDays: 30, ...settings }, at(0)),
    admin: (username = "alice") =>
      catalog.createOperator(
        { username, passwordHash: `$scrypt$${username}`, role: "admin" },
        at(0),
      ),
    agent: (owner: Tenant, overrides: Partial<NewAgent> = {}) =>
      catalog.createAgent(
        {
          tenantId: owner.id,
          hostname: "fileserver",
          secretHash: hashOf("agent secret"),
          scopes: ["backup"],
          expiresAt: at(365 * DAY),
          ...overrides,
        },
        at(0),
      ),
    recordPack,
    /** Records the snapshot object and packs as an upload would, then commits the snapshot. */
    commit: async (
      owner: Tenant,
      by: Agent,
      label: string,
      packs: readonly string[],
      now: Date,
      claimedTime = now,
    ): Promise<SnapshotRecord> => {
      for (const pack of packs) await recordPack(owner, pack, now);
      const id = hashOf(`snapshot ${label}`);
      await catalog.recordObject(
        { tenantId: owner.id, kind: "snapshots", name: id, size: 300, createdByAgent: by.id },
        now,
      );
      return catalog.recordSnapshot(
        { tenantId: owner.id, id, agentId: by.id, claimedTime, packs },
        now,
      );
    },
    /** An object `by` uploaded (or the server stored, `null`), named after `label`. */
    upload: (owner: Tenant, by: Agent | null, kind: "data" | "index", label: string, now: Date) =>
      catalog.recordObject(
        {
          tenantId: owner.id,
          kind,
          name: hashOf(label),
          size: 100 + label.length,
          createdByAgent: by?.id ?? null,
        },
        now,
      ),
    /** The names an agent sees of a kind, first page. */
    names: async (owner: Tenant, kind: "data" | "index" | "snapshots") =>
      (await catalog.listVisibleObjects(owner.id, kind, { limit: 100 })).map((o) => o.name),
  };
}
