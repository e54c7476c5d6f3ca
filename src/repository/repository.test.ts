import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createEscrowSlot } from "../crypto/key-slots.js";
import { generateMasterKey } from "../crypto/master-key.js";
import { generateRecoveryKeyPair } from "../crypto/recovery-key.js";
import { isRempartError } from "../errors.js";
import { encodeTree, type TreeNode } from "../snapshot/tree.js";
import { FsObjectStore } from "../storage/fs/fs-store.js";
import type { ByteRange, ObjectKind, ObjectRef, ObjectStore } from "../storage/object-store.js";
import { forgedSnapshot, unwrapMasterKey } from "./forge-test-support.js";
import { decodeIndex, encodeIndex } from "./index-file.js";
import { locateHeader, openHeader, PackBuilder } from "./pack.js";
import { Repository } from "./repository.js";
import type { Snapshot } from "./snapshot.js";

const CHUNKER = { minSize: 16 * 1024, avgSize: 64 * 1024, maxSize: 256 * 1024 };
const CHEAP_KDF = { N: 2 ** 10, r: 8, p: 1 };

interface TestRepository {
  readonly repo: Repository;
  readonly store: ObjectStore;
}

async function newRepository(root: string, password = "secret"): Promise<TestRepository> {
  const store = await FsObjectStore.create(root);
  const repo = await Repository.init(store, {
    password,
    label: "test",
    chunker: CHUNKER,
    kdfCost: CHEAP_KDF,
  });
  return { repo, store };
}

/** Seals blobs into one pack through the same builder the backup workers use, and stores it. */
async function storePack({ repo, store }: TestRepository, blobs: Uint8Array[]): Promise<string> {
  const builder = new PackBuilder((await unwrapMasterKey(store, "secret")).encryption, 1024);
  for (const blob of blobs)
    builder.add("data", Buffer.from(repo.keyedId(blob), "hex"), blob, blob.length, false);
  const pack = builder.finish();
  await store.put({ kind: "data", name: pack.name }, pack.bytes);
  return pack.name;
}

function snapshotTagged(tag: string, time: string): Snapshot {
  return forgedSnapshot({
    time,
    host: "office",
    username: "root",
    paths: ["/srv/share"],
    tags: [tag],
    tree: "00".repeat(32),
    program: "rempart test",
  });
}

/**
 * The store at `root`, telling `onCall` of each listing and read as it is asked for; a listing of
 * a kind in `failing` throws (once per entry of the set, which it removes).
 */
async function watchedStore(
  root: string,
  onCall: (call: string) => void,
  failing = new Set<ObjectKind>(),
): Promise<ObjectStore> {
  const store = await FsObjectStore.open(root);
  return new Proxy(store, {
    get(target, property) {
      if (property === "get")
        return (ref: ObjectRef, range?: ByteRange) => {
          onCall(`get ${ref.kind}/${ref.name}`);
          return target.get(ref, range);
        };
      if (property === "list")
        return (kind: ObjectKind) => {
          onCall(`list ${kind}`);
          if (!failing.delete(kind)) return target.list(kind);
          return (async function* () {
            yield* [];
            throw new Error(`listing ${kind} failed`);
          })();
        };
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

describe("repository", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "rempart-repo-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("opens with the password it was created with and refuses any other", async () => {
    const root = join(dir, "open");
    const { repo: created } = await newRepository(root);
    const opened = await Repository.open(await FsObjectStore.open(root), { password: "secret" });
    assert.deepEqual(opened.config, created.config);
    await assert.rejects(
      Repository.open(await FsObjectStore.open(root), { password: "Secret" }),
      (error) => isRempartError(error, "WrongPassword"),
    );
  });

  it("says there is no repository where a layout holds no config", async () => {
    const root = join(dir, "no-config");
    await FsObjectStore.create(root);
    await assert.rejects(
      Repository.open(await FsObjectStore.open(root), { password: "secret" }),
      (error) => isRempartError(error, "RepositoryNotFound"),
    );
  });

  it("refuses to initialise over an existing repository", async () => {
    const root = join(dir, "twice");
    await newRepository(root);
    await assert.rejects(newRepository(root), (error) => isRempartError(error, "RepositoryExists"));
  });

  it("reports a garbage config as corrupt, not as a wrong password", async () => {
    const root = join(dir, "garbage");
    await newRepository(root);
    await writeFile(join(root, "config"), randomBytes(200));
    await assert.rejects(
      Repository.open(await FsObjectStore.open(root), { password: "secret" }),
      (error) => isRempartError(error, "RepositoryCorrupt") && /config/.test(error.message),
    );
  });

  it("reads back every blob of a pack through its index", async () => {
    const created = await newRepository(join(dir, "blobs"));
    const { repo, store } = created;
    const blobs = [randomBytes(1000), randomBytes(70_000), Buffer.alloc(0)];
    const pack = await storePack(created, blobs);
    const entries = await repo.readPackHeader({
      kind: "data",
      name: pack,
      size: (await repo.statPack(pack))?.size ?? 0,
    });
    await repo.saveIndex([{ pack, blobs: entries }]);
    const reopened = await Repository.open(store, { password: "secret" });
    assert.deepEqual(await reopened.unindexedPacks(), []);
    for (const blob of blobs)
      assert.deepEqual(Buffer.from(await reopened.readBlob(reopened.keyedId(blob))), blob);
  });

  it("with loadsIndex, lists and reads the index during the open, each index object once", async () => {
    const root = join(dir, "early");
    const created = await newRepository(root);
    const blobs: Buffer[] = [];
    // More index objects than the open reads ahead.
    for (let i = 0; i < 12; i++) {
      const blob = randomBytes(100 + i);
      blobs.push(blob);
      const pack = await storePack(created, [blob]);
      const size = (await created.repo.statPack(pack))?.size ?? 0;
      const entries = await created.repo.readPackHeader({ kind: "data", name: pack, size });
      await created.repo.saveIndex([{ pack, blobs: entries }]);
    }
    const calls: string[] = [];
    const store = await watchedStore(root, (call) => calls.push(call));
    const repo = await Repository.open(store, { password: "secret" }, { loadsIndex: true });
    assert.ok(calls.includes("list data") && calls.includes("list index"), calls.join(", "));
    for (const blob of blobs)
      assert.deepEqual(Buffer.from(await repo.readBlob(repo.keyedId(blob))), blob);
    const indexReads = calls.filter((call) => call.startsWith("get index/"));
    assert.equal(indexReads.length, 12);
    assert.equal(new Set(indexReads).size, 12, "no index object read twice");
  });

  it("with loadsIndex, leaves a failed listing to the index load, which tries again", async () => {
    const root = join(dir, "early-failure");
    const created = await newRepository(root);
    await storePack(created, [randomBytes(5000)]);
    const calls: string[] = [];
    const store = await watchedStore(root, (call) => calls.push(call), new Set(["data"]));
    await assert.rejects(
      Repository.open(store, { password: "wrong" }, { loadsIndex: true }),
      (error) => isRempartError(error, "WrongPassword"),
    );
    assert.ok(calls.includes("list data"), "listed while the key was derived");
    const failing = await watchedStore(root, () => undefined, new Set(["data"]));
    const repo = await Repository.open(failing, { password: "secret" }, { loadsIndex: true });
    await assert.rejects(repo.unindexedPacks(), /listing data failed/);
    assert.equal((await repo.unindexedPacks()).length, 1, "the stored pack no index lists");
  });

  it("with listsSnapshots, lists and reads the snapshots during the open, each object once", async () => {
    const root = join(dir, "early-snapshots");
    const { repo: created } = await newRepository(root);
    // More snapshots than the open reads ahead.
    for (let i = 0; i < 11; i++)
      await created.commitSnapshot(snapshotTagged(`run ${i}`, `2026-01-01T00:00:${10 + i}Z`), []);
    const calls: string[] = [];
    const store = await watchedStore(root, (call) => calls.push(call));
    const repo = await Repository.open(store, { password: "secret" }, { listsSnapshots: true });
    assert.ok(calls.includes("list snapshots"), calls.join(", "));
    const listed = await repo.listSnapshots();
    assert.deepEqual(
      listed.map(({ snapshot }) => snapshot.tags[0]),
      Array.from({ length: 11 }, (_, i) => `run ${i}`),
    );
    assert.equal(calls.filter((call) => call === "list snapshots").length, 1);
    const reads = calls.filter((call) => call.startsWith("get snapshots/"));
    assert.equal(reads.length, 11);
    assert.equal(new Set(reads).size, 11, "no snapshot object read twice");
    // Taken once: a later listing sees what was committed since.
    await repo.commitSnapshot(snapshotTagged("later", "2026-01-01T00:01:00Z"), []);
    assert.equal((await repo.listSnapshots()).length, 12);
  });

  it("with listsSnapshots, lists again when the listing during the open failed", async () => {
    const root = join(dir, "early-snapshots-failure");
    const { repo: created } = await newRepository(root);
    await created.commitSnapshot(snapshotTagged("only", "2026-01-01T00:00:10Z"), []);
    const calls: string[] = [];
    const store = await watchedStore(root, (call) => calls.push(call), new Set(["snapshots"]));
    const repo = await Repository.open(store, { password: "secret" }, { listsSnapshots: true });
    assert.deepEqual(
      (await repo.listSnapshots()).map(({ snapshot }) => snapshot.tags),
      [["only"]],
    );
    assert.equal(calls.filter((call) => call === "list snapshots").length, 2);
  });

  it("reads the packs of a tree's subtrees as it reads the tree, each pack once", async () => {
    const root = join(dir, "tree-packs-ahead");
    const created = await newRepository(root);
    const key = (await unwrapMasterKey(created.store, "secret")).encryption;
    /** Stores a tree in a pack of its own and indexes it; returns its id and pack. */
    const storeTree = async (nodes: TreeNode[]) => {
      const bytes = encodeTree({ nodes });
      const id = created.repo.keyedId(bytes);
      const builder = new PackBuilder(key, 1024);
      builder.add("tree", Buffer.from(id, "hex"), bytes, bytes.length, false);
      const pack = builder.finish();
      await created.store.put({ kind: "data", name: pack.name }, pack.bytes);
      await created.repo.saveIndex([{ pack: pack.name, blobs: pack.entries }]);
      return { id, pack: pack.name };
    };
    const dirNode = (name: string, subtree: string): TreeNode => ({
      name,
      type: "dir",
      mode: 0o755,
      uid: 0,
      gid: 0,
      mtimeMs: 0,
      atimeMs: 0,
      ctimeMs: 0,
      inode: 1,
      device: 1,
      links: 2,
      subtree,
    });
    const first = await storeTree([]);
    const second = await storeTree([dirNode("inner", first.id)]);
    const top = await storeTree([dirNode("a", first.id), dirNode("b", second.id)]);
    const calls: string[] = [];
    const store = await watchedStore(root, (call) => calls.push(call));
    const repo = await Repository.open(store, { password: "secret" });
    await repo.readTree(top.id);
    assert.ok(calls.includes(`get data/${first.pack}`), calls.join(", "));
    assert.ok(calls.includes(`get data/${second.pack}`), calls.join(", "));
    assert.deepEqual((await repo.readTree(second.id)).nodes, [dirNode("inner", first.id)]);
    assert.deepEqual((await repo.readTree(first.id)).nodes, []);
    const reads = calls.filter((call) => call.startsWith("get data/"));
    assert.deepEqual(
      reads.sort(),
      [top, first, second].map(({ pack }) => `get data/${pack}`).sort(),
    );
  });

  it("adopts packs that no index lists, from their own headers", async () => {
    const created = await newRepository(join(dir, "adopt"));
    const { repo } = created;
    const blob = randomBytes(5000);
    const pack = await storePack(created, [blob]);
    assert.deepEqual(
      (await repo.unindexedPacks()).map((info) => info.name),
      [pack],
    );
    const writer = await repo.packWriter();
    assert.deepEqual(writer.resumed, { adopted: 1, damaged: [] });
    assert.deepEqual(await repo.unindexedPacks(), []);
    assert.deepEqual(Buffer.from(await repo.readBlob(repo.keyedId(blob))), blob);
  });

  it("refuses a blob whose index entry points at another blob's bytes", async () => {
    const created = await newRepository(join(dir, "swap"));
    const { repo, store } = created;
    const [a, b] = [randomBytes(3000), randomBytes(3000)];
    const pack = await storePack(created, [a, b]);
    const info = await repo.statPack(pack);
    const entries = await repo.readPackHeader(info as NonNullable<typeof info>);
    const [entryA, entryB] = entries as [(typeof entries)[0], (typeof entries)[0]];
    // A forged index that swaps the ids of two blobs of one size: laid out like a real pack,
    // so nothing but reading the blob can tell.
    await repo.saveIndex([
      {
        pack,
        blobs: [
          { ...entryA, id: entryB.id },
          { ...entryB, id: entryA.id },
        ],
      },
    ]);
    const reopened = await Repository.open(store, { password: "secret" });
    await assert.rejects(reopened.readBlob(entryA.id), (error) =>
      isRempartError(error, "RepositoryCorrupt"),
    );
  });

  it("detects a truncated pack and a pack with a flipped byte", async () => {
    const created = await newRepository(join(dir, "damage"));
    const pack = await storePack(created, [randomBytes(4000)]);
    const path = join(dir, "damage", "data", pack.slice(0, 2), pack);
    const bytes = await readFile(path);
    assert.throws(
      () =>
        locateHeader(
          bytes.subarray(bytes.length - 4 - 100, bytes.length - 100),
          bytes.length - 100,
          pack,
        ),
      (error) => isRempartError(error, "RepositoryCorrupt"),
    );
    const header = locateHeader(bytes.subarray(bytes.length - 4), bytes.length, pack);
    const flipped = Buffer.from(bytes);
    flipped[header.offset + 5] = (flipped[header.offset + 5] as number) ^ 1;
    assert.throws(
      () =>
        openHeader(
          created.repo.blobDecodingContext().encryptionKey,
          flipped.subarray(header.offset, header.offset + header.length),
          header.offset,
          pack,
        ),
      (error) => isRempartError(error, "RepositoryCorrupt") && error.message.includes(pack),
    );
  });

  it("round-trips an index and rejects a tampered one", async () => {
    const key = randomBytes(32);
    const packs = [
      {
        pack: "a".repeat(64),
        blobs: [
          {
            type: "data" as const,
            id: "b".repeat(64),
            offset: 0,
            length: 100,
            rawLength: 72,
            compressed: false,
          },
        ],
      },
      {
        pack: "c".repeat(64),
        blobs: [
          {
            type: "tree" as const,
            id: "d".repeat(64),
            offset: 0,
            length: 50,
            rawLength: 90,
            compressed: true,
          },
        ],
      },
    ];
    const sealed = encodeIndex(key, packs);
    assert.deepEqual(
      decodeIndex(key, sealed, "x").map(({ pack, entries }) => ({ pack, blobs: [...entries] })),
      packs,
    );
    const tampered = Buffer.from(sealed);
    tampered[20] = (tampered[20] as number) ^ 0x80;
    assert.throws(
      () => decodeIndex(key, tampered, "x"),
      (error) => isRempartError(error, "RepositoryCorrupt"),
    );
  });

  it("keeps key slots manageable: add, open with the new one, refuse removing the one in use", async () => {
    const root = join(dir, "keys");
    const { repo } = await newRepository(root);
    const added = await repo.addPasswordSlot("second", "colleague", CHEAP_KDF);
    const viaSecond = await Repository.open(await FsObjectStore.open(root), { password: "second" });
    assert.equal(viaSecond.openedWith, added);
    await assert.rejects(viaSecond.removeKeySlot(added), (error) =>
      isRempartError(error, "InvalidArgument"),
    );
    await viaSecond.removeKeySlot(repo.openedWith);
    assert.deepEqual(await readdir(join(root, "keys")), [added]);
    await assert.rejects(
      Repository.open(await FsObjectStore.open(root), { password: "secret" }),
      (error) => isRempartError(error, "WrongPassword"),
    );
  });

  it("opens with the MSP recovery key even when forged escrow slots sit beside the real one", async () => {
    const root = join(dir, "escrow");
    const msp = generateRecoveryKeyPair();
    const store = await FsObjectStore.create(root);
    const repo = await Repository.init(store, {
      password: "secret",
      label: "client",
      chunker: CHUNKER,
      kdfCost: CHEAP_KDF,
      recoveryPublicKey: msp.publicKey,
    });
    // Anyone with write access to keys/ can seal a master key of their own to the public key.
    for (let i = 0; i < 3; i++) {
      const forged = Buffer.from(
        JSON.stringify(createEscrowSlot(generateMasterKey(), msp.publicKey, "forged")),
      );
      await store.put(
        { kind: "keys", name: createHash("sha256").update(forged).digest("hex") },
        forged,
      );
    }
    const recovered = await Repository.open(store, { recoveryPrivateKey: msp.privateKey });
    assert.deepEqual(recovered.config, repo.config);
    const [got, want] = [recovered.blobDecodingContext(), repo.blobDecodingContext()];
    assert.ok(Buffer.from(got.encryptionKey).equals(want.encryptionKey));
    assert.ok(Buffer.from(got.idKey).equals(want.idKey));
    await assert.rejects(
      Repository.open(store, { recoveryPrivateKey: generateRecoveryKeyPair().privateKey }),
      (error) => isRempartError(error, "WrongPassword"),
    );
  });
});
