import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, type TestContext } from "node:test";
import { promisify } from "node:util";
import { isRempartError } from "../../errors.js";
import {
  describeObjectStoreConformance,
  MALFORMED_REFS,
  refFor,
  rejectsWith,
} from "../conformance-suite.js";
import { FsObjectStore } from "./fs-store.js";

const run = promisify(execFile);

describeObjectStoreConformance("FsObjectStore", async () => {
  const dir = await mkdtemp(join(tmpdir(), "rempart-fs-store-"));
  const store = await FsObjectStore.create(join(dir, "repo"));
  return { store, cleanup: () => rm(dir, { recursive: true, force: true }) };
});

describe("FsObjectStore on disk", () => {
  it("places each kind of object at its documented path as a read-only file", async () => {
    await withStore(async (store) => {
      const bodies = {
        keys: randomBytes(10),
        data: randomBytes(20),
        index: randomBytes(30),
        snapshots: randomBytes(40),
      };
      const config = randomBytes(50);
      await store.put({ kind: "config", name: "config" }, config);
      const expected = new Map<string, Uint8Array>([["config", config]]);
      for (const [kind, body] of Object.entries(bodies) as [keyof typeof bodies, Buffer][]) {
        const { name } = refFor(kind, body);
        await store.put({ kind, name }, body);
        const fanout = kind === "data" ? [name.slice(0, 2)] : [];
        expected.set(join(kind, ...fanout, name), body);
      }
      assert.deepEqual(await filesUnder(store.root), [...expected.keys()].sort());
      for (const [path, body] of expected) {
        assert.ok((await readFile(join(store.root, path))).equals(body), path);
        assert.equal((await stat(join(store.root, path))).mode & 0o777, 0o400, path);
      }
    });
  });

  it("writes the body to a temp file and shows it under its name only when complete", async () => {
    await withStore(async (store) => {
      const parts = Array.from({ length: 32 }, () => randomBytes(1024 * 1024));
      const hash = createHash("sha256");
      for (const part of parts) hash.update(part);
      const name = hash.digest("hex");
      const final = join(store.root, "data", name.slice(0, 2), name);
      let settled = false;
      let sawTemp = false;
      const putting = store.put({ kind: "data", name }, parts);
      const settle = () => {
        settled = true;
      };
      putting.then(settle, settle);
      while (!settled) {
        const [temps, visible] = await Promise.all([
          readdir(join(store.root, "tmp")),
          stat(final).catch(() => undefined),
        ]);
        if (temps.length > 0) sawTemp = true;
        if (visible !== undefined) assert.equal(visible.size, 32 * 1024 * 1024);
      }
      assert.equal(await putting, "created");
      assert.ok(sawTemp, "no temp file was seen while the put was in flight");
      assert.deepEqual(await readdir(join(store.root, "tmp")), []);
    });
  });

  it("leaves no temp file behind after created, identical and conflicting puts", async () => {
    await withStore(async (store) => {
      const body = randomBytes(1000);
      const ref = refFor("data", body);
      await store.put(ref, body);
      await store.put(ref, body);
      await rejectsWith(store.put(ref, randomBytes(1000)), "ObjectConflict");
      assert.deepEqual(await readdir(join(store.root, "tmp")), []);
    });
  });

  it("touches nothing on disk for a malformed ref", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rempart-fs-store-"));
    try {
      const store = await FsObjectStore.create(join(dir, "repo"));
      for (const [label, ref] of MALFORMED_REFS) {
        await rejectsWith(store.put(ref, randomBytes(10)), "InvalidArgument");
        assert.deepEqual(await filesUnder(dir), [], label);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("removes stale temp files and keeps fresh ones", async () => {
    await withStore(async (store) => {
      const tmp = join(store.root, "tmp");
      const body = randomBytes(100);
      await store.put(refFor("index", body), body);
      await writeFile(join(tmp, "killed-put"), "partial");
      await writeFile(join(tmp, "running-put"), "partial");
      const twoHoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
      await utimes(join(tmp, "killed-put"), twoHoursAgo, twoHoursAgo);
      assert.equal(await store.removeStaleTempFiles(), 1);
      assert.deepEqual(await readdir(tmp), ["running-put"]);
      assert.ok(Buffer.from(await store.get(refFor("index", body))).equals(body));
    });
  });

  it("spools into its own temp directory and sweeps a killed backup's stale packs from it", async () => {
    await withStore(async (store) => {
      const tmp = join(store.root, "tmp");
      await writeFile(join(tmp, "killed-pack"), "half a pack", { mode: 0o400 });
      await writeFile(join(tmp, "live-pack"), "being written", { mode: 0o400 });
      const twoHoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
      await utimes(join(tmp, "killed-pack"), twoHoursAgo, twoHoursAgo);
      assert.equal(await store.spoolDir(), tmp);
      assert.deepEqual(await readdir(tmp), ["live-pack"]);
    });
  });

  it("links a spooled file into place read-only, and refuses one from outside its temp directory", async () => {
    await withStore(async (store) => {
      const body = randomBytes(100_000);
      const path = join(await store.spoolDir(), "pack");
      await writeFile(path, body, { mode: 0o400 });
      const ref = refFor("data", body);
      assert.equal(await store.putFile(ref, { path, size: body.length }), "created");
      const stored = join(store.root, "data", ref.name.slice(0, 2), ref.name);
      assert.equal((await stat(stored)).mode & 0o777, 0o400);
      assert.deepEqual(await readdir(join(store.root, "tmp")), []);

      const outside = join(store.root, "..", "elsewhere");
      await writeFile(outside, body);
      await rejectsWith(
        store.putFile(ref, { path: outside, size: body.length }),
        "InvalidArgument",
      );
    });
  });

  it("lists only well-named objects in their place, never temp or foreign files", async () => {
    await withStore(async (store) => {
      const body = randomBytes(100);
      const { name } = refFor("data", body);
      await store.put({ kind: "data", name }, body);
      const fanout = join(store.root, "data", name.slice(0, 2));
      const misplaced = `${name.slice(0, 2) === "00" ? "11" : "00"}${name.slice(2)}`;
      await writeFile(join(fanout, misplaced), "wrong fan-out");
      await writeFile(join(fanout, `${name}.tmp`), "junk");
      await writeFile(join(fanout, "notes.txt"), "junk");
      await writeFile(join(store.root, "keys", name.toUpperCase()), "junk");
      await mkdir(join(store.root, "keys", name));
      await mkdir(join(store.root, "data", "XY"));
      await writeFile(join(store.root, "data", "XY", name), "junk");
      assert.deepEqual(await listNames(store, "data"), [name]);
      assert.deepEqual(await listNames(store, "keys"), []);
    });
  });

  it("opens a store that exists and refuses a directory that holds none", async () => {
    await withStore(async (store) => {
      const body = randomBytes(100);
      await store.put(refFor("snapshots", body), body);
      await FsObjectStore.create(store.root);
      const reopened = await FsObjectStore.open(store.root);
      assert.ok(Buffer.from(await reopened.get(refFor("snapshots", body))).equals(body));
      await rejectsWith(FsObjectStore.open(join(store.root, "elsewhere")), "RepositoryNotFound");
      await rm(join(store.root, "tmp"), { recursive: true });
      await rejectsWith(FsObjectStore.open(store.root), "RepositoryNotFound");
    });
  });

  it("reports a full disk as StorageFull and removes the temp file", async (t) => {
    await withTmpfs(t, "size=1m", async (mountpoint) => {
      const store = await FsObjectStore.create(join(mountpoint, "repo"));
      const body = randomBytes(2 * 1024 * 1024);
      await assert.rejects(store.put(refFor("data", body), [body]), (error: unknown) => {
        assert.ok(isRempartError(error, "StorageFull"), String(error));
        assert.ok(error.message.includes(`storage at ${store.root} is full`), error.message);
        return true;
      });
      assert.deepEqual(await filesUnder(store.root), []);
      // Succeeds only because the failed put gave its space back.
      const small = randomBytes(700 * 1024);
      assert.equal(await store.put(refFor("data", small), small), "created");
    });
  });

  it("reports a read-only filesystem as Io and still reads", async (t) => {
    await withTmpfs(t, "size=4m", async (mountpoint) => {
      const store = await FsObjectStore.create(join(mountpoint, "repo"));
      const kept = randomBytes(100);
      await store.put(refFor("data", kept), kept);
      await run("mount", ["-o", "remount,ro", mountpoint]);
      const body = randomBytes(100);
      await assert.rejects(store.put(refFor("data", body), body), (error: unknown) => {
        assert.ok(isRempartError(error, "Io"), String(error));
        assert.ok(error.message.includes(`${store.root} is on a read-only`), error.message);
        return true;
      });
      assert.ok(Buffer.from(await store.get(refFor("data", kept))).equals(kept));
      await rejectsWith(store.delete(refFor("data", kept)), "Io");
    });
  });
});

async function withStore(test: (store: FsObjectStore) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "rempart-fs-store-"));
  try {
    await test(await FsObjectStore.create(join(dir, "repo")));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Runs test on a fresh tmpfs of the given options, or skips when mounting is not permitted. */
async function withTmpfs(
  t: TestContext,
  options: string,
  test: (mountpoint: string) => Promise<void>,
): Promise<void> {
  const mountpoint = await mkdtemp(join(tmpdir(), "rempart-fs-store-mnt-"));
  try {
    try {
      await run("mount", ["-t", "tmpfs", "-o", options, "tmpfs", mountpoint]);
    } catch (error) {
      t.skip(`mounting a tmpfs is not permitted here: ${String(error).split("\n")[0]}`);
      return;
    }
    try {
      await test(mountpoint);
    } finally {
      await run("umount", [mountpoint]);
    }
  } finally {
    await rm(mountpoint, { recursive: true, force: true });
  }
}

/** Every regular file below dir, relative to it, sorted. */
async function filesUnder(dir: string): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      files.push(
        ...(await filesUnder(join(dir, entry.name))).map((file) => join(entry.name, file)),
      );
    } else {
      files.push(entry.name);
    }
  }
  return files.sort();
}

async function listNames(store: FsObjectStore, kind: "data" | "keys"): Promise<string[]> {
  const names: string[] = [];
  for await (const info of store.list(kind)) names.push(info.name);
  return names;
}
