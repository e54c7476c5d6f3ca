/**
 * The behaviour every ObjectStore must show, as a node:test suite each backend's test file runs
 * against a fresh store per test. Backends differ in everything else, so the repository layer
 * may rely on exactly what is proven here.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { type ErrorCode, isRempartError } from "../errors.js";
import {
  MAX_LIST_PAGE,
  OBJECT_KINDS,
  type ObjectInfo,
  type ObjectKind,
  type ObjectRef,
  type ObjectStore,
} from "./object-store.js";
import { committerFor, type SnapshotCommit } from "./snapshot-commit.js";

type ContentKind = Exclude<ObjectKind, "config">;

/** Ranges of a 100,000-byte object: at its start, middle and end, whole, and empty. */
const RANGES_OF_100_000 = [
  [0, 10],
  [12_345, 54_321],
  [99_990, 10],
  [0, 100_000],
  [50_000, 0],
  [100_000, 0],
] as const;
export interface OpenedStore {
  readonly store: ObjectStore;
  readonly cleanup: () => Promise<void>;
}

/** How a store may differ from a plain one, each difference replacing the tests it voids. */
export interface ConformanceOptions {
  /**
   * Every delete is refused with `Unsupported` (an agent's view of a Rempart server): the delete
   * tests become "refuses every delete, and the object stays".
   */
  readonly appendOnly?: boolean;
  /**
   * Bytes whose SHA-256 is not their content name are refused with `ObjectConflict` (a server
   * checks what it is sent), so the race between different bodies under one name runs on the
   * config object, the one name that is not a hash. Such a store also refuses objects that cannot
   * be their kind (a Rempart server: no empty object, packs whose trailer adds up): the suite's
   * packs have that shape everywhere, and its empty object becomes a refused one.
   */
  readonly verifiesNames?: boolean;
}

export function describeObjectStoreConformance(
  name: string,
  openStore: () => Promise<OpenedStore>,
  options: ConformanceOptions = {},
): void {
  describe(`${name} behaves as an ObjectStore`, () => {
    let store: ObjectStore;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ store, cleanup } = await openStore());
    });
    afterEach(async () => {
      await cleanup();
    });

    it("returns exactly the bytes that were put", async () => {
      const body = packShaped(randomBytes(300_000));
      const ref = refFor("data", body);
      assert.equal(await store.put(ref, body), "created");
      assertSameBytes(await store.get(ref), body);
      assert.deepEqual(await store.stat(ref), { kind: "data", name: ref.name, size: body.length });
    });

    it("stores a body given as parts as their concatenation", async () => {
      const parts = [
        randomBytes(70_000),
        new Uint8Array(0),
        randomBytes(1),
        packShaped(randomBytes(130_000)),
      ];
      const whole = Buffer.concat(parts);
      const ref = refFor("data", whole);
      assert.equal(await store.put(ref, parts), "created");
      assertSameBytes(await store.get(ref), whole);
    });

    it("stores the config object under its fixed name", async () => {
      const body = randomBytes(500);
      const ref: ObjectRef = { kind: "config", name: "config" };
      assert.equal(await store.put(ref, body), "created");
      assertSameBytes(await store.get(ref), body);
    });

    it("returns exactly the requested range", async () => {
      const body = packShaped(randomBytes(100_000));
      const ref = refFor("data", body);
      await store.put(ref, body);
      for (const [offset, length] of RANGES_OF_100_000) {
        const got = await store.get(ref, { offset, length });
        assertSameBytes(got, body.subarray(offset, offset + length), `range ${offset}+${length}`);
      }
    });

    it("reads a range into the caller's buffer, touching nothing around it", async () => {
      const body = packShaped(randomBytes(100_000));
      const ref = refFor("data", body);
      await store.put(ref, body);
      // One buffer for every read, each into a window of it: the bytes either side stay.
      const buffer = new Uint8Array(100_010).fill(0xa5);
      for (const [offset, length] of RANGES_OF_100_000) {
        buffer.fill(0xa5);
        await store.readInto(ref, offset, buffer.subarray(5, 5 + length));
        assertSameBytes(
          buffer.subarray(5, 5 + length),
          body.subarray(offset, offset + length),
          `range ${offset}+${length}`,
        );
        for (const at of [0, 4, 5 + length, 5 + length + 4])
          assert.equal(buffer[at], 0xa5, `byte ${at} around range ${offset}+${length}`);
      }
    });

    it("fails with RepositoryCorrupt when a range reaches past the end of the object", async () => {
      const body = randomBytes(1000);
      const ref = refFor("index", body);
      await store.put(ref, body);
      await rejectsWith(store.get(ref, { offset: 990, length: 11 }), "RepositoryCorrupt");
      await rejectsWith(store.get(ref, { offset: 1000, length: 1 }), "RepositoryCorrupt");
      await rejectsWith(store.get(ref, { offset: 5000, length: 10 }), "RepositoryCorrupt");
      await rejectsWith(store.readInto(ref, 990, new Uint8Array(11)), "RepositoryCorrupt");
      await rejectsWith(store.readInto(ref, 1000, new Uint8Array(1)), "RepositoryCorrupt");
      await rejectsWith(store.readInto(ref, 5000, new Uint8Array(10)), "RepositoryCorrupt");
    });

    it("refuses a negative or fractional range with InvalidArgument", async () => {
      const body = packShaped(randomBytes(200));
      const ref = refFor("data", body);
      await store.put(ref, body);
      for (const range of [
        { offset: -1, length: 10 },
        { offset: 0, length: -1 },
        { offset: 1.5, length: 10 },
        { offset: 0, length: Number.NaN },
      ]) {
        await rejectsWith(store.get(ref, range), "InvalidArgument");
        if (range.length >= 0)
          await rejectsWith(
            store.readInto(ref, range.offset, new Uint8Array(10)),
            "InvalidArgument",
          );
      }
    });

    it("reports a missing object as NotFound from get and as undefined from stat", async () => {
      const ref = refFor("snapshots", randomBytes(10));
      await rejectsWith(store.get(ref), "NotFound");
      await rejectsWith(store.get(ref, { offset: 0, length: 1 }), "NotFound");
      await rejectsWith(store.readInto(ref, 0, new Uint8Array(1)), "NotFound");
      assert.equal(await store.stat(ref), undefined);
      await rejectsWith(store.get({ kind: "config", name: "config" }), "NotFound");
    });

    it("treats storing identical bytes again as a no-op", async () => {
      const body = randomBytes(20_000);
      const ref = refFor("index", body);
      assert.equal(await store.put(ref, body), "created");
      assert.equal(await store.put(ref, [body.subarray(0, 7), body.subarray(7)]), "exists");
      assertSameBytes(await store.get(ref), body);
      assert.deepEqual(await listAll(store, "index"), [
        { kind: "index", name: ref.name, size: 20_000 },
      ]);
    });

    it("refuses different bytes under an existing name and keeps the original", async () => {
      const original = packShaped(randomBytes(20_000));
      const ref = refFor("data", original);
      await store.put(ref, original);
      const sameLength = Buffer.from(original);
      sameLength[19_999] = (sameLength[19_999] ?? 0) ^ 1;
      for (const other of [
        sameLength,
        original.subarray(0, 19_999),
        Buffer.concat([original, sameLength]),
      ]) {
        await rejectsWith(store.put(ref, other), "ObjectConflict");
      }
      assertSameBytes(await store.get(ref), original);
      assert.deepEqual(await store.stat(ref), { kind: "data", name: ref.name, size: 20_000 });
    });

    it("stores a file spooled in spoolDir() like put, removing the file", async () => {
      // Several MiB: a streamed upload crosses many socket writes.
      const body = packShaped(randomBytes(5 * 1024 * 1024 + 17));
      const ref = refFor("data", body);
      const first = await spool(store, body);
      assert.equal(await store.putFile(ref, first), "created");
      assert.equal(existsSync(first.path), false, "the spooled file is removed");
      assertSameBytes(await store.get(ref), body);
      assert.deepEqual(await store.stat(ref), { kind: "data", name: ref.name, size: body.length });
      const again = await spool(store, body);
      assert.equal(await store.putFile(ref, again), "exists");
      assert.equal(existsSync(again.path), false);
    });

    it("refuses a spooled file with different bytes under an existing name", async () => {
      const original = packShaped(randomBytes(70_000));
      const ref = refFor("data", original);
      await store.put(ref, original);
      const other = Buffer.from(original);
      other[1000] = (other[1000] ?? 0) ^ 1;
      const file = await spool(store, other);
      await rejectsWith(store.putFile(ref, file), "ObjectConflict");
      assert.equal(existsSync(file.path), false);
      assertSameBytes(await store.get(ref), original);
    });

    it("never lists a file left in spoolDir() (a killed backup's pack)", async () => {
      const left = await spool(store, randomBytes(1000));
      try {
        for (const kind of OBJECT_KINDS) assert.deepEqual(await listAll(store, kind), [], kind);
      } finally {
        // A store's spool directory may outlive its test (an agent's is shared): leave nothing.
        await rm(left.path, { force: true });
      }
    });

    for (const [label, ref] of MALFORMED_REFS) {
      it(`refuses ${label} with InvalidArgument and writes nothing`, async () => {
        const body = randomBytes(100);
        await rejectsWith(store.put(ref, body), "InvalidArgument");
        await rejectsWith(store.put(ref, [body]), "InvalidArgument");
        await rejectsWith(store.get(ref), "InvalidArgument");
        await rejectsWith(store.get(ref, { offset: 0, length: 1 }), "InvalidArgument");
        await rejectsWith(store.stat(ref), "InvalidArgument");
        await rejectsWith(store.delete(ref), "InvalidArgument");
        for (const kind of OBJECT_KINDS) assert.deepEqual(await listAll(store, kind), [], kind);
      });
    }

    it("refuses to list an unknown kind with InvalidArgument", async () => {
      await rejectsWith(listAll(store, "locks" as ObjectKind), "InvalidArgument");
    });

    it("lists exactly the objects of a kind with their sizes", async () => {
      const stored: ObjectInfo[] = [];
      const bodies: [ContentKind, Uint8Array][] = [
        ["data", packShaped(randomBytes(1000))],
        ["data", packShaped(randomBytes(2000))],
        ["data", packShaped(randomBytes(3000))],
        ...(options.verifiesNames
          ? []
          : [["data", new Uint8Array(0)] as [ContentKind, Uint8Array]]),
        ["index", randomBytes(400)],
        ["index", randomBytes(500)],
      ];
      for (const [kind, body] of bodies) {
        const ref = refFor(kind, body);
        await store.put(ref, body);
        stored.push({ kind, name: ref.name, size: body.byteLength });
      }
      // Snapshots arrive by commit, the one way every store (a server too) takes them.
      const snapshot = commitOf(randomBytes(600), []);
      await committerFor(store).commitSnapshot(snapshot);
      stored.push({ kind: "snapshots", name: snapshot.name, size: 600 });
      await store.put({ kind: "config", name: "config" }, randomBytes(77));
      for (const kind of ["data", "index", "snapshots", "keys"] as const) {
        const expected = stored.filter((info) => info.kind === kind);
        assert.deepEqual(await listAll(store, kind), sortByName(expected), kind);
      }
      assert.deepEqual(await listAll(store, "config"), [
        { kind: "config", name: "config", size: 77 },
      ]);
    });

    it("pages a listing in name order, each page resuming exactly after the last", async () => {
      const stored: ObjectInfo[] = [];
      for (let i = 0; i < 7; i++) {
        const pack = packShaped(randomBytes(500 + i));
        await store.put(refFor("data", pack), pack);
        stored.push({ kind: "data", name: refFor("data", pack).name, size: pack.length });
      }
      for (const limit of [1, 2, 3, 7]) {
        const pages = await pagesOf(store, "data", limit);
        for (const page of pages) assert.ok(page.length <= limit, `a page of ${limit} held more`);
        assert.ok(pages.length >= Math.ceil(7 / limit), `pages of ${limit}`);
        // Concatenated, the pages are the whole listing in name order: no gap, no duplicate.
        assert.deepEqual(pages.flat().map(plain), sortByName([...stored]), `pages of ${limit}`);
      }
      assert.deepEqual((await store.listPage("data", { limit: MAX_LIST_PAGE })).next, undefined);
    });

    it("resumes a cursor after objects were added meanwhile, skipping and repeating none", async () => {
      const bodies = Array.from({ length: 6 }, () => randomBytes(400));
      const names = bodies.map((body) => refFor("index", body).name).sort();
      for (const body of bodies) await store.put(refFor("index", body), body);
      const first = await store.listPage("index", { limit: 3 });
      assert.deepEqual(
        first.objects.map((info) => info.name),
        names.slice(0, 3),
      );
      assert.ok(first.next !== undefined, "more objects follow the first page");
      // Objects added after the first page: those named after its end appear once, the others
      // (before the cursor) belong to pages already read.
      const later = Array.from({ length: 6 }, () => randomBytes(401));
      for (const body of later) await store.put(refFor("index", body), body);
      const seen: string[] = [];
      for (let cursor: string | undefined = first.next; cursor !== undefined; ) {
        const page = await store.listPage("index", { cursor, limit: 2 });
        seen.push(...page.objects.map((info) => info.name));
        cursor = page.next;
      }
      const end = names[2] as string;
      const expected = [...names.slice(3), ...later.map((body) => refFor("index", body).name)]
        .filter((name) => name > end)
        .sort();
      assert.deepEqual(seen, expected);
    });

    it("lists an empty kind as one page with no cursor, and config as one page", async () => {
      assert.deepEqual(await store.listPage("snapshots"), { objects: [] });
      await store.put({ kind: "config", name: "config" }, randomBytes(60));
      const config = await store.listPage("config", { limit: 1 });
      assert.deepEqual(config.objects.map(plain), [{ kind: "config", name: "config", size: 60 }]);
      assert.equal(config.next, undefined);
    });

    it("refuses a page limit out of range or a cursor it did not give, with InvalidArgument", async () => {
      for (const limit of [0, -1, 1.5, MAX_LIST_PAGE + 1])
        await rejectsWith(store.listPage("index", { limit }), "InvalidArgument");
      for (const cursor of ["../x", SOME_HASH.toUpperCase(), `${SOME_HASH}/`])
        await rejectsWith(store.listPage("index", { cursor }), "InvalidArgument");
      await rejectsWith(store.listPage("locks" as ObjectKind), "InvalidArgument");
    });

    it("shows an object being put either whole or not at all", async () => {
      const parts = Array.from({ length: 16 }, () => randomBytes(512 * 1024));
      packShaped(parts[15] as Uint8Array);
      const whole = Buffer.concat(parts);
      const ref = refFor("data", whole);
      let settled = false;
      const putting = store.put(ref, parts);
      const settle = () => {
        settled = true;
      };
      putting.then(settle, settle);
      do {
        const info = await store.stat(ref);
        if (info !== undefined) assert.equal(info.size, whole.length, "stat saw a partial object");
        for (const listed of await listAll(store, "data")) {
          assert.equal(listed.size, whole.length, "list saw a partial object");
        }
        const got = await store.get(ref).catch((error: unknown) => {
          if (isRempartError(error, "NotFound")) return undefined;
          throw error;
        });
        if (got !== undefined) assertSameBytes(got, whole, "get saw a partial object");
      } while (!settled);
      assert.equal(await putting, "created");
    });

    if (options.appendOnly) {
      it("refuses every delete, and the object stays", async () => {
        const kept = randomBytes(100);
        await store.put(refFor("index", kept), kept);
        const snapshot = commitOf(randomBytes(50), []);
        await committerFor(store).commitSnapshot(snapshot);
        const targets = [
          refFor("index", kept),
          { kind: "snapshots", name: snapshot.name } as const,
          refFor("data", randomBytes(10)),
        ];
        for (const ref of targets) await rejectsWith(store.delete(ref), "Unsupported");
        assertSameBytes(await store.get(refFor("index", kept)), kept);
        assert.equal((await listAll(store, "snapshots")).length, 1);
      });
    } else {
      it("deletes an object so that get, stat and list no longer see it", async () => {
        const kept = randomBytes(100);
        const removed = randomBytes(200);
        await store.put(refFor("index", kept), kept);
        await store.put(refFor("index", removed), removed);
        await store.delete(refFor("index", removed));
        await rejectsWith(store.get(refFor("index", removed)), "NotFound");
        assert.equal(await store.stat(refFor("index", removed)), undefined);
        assert.deepEqual(await listAll(store, "index"), [
          { kind: "index", name: refFor("index", kept).name, size: 100 },
        ]);
        assertSameBytes(await store.get(refFor("index", kept)), kept);
      });

      it("accepts deleting an object that is absent", async () => {
        await store.delete(refFor("data", randomBytes(10)));
        await store.delete({ kind: "config", name: "config" });
      });

      it("lets a deleted name be stored again", async () => {
        const body = randomBytes(100);
        const ref = refFor("snapshots", body);
        await store.put(ref, body);
        await store.delete(ref);
        assert.equal(await store.put(ref, body), "created");
        assertSameBytes(await store.get(ref), body);
      });
    }

    it("creates one object when identical bytes are put concurrently", async () => {
      const body = packShaped(randomBytes(2 * 1024 * 1024));
      const ref = refFor("data", body);
      const outcomes = await Promise.all([
        store.put(ref, body),
        store.put(ref, [body.subarray(0, 1000), body.subarray(1000)]),
        store.put(ref, body),
      ]);
      assert.deepEqual(outcomes.sort(), ["created", "exists", "exists"]);
      assert.deepEqual(await listAll(store, "data"), [
        { kind: "data", name: ref.name, size: body.length },
      ]);
      assertSameBytes(await store.get(ref), body);
    });

    it("lets exactly one of concurrent puts of different bytes under one name win", async () => {
      const bodies = [randomBytes(1024 * 1024), randomBytes(1024 * 1024), randomBytes(1024 * 1024)];
      const ref: ObjectRef = options.verifiesNames
        ? { kind: "config", name: "config" }
        : refFor("data", randomBytes(1));
      const results = await Promise.allSettled(bodies.map((body) => store.put(ref, body)));
      const stored = Buffer.from(await store.get(ref));
      const winner = bodies.findIndex((body) => stored.equals(body));
      assert.notEqual(winner, -1, "the stored bytes are none of the bodies that were put");
      results.forEach((result, i) => {
        if (i === winner) {
          assert.deepEqual(result, { status: "fulfilled", value: "created" });
        } else {
          assert.ok(
            result.status === "rejected" && isRempartError(result.reason, "ObjectConflict"),
            `a losing put must fail with ObjectConflict, not ${result.status === "rejected" ? String(result.reason) : "succeed"}`,
          );
        }
      });
    });

    if (options.verifiesNames)
      it("refuses bytes that are not what their name says, and stores nothing", async () => {
        const ref = refFor("data", randomBytes(1));
        await rejectsWith(store.put(ref, packShaped(randomBytes(1000))), "ObjectConflict");
        assert.equal(await store.stat(ref), undefined);
        assert.deepEqual(await listAll(store, "data"), []);
      });

    if (options.verifiesNames)
      it("refuses an empty object, and stores nothing", async () => {
        for (const kind of ["data", "index", "keys"] as const) {
          const ref = refFor(kind, new Uint8Array(0));
          await assert.rejects(store.put(ref, new Uint8Array(0)));
          assert.equal(await store.stat(ref), undefined);
        }
      });
    else
      it("stores and returns an empty object", async () => {
        const empty = new Uint8Array(0);
        const ref = refFor("keys", empty);
        assert.equal(await store.put(ref, empty), "created");
        assert.equal(await store.put(ref, []), "exists");
        assert.equal((await store.get(ref)).length, 0);
        assert.equal((await store.get(ref, { offset: 0, length: 0 })).length, 0);
        await rejectsWith(store.get(ref, { offset: 0, length: 1 }), "RepositoryCorrupt");
        assert.deepEqual(await store.stat(ref), { kind: "keys", name: ref.name, size: 0 });
        await rejectsWith(store.put(ref, randomBytes(1)), "ObjectConflict");
      });

    it("commits a snapshot whose packs are all stored, and stores it write-once", async () => {
      const pack = packShaped(randomBytes(1000));
      await store.put(refFor("data", pack), pack);
      const commit = commitOf(randomBytes(200), [refFor("data", pack).name]);
      assert.equal(await committerFor(store).commitSnapshot(commit), "created");
      assert.equal(await committerFor(store).commitSnapshot(commit), "exists");
      assertSameBytes(await store.get({ kind: "snapshots", name: commit.name }), commit.bytes);
    });

    it("refuses a snapshot that needs a pack it does not hold, naming the pack", async () => {
      const absent = refFor("data", randomBytes(10)).name;
      const commit = commitOf(randomBytes(200), [absent]);
      await assert.rejects(
        committerFor(store).commitSnapshot(commit),
        (error) =>
          isRempartError(error, "NotFound") && JSON.stringify(error.details).includes(absent),
      );
      assert.equal(await store.stat({ kind: "snapshots", name: commit.name }), undefined);
    });
  });
}

const SOME_HASH = createHash("sha256").update("rempart").digest("hex");

/**
 * Gives random bytes, in place, the one thing about a pack a store can check without keys: a
 * trailer naming a one-blob sealed header (79 bytes) that fits the object (docs/FORMAT.md).
 */
function packShaped<T extends Uint8Array>(bytes: T): T {
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).writeUInt32LE(79, bytes.length - 4);
  return bytes;
}

/** A snapshot commit of `bytes`, named as the repository names it. */
function commitOf(bytes: Uint8Array, packs: readonly string[]): SnapshotCommit {
  return {
    name: refFor("snapshots", bytes).name,
    bytes,
    packs,
    claimedTime: new Date().toISOString(),
  };
}

/** Refs as hostile input would carry them: the kind is not checked by the compiler. */
export const MALFORMED_REFS: readonly (readonly [string, ObjectRef])[] = [
  ["a parent-directory name", malformed("data", "../x")],
  ["a hash that climbs out of its kind", malformed("index", `../${SOME_HASH}`)],
  ["a name with a slash", malformed("data", "a/b")],
  ["a hash behind its fan-out prefix", malformed("data", `${SOME_HASH.slice(0, 2)}/${SOME_HASH}`)],
  ["uppercase hex", malformed("data", SOME_HASH.toUpperCase())],
  ["63 hex characters", malformed("data", SOME_HASH.slice(1))],
  ["65 hex characters", malformed("data", `${SOME_HASH}0`)],
  ["the name config under another kind", malformed("keys", "config")],
  ["a hash under the config kind", malformed("config", SOME_HASH)],
  ["an empty name", malformed("index", "")],
  ["a name with a NUL byte", malformed("snapshots", `${SOME_HASH.slice(0, 63)}\0`)],
  ["a name with a trailing newline", malformed("snapshots", `${SOME_HASH}\n`)],
  ["an unknown kind", malformed("locks", SOME_HASH)],
  ["a kind that climbs out of the store", malformed("../data", SOME_HASH)],
  ["an empty kind", malformed("", SOME_HASH)],
  ["percent-encoded traversal", malformed("data", "%2e%2e%2f%2e%2e%2fconfig")],
];

function malformed(kind: string, name: string): ObjectRef {
  return { kind, name } as unknown as ObjectRef;
}

/** A ref named, as the repository names it, by the SHA-256 of the body. */
/** Writes a body into the store's spool directory, read-only as a blob worker writes packs. */
async function spool(
  store: ObjectStore,
  body: Uint8Array,
): Promise<{ path: string; size: number }> {
  const path = join(await store.spoolDir(), randomBytes(16).toString("hex"));
  await writeFile(path, body, { mode: 0o400, flag: "wx" });
  return { path, size: body.length };
}

export function refFor(kind: ContentKind, body: Uint8Array): ObjectRef {
  return { kind, name: createHash("sha256").update(body).digest("hex") };
}

/** Every page of a listing of `limit` objects each, following the cursors to the end. */
async function pagesOf(store: ObjectStore, kind: ObjectKind, limit: number) {
  const pages: ObjectInfo[][] = [];
  for (let cursor: string | undefined; ; ) {
    const page = await store.listPage(kind, { limit, ...(cursor === undefined ? {} : { cursor }) });
    pages.push([...page.objects]);
    if (page.next === undefined) return pages;
    assert.ok(pages.length <= 1000, "the cursors never reach the end");
    cursor = page.next;
  }
}

/** What every store lists the same way (a server adds who uploaded an object, and when). */
function plain({ kind, name, size }: ObjectInfo): ObjectInfo {
  return { kind, name, size };
}

async function listAll(store: ObjectStore, kind: ObjectKind): Promise<ObjectInfo[]> {
  const found: ObjectInfo[] = [];
  for await (const { kind: listed, name, size } of store.list(kind)) {
    found.push({ kind: listed, name, size });
  }
  return sortByName(found);
}

function sortByName(infos: ObjectInfo[]): ObjectInfo[] {
  return infos.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export async function rejectsWith(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isRempartError(error, code), `expected RempartError ${code}, got ${String(error)}`);
    return true;
  });
}

/** Compares without deepEqual, whose diff of megabyte buffers would bury the failure. */
function assertSameBytes(actual: Uint8Array, expected: Uint8Array, what = "bytes"): void {
  const a = Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength);
  if (a.equals(expected)) return;
  let firstDifference = 0;
  while (a[firstDifference] === expected[firstDifference]) firstDifference += 1;
  assert.fail(
    `${what}: got ${actual.byteLength} bytes, expected ${expected.byteLength}; first difference at ${firstDifference}`,
  );
}
