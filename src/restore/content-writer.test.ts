/**
 * Packs are read ahead of the restore workers, several at once: a read that fails among them
 * (a pack gone between the index load and its read, as a server's GC can do) must fail exactly
 * the files that need it, with that pack's error, and nothing else.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { it } from "node:test";
import { RempartError } from "../errors.js";
import { Repository } from "../repository/repository.js";
import { FsObjectStore } from "../storage/fs/fs-store.js";
import type { ObjectRef, ObjectStore } from "../storage/object-store.js";
import { hashFile, PASSWORD, writePseudoRandomFile } from "../testing/cli.js";
import { restore } from "./restorer.js";
import { backedUpTree, smallFiles } from "./test-support.js";

const MiB = 1024 * 1024;

/** The store, except that reading the data object `lost` fails as if it had just been removed. */
function losing(store: ObjectStore, lost: string): ObjectStore {
  const gone = () =>
    Promise.reject(new RempartError("NotFound", `No object is stored as data/${lost}.`));
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property === "get")
        return (ref: ObjectRef, range?: unknown) =>
          ref.kind === "data" && ref.name === lost ? gone() : target.get(ref, range as never);
      if (property === "readInto")
        return (ref: ObjectRef, offset: number, into: Uint8Array) =>
          ref.kind === "data" && ref.name === lost ? gone() : target.readInto(ref, offset, into);
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** Every file of a snapshot, by its path, with its blob ids. */
async function fileContents(repo: Repository, tree: string): Promise<Map<string, string[]>> {
  const files = new Map<string, string[]>();
  const walk = async (treeId: string, dir: string): Promise<void> => {
    for (const node of (await repo.readTree(treeId)).nodes) {
      const path = `${dir}/${node.name}`;
      if (node.subtree !== undefined) await walk(node.subtree, path);
      else if (node.type === "file") files.set(path, [...(node.content ?? [])]);
    }
  };
  await walk(tree, "");
  return files;
}

it("a pack failing among those read ahead fails exactly the files that need it, with its error", async (t) => {
  const { base, src, repo } = await backedUpTree(t, "restore-lost-pack", (src) => {
    smallFiles(join(src, "a-small"), 300, "lost");
    writePseudoRandomFile(join(src, "b-big.bin"), 40 * MiB, "lost big");
    smallFiles(join(src, "c-more"), 300, "lost more");
  });
  const store = await FsObjectStore.open(repo);
  const honest = await Repository.open(store, { password: PASSWORD });
  const [snapshot] = await honest.listSnapshots();
  assert.ok(snapshot);
  const files = await fileContents(honest, snapshot.snapshot.tree);
  const bigFile = new Set(files.get(join(src, "b-big.bin")));
  // The data pack holding most of the big file: the packs around it are read at the same time.
  const [lost] = [...(await honest.indexedPacks())]
    .filter(([, blobs]) => blobs[0]?.type === "data")
    .map(([name, blobs]) => ({ name, ids: new Set(blobs.map((blob) => blob.id)) }))
    .sort((a, b) => shared(b.ids, bigFile) - shared(a.ids, bigFile));
  assert.ok(lost);
  const needing = [...files]
    .filter(([, ids]) => ids.some((id) => lost.ids.has(id)))
    .map(([path]) => path)
    .sort();
  assert.ok(needing.includes(join(src, "b-big.bin")) && needing.length < files.size);

  const repoLosing = await Repository.open(losing(store, lost.name), { password: PASSWORD });
  const target = join(base, "target");
  const result = await restore(repoLosing, snapshot, { target, include: [], owner: false });

  assert.deepEqual(result.damaged.map((file) => file.path).sort(), needing);
  for (const file of result.damaged) assert.match(file.error, new RegExp(`data/${lost.name}`));
  for (const [path] of files) {
    const copy = join(target, path);
    if (needing.includes(path)) assert.equal(existsSync(copy), false, `${path} is not left`);
    else assert.equal(await hashFile(copy), await hashFile(path), `${path} is intact`);
  }
});

function shared(ids: ReadonlySet<string>, wanted: ReadonlySet<string>): number {
  let count = 0;
  for (const id of ids) if (wanted.has(id)) count++;
  return count;
}

/**
 * The store, except that the data object `pack` reads as if cut at `cut` bytes, the size its stat
 * reports too: what a restore meets when the index claims blobs past a pack's real end.
 */
function cutShort(store: ObjectStore, pack: string, cut: number): ObjectStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property === "get")
        return async (ref: ObjectRef, range?: { offset: number; length: number }) => {
          if (ref.kind !== "data" || ref.name !== pack) return target.get(ref, range);
          const wanted = range ?? { offset: 0, length: cut };
          if (wanted.offset + wanted.length > cut)
            throw new RempartError("RepositoryCorrupt", `data/${pack} holds ${cut} bytes`);
          return target.get(ref, wanted);
        };
      if (property === "readInto")
        return async (ref: ObjectRef, offset: number, into: Uint8Array) => {
          if (ref.kind === "data" && ref.name === pack && offset + into.length > cut)
            throw new RempartError("RepositoryCorrupt", `data/${pack} holds ${cut} bytes`);
          return target.readInto(ref, offset, into);
        };
      if (property === "stat")
        return async (ref: ObjectRef) => {
          const info = await target.stat(ref);
          return info && ref.kind === "data" && ref.name === pack ? { ...info, size: cut } : info;
        };
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

it("blobs an index places past a pack's end fail only the files that need them", async (t) => {
  const { base, repo } = await backedUpTree(t, "restore-short-pack", (src) => {
    smallFiles(join(src, "files"), 600, "short");
  });
  const store = await FsObjectStore.open(repo);
  const honest = await Repository.open(store, { password: PASSWORD });
  const [snapshot] = await honest.listSnapshots();
  assert.ok(snapshot);
  const files = await fileContents(honest, snapshot.snapshot.tree);
  const [pack] = [...(await honest.indexedPacks())]
    .filter(([, blobs]) => blobs[0]?.type === "data")
    .sort(([, a], [, b]) => b.length - a.length);
  assert.ok(pack);
  const [name, blobs] = pack;
  // Cut in the middle of the pack's last blobs: those blobs and the header are past the end.
  const last = blobs[blobs.length - 3];
  assert.ok(last);
  const cut = last.offset + 1;
  const lostIds = new Set(blobs.filter((b) => b.offset + b.length > cut).map((b) => b.id));
  const needing = [...files]
    .filter(([, ids]) => ids.some((id) => lostIds.has(id)))
    .map(([path]) => path)
    .sort();
  assert.ok(needing.length > 0 && needing.length < files.size);

  const cutRepo = await Repository.open(cutShort(store, name, cut), { password: PASSWORD });
  const target = join(base, "target");
  const result = await restore(cutRepo, snapshot, { target, include: [], owner: false });

  assert.deepEqual(result.damaged.map((file) => file.path).sort(), needing);
  for (const [path] of files) {
    const copy = join(target, path);
    if (needing.includes(path)) assert.equal(existsSync(copy), false, `${path} is not left`);
    else assert.equal(await hashFile(copy), await hashFile(path), `${path} is intact`);
  }
});
