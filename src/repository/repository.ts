/**
 * A repository opened with its master key: the one place that turns stored objects into
 * verified plaintext. Every blob read is authenticated (AEAD) and its keyed id recomputed, so a
 * damaged or substituted blob is reported, never returned.
 */
import { createHash } from "node:crypto";
import { blobId, toHex } from "../crypto/blob-id.js";
import {
  createEscrowSlot,
  createPasswordSlot,
  type KeySlot,
  openAnySlot,
  parseKeySlot,
  type ScryptCost,
} from "../crypto/key-slots.js";
import { generateMasterKey, type MasterKey } from "../crypto/master-key.js";
import type { RecoveryPrivateKey, RecoveryPublicKey } from "../crypto/recovery-key.js";
import { isRempartError, RempartError } from "../errors.js";
import { decodeTree, type Tree } from "../snapshot/tree.js";
import type { ByteRange, ObjectInfo, ObjectStore } from "../storage/object-store.js";
import { BlobDecoder } from "./blob-decoder.js";
import { BlobIndex, type BlobLocation } from "./blob-index.js";
import { newConfig, openConfig, type RepositoryConfig, sealConfig } from "./config.js";
import { decodeIndex, encodeIndex, type IndexedPack } from "./index-file.js";
import { locateHeader, openHeader, PACK_TRAILER_SIZE, type PackEntry } from "./pack.js";
import { openSnapshot, type Snapshot, sealSnapshot } from "./snapshot.js";

export interface OpenSecret {
  readonly password?: string;
  readonly recoveryPrivateKey?: RecoveryPrivateKey;
}

export interface InitOptions {
  readonly password: string;
  readonly label: string;
  readonly recoveryPublicKey?: RecoveryPublicKey;
  readonly chunker: { minSize: number; avgSize: number; maxSize: number };
  readonly packSize?: number;
  readonly kdfCost?: ScryptCost;
}

export interface StoredSnapshot {
  readonly id: string;
  readonly snapshot: Snapshot;
}

export interface StoredKeySlot {
  readonly name: string;
  readonly slot: KeySlot;
}

const CONFIG_REF = { kind: "config", name: "config" } as const;
/** Tree packs kept in memory, least recently used dropped first. */
const TREE_CACHE_BYTES = 32 * 1024 * 1024;

function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

async function readKeySlots(store: ObjectStore): Promise<StoredKeySlot[]> {
  const slots: StoredKeySlot[] = [];
  for await (const info of store.list("keys")) {
    const bytes = await store.get(info);
    try {
      const slot = parseKeySlot(JSON.parse(Buffer.from(bytes).toString("utf8")));
      slots.push({ name: info.name, slot });
    } catch {
      // A garbled slot must not lock the owner out of the others; opening reports if none work.
    }
  }
  return slots;
}

export class Repository {
  readonly index = new BlobIndex();
  private readonly decoder: BlobDecoder;
  private readonly treePacks = new Map<string, Uint8Array>();
  private treePackBytes = 0;

  private constructor(
    readonly store: ObjectStore,
    readonly masterKey: MasterKey,
    readonly config: RepositoryConfig,
    /** the key slot this session opened with */
    readonly openedWith: string,
  ) {
    this.decoder = new BlobDecoder(masterKey);
  }

  static async init(
    store: ObjectStore,
    options: InitOptions,
    now = new Date(),
  ): Promise<Repository> {
    if (await store.stat(CONFIG_REF))
      throw new RempartError("RepositoryExists", "a repository already exists here");
    const masterKey = generateMasterKey();
    const config = newConfig(options.chunker, now, options.packSize);
    const passwordSlot = await createPasswordSlot(
      masterKey,
      options.password,
      options.label,
      options.kdfCost,
    );
    const slotName = await Repository.storeKeySlot(store, passwordSlot);
    if (options.recoveryPublicKey)
      await Repository.storeKeySlot(
        store,
        createEscrowSlot(masterKey, options.recoveryPublicKey, "MSP recovery key"),
      );
    // Written last: a repository without config was never completed and does not open.
    await store.put(CONFIG_REF, sealConfig(masterKey.encryption, config));
    return new Repository(store, masterKey, config, slotName);
  }

  static async open(store: ObjectStore, secret: OpenSecret): Promise<Repository> {
    if (!(await store.stat(CONFIG_REF)))
      throw new RempartError("RepositoryNotFound", "no repository here (no config object)");
    const slots = await readKeySlots(store);
    if (slots.length === 0)
      throw new RempartError("RepositoryCorrupt", "the repository has no readable key slots");
    const sealedConfig = await store.get(CONFIG_REF);
    // A slot counts only if its master key also authenticates the config: anyone who can write
    // keys/ can add an escrow slot (it needs only the public key) holding a key of their own.
    let configError: RempartError | undefined;
    for (const { name, slot } of slots) {
      let masterKey: MasterKey;
      try {
        ({ masterKey } = await openAnySlot([slot], secret));
      } catch (error) {
        if (isRempartError(error, "WrongPassword")) continue;
        throw error;
      }
      try {
        return new Repository(
          store,
          masterKey,
          openConfig(masterKey.encryption, sealedConfig),
          name,
        );
      } catch (error) {
        if (!isRempartError(error, "RepositoryCorrupt")) throw error;
        configError ??= error;
      }
    }
    throw (
      configError ??
      new RempartError(
        "WrongPassword",
        secret.password !== undefined
          ? "wrong password: no key slot matches"
          : "wrong recovery key: no key slot matches",
      )
    );
  }

  private static async storeKeySlot(store: ObjectStore, slot: KeySlot): Promise<string> {
    const bytes = Buffer.from(JSON.stringify(slot));
    const name = sha256Hex(bytes);
    await store.put({ kind: "keys", name }, bytes);
    return name;
  }

  listKeySlots(): Promise<StoredKeySlot[]> {
    return readKeySlots(this.store);
  }

  addPasswordSlot(password: string, label: string, cost?: ScryptCost): Promise<string> {
    return createPasswordSlot(this.masterKey, password, label, cost).then((slot) =>
      Repository.storeKeySlot(this.store, slot),
    );
  }

  addEscrowSlot(recipient: RecoveryPublicKey, label: string): Promise<string> {
    return Repository.storeKeySlot(this.store, createEscrowSlot(this.masterKey, recipient, label));
  }

  async removeKeySlot(name: string): Promise<void> {
    if (name === this.openedWith)
      throw new RempartError(
        "InvalidArgument",
        "refusing to remove the key slot this command was opened with; open with another key first",
      );
    if (!(await this.store.stat({ kind: "keys", name })))
      throw new RempartError("NotFound", `no key slot ${name}`);
    await this.store.delete({ kind: "keys", name });
  }

  /**
   * Loads every index object into memory, keeping only packs the store still holds: a pack the
   * server collected (GC) must never be deduplicated against. Returns the packs no index covers.
   */
  async loadIndex(): Promise<ObjectInfo[]> {
    const stored = new Map<string, ObjectInfo>();
    for await (const info of this.store.list("data")) stored.set(info.name, info);
    for await (const info of this.store.list("index")) {
      const sealed = await this.store.get(info);
      for (const pack of decodeIndex(this.masterKey.encryption, sealed, info.name))
        if (stored.has(pack.pack)) this.index.addPack(pack);
    }
    return [...stored.values()].filter((info) => !this.index.hasPack(info.name));
  }

  async readPackHeader(info: ObjectInfo): Promise<PackEntry[]> {
    const trailer = await this.store.get(info, {
      offset: info.size - PACK_TRAILER_SIZE,
      length: PACK_TRAILER_SIZE,
    });
    const header = locateHeader(trailer, info.size, info.name);
    const sealed = await this.store.get(info, header);
    return openHeader(this.masterKey.encryption, sealed, header.offset, info.name);
  }

  /**
   * Indexes packs a killed backup stored but never listed in an index, from their own headers,
   * so their blobs are reused instead of uploaded again. Packs whose header cannot be read are
   * returned as damaged and left out.
   */
  async adoptPacks(
    infos: readonly ObjectInfo[],
  ): Promise<{ adopted: IndexedPack[]; damaged: RempartError[] }> {
    const adopted: IndexedPack[] = [];
    const damaged: RempartError[] = [];
    for (const info of infos) {
      try {
        const pack = { pack: info.name, blobs: await this.readPackHeader(info) };
        this.index.addPack(pack);
        adopted.push(pack);
      } catch (error) {
        // Gone since it was listed: collected by the server (another machine's upload that was
        // never committed), so there is nothing to adopt.
        if (isRempartError(error, "NotFound")) continue;
        if (!isRempartError(error, "RepositoryCorrupt")) throw error;
        damaged.push(error);
      }
    }
    return { adopted, damaged };
  }

  async saveIndex(packs: readonly IndexedPack[]): Promise<string> {
    const sealed = encodeIndex(this.masterKey.encryption, packs);
    const name = sha256Hex(sealed);
    await this.store.put({ kind: "index", name }, sealed);
    return name;
  }

  /** Authenticates, decompresses and verifies one blob's sealed bytes; throws RepositoryCorrupt. */
  decodeBlob(location: BlobLocation, sealed: Uint8Array): Uint8Array {
    return this.decoder.decode(location, sealed);
  }

  locate(id: string): BlobLocation {
    const location = this.index.get(id);
    if (!location)
      throw new RempartError("RepositoryCorrupt", `blob ${id} is not in any index`, { blob: id });
    return location;
  }

  async readBlob(id: string): Promise<Uint8Array> {
    const location = this.locate(id);
    return this.decodeBlob(location, await this.fetch(location, location));
  }

  /** Reads part or all of the pack holding a blob. */
  private async fetch(location: BlobLocation, range: ByteRange | undefined): Promise<Uint8Array> {
    try {
      return await this.store.get({ kind: "data", name: location.pack }, range);
    } catch (error) {
      // The index promised this pack: its absence is damage, not a wrong argument.
      if (!isRempartError(error, "NotFound")) throw error;
      throw new RempartError(
        "RepositoryCorrupt",
        `pack ${location.pack} holding ${location.type} blob ${location.id} is missing`,
        { pack: location.pack, blob: location.id },
      );
    }
  }

  /**
   * Tree packs hold only trees, and a walk reads the trees of a pack close together, so tree
   * packs are read whole and the most recent ones kept: one read instead of one per directory
   * (3,300 on the benchmark share), in bounded memory.
   */
  async readTree(id: string): Promise<Tree> {
    const location = this.locate(id);
    let pack = this.treePacks.get(location.pack);
    if (pack) {
      // Map order is insertion order: re-inserting marks the pack most recently used.
      this.treePacks.delete(location.pack);
      this.treePacks.set(location.pack, pack);
    } else {
      pack = await this.fetch(location, undefined);
      this.treePacks.set(location.pack, pack);
      this.treePackBytes += pack.length;
      for (const [name, bytes] of this.treePacks) {
        if (this.treePackBytes <= TREE_CACHE_BYTES || name === location.pack) break;
        this.treePacks.delete(name);
        this.treePackBytes -= bytes.length;
      }
    }
    return decodeTree(
      this.decodeBlob(location, pack.subarray(location.offset, location.offset + location.length)),
      id,
    );
  }

  /**
   * Commits a snapshot; `blobs` are the ids of every tree and data blob it references, from
   * which the packs it needs are listed for the store to check (and a server to record).
   */
  async saveSnapshot(snapshot: Snapshot, blobs: Iterable<string>): Promise<string> {
    const packs = new Set<string>();
    for (const id of blobs) packs.add(this.locate(id).pack);
    const bytes = sealSnapshot(this.masterKey.encryption, snapshot);
    const name = sha256Hex(bytes);
    await this.store.commitSnapshot({
      name,
      bytes,
      packs: [...packs],
      claimedTime: snapshot.time,
      logicalBytes: snapshot.summary.totalBytes,
    });
    return name;
  }

  /** Every snapshot, oldest first. */
  async listSnapshots(): Promise<StoredSnapshot[]> {
    const snapshots: StoredSnapshot[] = [];
    for await (const info of this.store.list("snapshots")) {
      const sealed = await this.store.get(info);
      if (sha256Hex(sealed) !== info.name)
        throw new RempartError(
          "RepositoryCorrupt",
          `snapshot ${info.name} does not match its name`,
        );
      snapshots.push({
        id: info.name,
        snapshot: openSnapshot(this.masterKey.encryption, sealed, info.name),
      });
    }
    return snapshots.sort(
      (a, b) => a.snapshot.time.localeCompare(b.snapshot.time) || a.id.localeCompare(b.id),
    );
  }

  /**
   * `latest` (of the snapshots from `latestOf.host` that include `latestOf.path`, when given: a
   * tenant's repository holds every machine's snapshots), a full id, or a unique id prefix.
   */
  async findSnapshot(
    reference: string,
    latestOf: { readonly host?: string; readonly path?: string } = {},
  ): Promise<StoredSnapshot> {
    const snapshots = await this.listSnapshots();
    if (reference === "latest") {
      const { host, path } = latestOf;
      const latest = snapshots
        .filter(
          (s) =>
            (host === undefined || s.snapshot.host === host) &&
            (path === undefined || s.snapshot.paths.includes(path)),
        )
        .at(-1);
      if (!latest) {
        const filter = [host && `from host ${host}`, path && `of ${path}`]
          .filter(Boolean)
          .join(" ");
        throw new RempartError("NotFound", `there is no snapshot${filter ? ` ${filter}` : " yet"}`);
      }
      return latest;
    }
    if (!/^[0-9a-f]+$/.test(reference))
      throw new RempartError("InvalidArgument", `"${reference}" is not a snapshot id or "latest"`);
    const matches = snapshots.filter((s) => s.id.startsWith(reference));
    if (matches.length === 0)
      throw new RempartError("NotFound", `no snapshot matches ${reference}`);
    if (matches.length > 1)
      throw new RempartError("InvalidArgument", `snapshot prefix ${reference} is ambiguous`);
    return matches[0] as StoredSnapshot;
  }

  keyedId(data: Uint8Array): string {
    return toHex(blobId(this.masterKey.id, data));
  }
}
