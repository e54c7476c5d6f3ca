/**
 * A repository opened with its master key: the one place that turns stored objects into
 * verified plaintext. Every blob read is authenticated (AEAD) and its keyed id recomputed, so a
 * damaged or substituted blob is reported, never returned.
 *
 * Everything read here may have been written by an attacker holding a machine's credential and
 * the password (untrusted.ts): objects that fail are skipped and reported (`skipped`,
 * `onSkipped`), never fatal to the others; what loads first follows the server's receipt order,
 * not names; every cost an object can impose (KDF work, slot reads, sizes) is bounded first.
 */
import { type ChunkerParams, gearTable } from "../chunker/fastcdc.js";
import { blobId, toHex } from "../crypto/blob-id.js";
import {
  createEscrowSlot,
  createPasswordSlot,
  DEFAULT_SCRYPT,
  KDF_WORK_BUDGET,
  type KeySlot,
  kdfWork,
  openAnySlot,
  parseKeySlot,
  type ScryptCost,
} from "../crypto/key-slots.js";
import { generateMasterKey, type MasterKey } from "../crypto/master-key.js";
import type { RecoveryPrivateKey, RecoveryPublicKey } from "../crypto/recovery-key.js";
import { isRempartError, RempartError } from "../errors.js";
import { displayName } from "../snapshot/filename.js";
import {
  compareNames,
  decodeTree,
  type Tree,
  type TreeBlob,
  type TreeNode,
} from "../snapshot/tree.js";
import {
  type ByteRange,
  contentName,
  type ObjectInfo,
  type ObjectStore,
} from "../storage/object-store.js";
import { committerFor } from "../storage/snapshot-commit.js";
import { BlobDecoder, type BlobDecodingContext } from "./blob-decoder.js";
import type { BlobType } from "./blob-entry.js";
import { BlobIndex, type BlobLocation } from "./blob-index.js";
import {
  newConfig,
  openConfig,
  type RepositoryConfig,
  sealConfig,
  writesFrames,
} from "./config.js";
import { EntryList } from "./entry-list.js";
import { decodeIndex, encodeIndex, type IndexedPack, type ListedPack } from "./index-file.js";
import { type DecodedIndex, reconcileIndexes } from "./index-reconcile.js";
import {
  checkPackSize,
  locateHeader,
  openHeader,
  PACK_TRAILER_SIZE,
  type PackEntry,
} from "./pack.js";
import { type PackBlob, readPackBlobs } from "./pack-reader.js";
import { type PackSealingContext, PackWriter } from "./pack-writer.js";
import { readAhead } from "./read-ahead.js";
import { openSnapshot, type Snapshot, type StoredSnapshot, sealSnapshot } from "./snapshot.js";
import {
  isObjectFault,
  orderSnapshots,
  receiptOrder,
  type SkippedObject,
  skipped,
} from "./untrusted.js";

export type { BlobDecodingContext, BlobLocation } from "./blob-decoder.js";
export type { PackBlob } from "./pack-reader.js";
export type { PackSealingContext, PackWriter, ResumedPacks } from "./pack-writer.js";
export type { StoredSnapshot } from "./snapshot.js";
export type { SkippedObject } from "./untrusted.js";

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
  /** the format version to write (config.ts); the latest by default */
  readonly formatVersion?: number;
}

/** How a reader opens a repository; every field is optional. */
export interface OpenOptions {
  /**
   * The key slot to try first: the one this machine enrolled with (agent.json `keySlot`). Its
   * name is the SHA-256 of its bytes, so nobody can replace it with a costlier one.
   */
  readonly preferredSlot?: string;
  /**
   * Told about objects readers skip (they failed to open, authenticate or decode) or distrust,
   * each object once per session, in batches: the CLI warns, `check` lists them.
   */
  readonly onSkipped?: (objects: readonly SkippedObject[]) => void;
  /** the clock that bounds claimed snapshot times (tests move it) */
  readonly now?: () => Date;
  /**
   * The caller will read the index (a backup): its listings and first objects, which need no
   * key, are asked for while the key slot's KDF runs instead of after it.
   */
  readonly loadsIndex?: boolean;
  /**
   * The caller will list the snapshots (a backup, for its parent): the listing and the reads of
   * the first snapshot objects are asked for while the key slot's KDF runs.
   */
  readonly listsSnapshots?: boolean;
}

/** What a backup's main thread needs to cut files into blobs and name them. */
export interface ChunkingContext {
  /** the key of keyed blob ids (HMAC-SHA256) */
  readonly idKey: Uint8Array;
  readonly gear: Uint32Array;
  readonly params: ChunkerParams;
}

export interface StoredKeySlot {
  readonly name: string;
  readonly slot: KeySlot;
}

const CONFIG_REF = { kind: "config", name: "config" } as const;
/** Tree packs kept in memory, least recently used dropped first. */
const TREE_CACHE_BYTES = 32 * 1024 * 1024;
/** Tree packs read ahead of a walk at once: each may be a whole pack (up to the pack size). */
const TREE_PACKS_AHEAD = 2;
/** A slot is ~500 bytes of JSON; anything far larger is not one, and is not read. */
const MAX_KEY_SLOT_BYTES = 64 * 1024;
/**
 * Key slot objects one open reads at most: each is a request to the server (a few ms), and a
 * slot that asks for too much KDF work is refused unread by parseKeySlot, so reading is the only
 * cost hostile slots add once the enrolled slot is not the first tried.
 */
const MAX_KEY_SLOT_READS = 1024;
/**
 * A sealed snapshot is a few hundred bytes of JSON (the server takes commits of at most 1 MiB of
 * JSON); anything larger is skipped unread.
 */
const MAX_SNAPSHOT_BYTES = 4 * 1024 * 1024;
/**
 * Index and snapshot objects read ahead of the one being opened (read-ahead.ts): through a
 * server, reading them one after the other cost a round trip each.
 */
const READ_AHEAD = 8;

async function collect(store: ObjectStore, kind: "keys" | "index" | "snapshots" | "data") {
  const infos: ObjectInfo[] = [];
  for await (const info of store.list(kind)) infos.push(info);
  return infos;
}

/** A listing taken ahead of its reader, with the reads of its first objects already started. */
interface EarlyListing {
  readonly infos: ObjectInfo[];
  readonly started: Map<string, Promise<Uint8Array>>;
}

/**
 * Starts reading the first READ_AHEAD of `infos` (so no more bytes are held than the reader's own
 * read-ahead holds) that `readable` allows; each read is taken once (takeRead).
 */
function startReads(
  store: ObjectStore,
  infos: readonly ObjectInfo[],
  readable: (info: ObjectInfo) => boolean = () => true,
): Map<string, Promise<Uint8Array>> {
  const started = new Map<string, Promise<Uint8Array>>();
  for (const info of infos.slice(0, READ_AHEAD)) {
    if (!readable(info)) continue;
    const reading = store.get(info);
    // Its error is the reader's to report, when it takes this read.
    reading.catch(() => undefined);
    started.set(info.name, reading);
  }
  return started;
}

/** The read of `info` started early, else a new one. */
function takeRead(
  store: ObjectStore,
  started: Map<string, Promise<Uint8Array>> | undefined,
  info: ObjectInfo,
): Promise<Uint8Array> {
  const reading = started?.get(info.name);
  started?.delete(info.name);
  return reading ?? store.get(info);
}

/** Where an index load starts: the stored packs and the index objects in receipt order. */
interface IndexListing extends EarlyListing {
  readonly packs: ObjectInfo[];
}

async function listIndex(store: ObjectStore, readFirst: boolean): Promise<IndexListing> {
  // Both listings at once: through a server each is at least a round trip.
  const [packs, infos] = await Promise.all([
    collect(store, "data"),
    collect(store, "index").then(receiptOrder),
  ]);
  return { packs, infos, started: readFirst ? startReads(store, infos) : new Map() };
}

/** The snapshot objects in receipt order, the first ones' reads started (never an oversized one). */
async function listSnapshotObjects(store: ObjectStore): Promise<EarlyListing> {
  const infos = receiptOrder(await collect(store, "snapshots"));
  return { infos, started: startReads(store, infos, (info) => info.size <= MAX_SNAPSHOT_BYTES) };
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** One stored key slot, parsed (with its KDF bounds) but not opened. Throws for anything else. */
async function readKeySlot(store: ObjectStore, info: ObjectInfo): Promise<KeySlot> {
  if (info.size > MAX_KEY_SLOT_BYTES)
    throw new RempartError(
      "RepositoryCorrupt",
      `key slot ${info.name} is ${info.size} bytes, too large to be a key slot`,
    );
  const bytes = await store.get(info);
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch {
    throw new RempartError("RepositoryCorrupt", `key slot ${info.name} is not JSON`);
  }
  return parseKeySlot(value);
}

/** The preferred slot first, then the oldest received (receiptOrder). */
function slotOrder(infos: readonly ObjectInfo[], preferred: string | undefined): ObjectInfo[] {
  const ordered = receiptOrder(infos);
  const at = ordered.findIndex((info) => info.name === preferred);
  if (at > 0) ordered.unshift(...ordered.splice(at, 1));
  return ordered;
}

/**
 * The one door to a repository's objects. Its store, index and master key are private: callers
 * ask for what their job needs (a blob's locations, a pack's bytes or blobs, a writer for new
 * packs, the keys a worker thread needs to seal or decode), so every read goes through the
 * checks here and no caller has to remember to load the index.
 */
export class Repository {
  private index = new BlobIndex();
  /**
   * The index is loaded on first need, not on open: `snapshots` and `key list` never read it.
   * Resolves to the stored packs no accepted index lists.
   */
  private indexLoad: Promise<ObjectInfo[]> | undefined;
  /** The listing started during open (OpenOptions.loadsIndex), until the first load takes it. */
  private earlyListing: Promise<IndexListing> | undefined;
  /** The snapshots listed during open (OpenOptions.listsSnapshots), until listSnapshots takes them. */
  private earlySnapshots: Promise<EarlyListing> | undefined;
  private readonly decoder: BlobDecoder;
  private readonly treePacks = new Map<string, Uint8Array>();
  private treePackBytes = 0;
  /** Tree packs read ahead of the walk (readSubtreePacks); undefined when the read failed. */
  private readonly treePacksAhead = new Map<string, Promise<Uint8Array | undefined>>();
  private readonly skippedObjects = new Map<string, SkippedObject>();

  private constructor(
    private readonly store: ObjectStore,
    private readonly masterKey: MasterKey,
    readonly config: RepositoryConfig,
    /** the key slot this session opened with */
    readonly openedWith: string,
    private readonly options: OpenOptions = {},
  ) {
    this.decoder = new BlobDecoder(masterKey);
  }

  /** Every object skipped or distrusted so far in this session, in the order met. */
  get skipped(): readonly SkippedObject[] {
    return [...this.skippedObjects.values()];
  }

  /** Records objects skipped; the new ones go to `onSkipped`, once each. */
  private report(objects: readonly SkippedObject[]): void {
    const fresh = objects.filter((object) => {
      const key = `${object.kind}/${object.name}`;
      if (this.skippedObjects.has(key)) return false;
      this.skippedObjects.set(key, object);
      return true;
    });
    if (fresh.length > 0) this.options.onSkipped?.(fresh);
  }

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }

  static async init(
    store: ObjectStore,
    options: InitOptions,
    now = new Date(),
  ): Promise<Repository> {
    if (await store.stat(CONFIG_REF))
      throw new RempartError("RepositoryExists", "a repository already exists here");
    const masterKey = generateMasterKey();
    const config = newConfig(options.chunker, now, options.packSize, options.formatVersion);
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

  /**
   * Opens with the first key slot the secret opens whose master key also authenticates the
   * config. Slots are tried preferred first, then oldest received; a slot is parsed (KDF bounds
   * included) before its KDF runs, and one open reads at most MAX_KEY_SLOT_READS slots and
   * spends at most KDF_WORK_BUDGET, so slots a compromised agent adds cannot make it slow.
   */
  static async open(
    store: ObjectStore,
    secret: OpenSecret,
    options: OpenOptions = {},
  ): Promise<Repository> {
    // Both asked at once: through a server each is a round trip before the KDF can start.
    const keyListing = collect(store, "keys");
    // Without a config there is no repository, whatever the key listing says.
    keyListing.catch(() => undefined);
    const sealedConfig = await store.get(CONFIG_REF).catch((error: unknown) => {
      if (!isRempartError(error, "NotFound")) throw error;
      throw new RempartError("RepositoryNotFound", "no repository here (no config object)");
    });
    const infos = slotOrder(await keyListing, options.preferredSlot);
    let earlyListing: Promise<IndexListing> | undefined;
    let earlySnapshots: Promise<EarlyListing> | undefined;
    const damaged: SkippedObject[] = [];
    let readable = 0;
    let work = 0;
    let tried = 0;
    // A slot counts only if its master key also authenticates the config: anyone who can write
    // keys/ can add an escrow slot (it needs only the public key) holding a key of their own.
    let configError: RempartError | undefined;
    for (const [position, info] of infos.entries()) {
      if (position >= MAX_KEY_SLOT_READS)
        throw Repository.slotBudgetError(infos.length, position, tried, damaged);
      let slot: KeySlot;
      try {
        slot = await readKeySlot(store, info);
      } catch (error) {
        // Removed since the listing (`key remove` elsewhere): nothing to try.
        if (isRempartError(error, "NotFound")) continue;
        if (!isObjectFault(error)) throw error;
        damaged.push(skipped(info, reasonOf(error)));
        continue;
      }
      readable++;
      const usable =
        (slot.kind === "password" && secret.password !== undefined) ||
        (slot.kind === "escrow" && secret.recoveryPrivateKey !== undefined);
      if (!usable) continue;
      if (work + kdfWork(slot) > KDF_WORK_BUDGET)
        throw Repository.slotBudgetError(infos.length, position, tried, damaged);
      work += kdfWork(slot);
      tried++;
      // Started once the slot is read, not before: on a local store the listing's stat calls
      // would queue ahead of the slot's read on libuv's threads, and the KDF then takes one.
      // The snapshots first: a handful of objects, where the data listing stats every pack.
      if (options.listsSnapshots && earlySnapshots === undefined) {
        earlySnapshots = listSnapshotObjects(store);
        // A failed listing is listed again by listSnapshots; a failed open never takes it.
        earlySnapshots.catch(() => undefined);
      }
      if (options.loadsIndex && earlyListing === undefined) {
        earlyListing = listIndex(store, true);
        // A failed listing is the index load's to report; an open that fails never takes it.
        earlyListing.catch(() => undefined);
      }
      let masterKey: MasterKey;
      try {
        ({ masterKey } = await openAnySlot([slot], secret));
      } catch (error) {
        if (isRempartError(error, "WrongPassword")) {
          const damagedSlots = error.details.damagedSlots;
          if (Array.isArray(damagedSlots) && damagedSlots.length > 0)
            damaged.push(skipped(info, `key slot ${info.name} is damaged: ${error.message}`));
          continue;
        }
        throw error;
      }
      let config: RepositoryConfig;
      try {
        config = openConfig(masterKey.encryption, sealedConfig);
      } catch (error) {
        if (!isRempartError(error, "RepositoryCorrupt")) throw error;
        configError ??= error;
        damaged.push(
          skipped(info, `key slot ${info.name} holds a key that does not open the config`),
        );
        continue;
      }
      const repo = new Repository(store, masterKey, config, info.name, options);
      repo.earlyListing = earlyListing;
      repo.earlySnapshots = earlySnapshots;
      repo.report(damaged);
      return repo;
    }
    if (readable === 0)
      throw new RempartError(
        "RepositoryCorrupt",
        infos.length === 0
          ? "the repository has no key slots"
          : `the repository has no readable key slots (${damaged.length} damaged)`,
        { damagedSlots: damaged.map((d) => d.name) },
      );
    throw (
      configError ??
      new RempartError(
        "WrongPassword",
        secret.password !== undefined
          ? "wrong password: no key slot matches"
          : "wrong recovery key: no key slot matches",
        { damagedSlots: damaged.map((d) => d.name) },
      )
    );
  }

  private static slotBudgetError(
    total: number,
    position: number,
    tried: number,
    damaged: readonly SkippedObject[],
  ): RempartError {
    return new RempartError(
      "WrongPassword",
      `no key slot opened within the limit of one open (${MAX_KEY_SLOT_READS} slots read, scrypt work of ${KDF_WORK_BUDGET / (DEFAULT_SCRYPT.N * DEFAULT_SCRYPT.r)} default slots): ${tried} tried, ${damaged.length} damaged, ${total - position} not tried. The repository holds ${total} key slots, far more than Rempart creates; slots added by a compromised agent may be crowding out yours. Open with the key slot this machine enrolled with ("keySlot" in agent.json), and have the MSP check the tenant's key slots`,
      { tried, untried: total - position, total, damagedSlots: damaged.map((d) => d.name) },
    );
  }

  private static async storeKeySlot(store: ObjectStore, slot: KeySlot): Promise<string> {
    const bytes = Buffer.from(JSON.stringify(slot));
    const name = contentName(bytes);
    await store.put({ kind: "keys", name }, bytes);
    return name;
  }

  /** Every key slot that parses, oldest received first; the others are reported as skipped. */
  async listKeySlots(): Promise<StoredKeySlot[]> {
    const slots: StoredKeySlot[] = [];
    const bad: SkippedObject[] = [];
    for (const info of receiptOrder(await collect(this.store, "keys"))) {
      try {
        slots.push({ name: info.name, slot: await readKeySlot(this.store, info) });
      } catch (error) {
        if (isRempartError(error, "NotFound")) continue;
        if (!isObjectFault(error)) throw error;
        bad.push(skipped(info, reasonOf(error)));
      }
    }
    this.report(bad);
    return slots;
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

  /** The index, loaded on first need (see loadIndex); a failed load is tried again next time. */
  private async loadedIndex(): Promise<BlobIndex> {
    await this.unindexedPacks();
    return this.index;
  }

  /** The stored packs no accepted index lists: leftovers of a killed backup, or uploads of others. */
  async unindexedPacks(): Promise<ObjectInfo[]> {
    this.indexLoad ??= this.loadIndex().catch((error: unknown) => {
      this.indexLoad = undefined;
      throw error;
    });
    // Packs adopted since the load (packWriter) are indexed now.
    return (await this.indexLoad).filter((info) => !this.index.hasPack(info.name));
  }

  /**
   * Reads every index afresh for `check`, telling `onGonePack` about each pack an index lists
   * that the store no longer holds (check names it when a snapshot still needs one of its blobs).
   * Returns the stored packs no accepted index lists.
   */
  auditIndex(onGonePack: (pack: IndexedPack, index: string) => void): Promise<ObjectInfo[]> {
    this.index = new BlobIndex();
    this.indexLoad = this.loadIndex(onGonePack);
    return this.indexLoad;
  }

  /**
   * Loads the index objects into memory, oldest received first (so a blob's first location is
   * the one uploaded first), keeping only packs the store still holds: a pack the server
   * collected (GC) must never be deduplicated against. An index that fails to authenticate or
   * decode is skipped and reported; indexes that disagree about a pack are settled by the pack's
   * own header (reconcileIndexes). Returns the stored packs no accepted index covers.
   */
  private async loadIndex(
    onGonePack?: (pack: IndexedPack, index: string) => void,
  ): Promise<ObjectInfo[]> {
    const index = this.index;
    const listing = this.earlyListing ?? listIndex(this.store, false);
    this.earlyListing = undefined;
    const { packs: packObjects, infos: indexes, started } = await listing;
    const stored = new Map<string, ObjectInfo>();
    for (const info of packObjects) stored.set(info.name, info);
    const decoded: DecodedIndex[] = [];
    const skippedIndexes: SkippedObject[] = [];
    const decoding = readAhead(indexes, READ_AHEAD, async (info) =>
      decodeIndex(this.masterKey.encryption, await takeRead(this.store, started, info), info.name),
    );
    for (const [info, reading] of decoding) {
      let packs: ListedPack[];
      try {
        packs = await reading;
      } catch (error) {
        if (isRempartError(error, "NotFound")) continue;
        if (!isObjectFault(error)) throw error;
        skippedIndexes.push(skipped(info, reasonOf(error)));
        continue;
      }
      const kept = packs.filter((pack) => {
        if (stored.has(pack.pack)) return true;
        onGonePack?.({ pack: pack.pack, blobs: pack.entries }, info.name);
        return false;
      });
      decoded.push({ info, packs: kept });
    }
    const settled = await reconcileIndexes(decoded, stored, (info) => this.readPackHeader(info));
    index.reserve(settled.packs.reduce((sum, { entries }) => sum + entries.length, 0));
    for (const { pack, entries } of settled.packs) index.addPack(pack, entries);
    this.report([...skippedIndexes, ...settled.skipped]);
    return [...stored.values()].filter((info) => !index.hasPack(info.name));
  }

  /** Every location of a blob, the first loaded first; empty when no index lists it. */
  async blobLocations(id: string): Promise<readonly BlobLocation[]> {
    return (await this.loadedIndex()).getAll(id);
  }

  /**
   * blobLocations of each id, with one wait for the index: a restore asks it of every blob of a
   * batch, where an await per blob made most of its main thread's garbage.
   */
  async blobLocationsOfEach(ids: readonly string[]): Promise<(readonly BlobLocation[])[]> {
    const index = await this.loadedIndex();
    return ids.map((id) => index.getAll(id));
  }

  /** Whether an index lists the blob (as `type`, when given) in a stored pack. */
  async hasBlob(id: string, type?: BlobType): Promise<boolean> {
    return (await this.loadedIndex()).has(id, type);
  }

  /** Every indexed pack with its entries as the index gives them (not as its header does). */
  async indexedPacks(): Promise<ReadonlyMap<string, readonly PackEntry[]>> {
    return (await this.loadedIndex()).packs;
  }

  /** Every stored pack, indexed or not. */
  listPacks(): Promise<ObjectInfo[]> {
    return collect(this.store, "data");
  }

  /** A stored pack's size and receipt, or undefined when it is not stored. */
  statPack(pack: string): Promise<ObjectInfo | undefined> {
    return this.store.stat({ kind: "data", name: pack });
  }

  /** A pack's bytes, whole or one range; the store's NotFound when it is gone. */
  readPack(pack: string, range?: ByteRange): Promise<Uint8Array> {
    return this.store.get({ kind: "data", name: pack }, range);
  }

  /** `readPack` of `target.byteLength` bytes at `offset`, into a buffer the caller reuses. */
  readPackInto(pack: string, offset: number, target: Uint8Array): Promise<void> {
    return this.store.readInto({ kind: "data", name: pack }, offset, target);
  }

  /**
   * Reads a pack once and yields each wanted blob's plaintext or its error (RepositoryCorrupt
   * naming blob and pack), in pack order: one damaged blob never hides the others. See
   * pack-reader.ts for when the pack is read whole.
   */
  packBlobs(
    pack: string,
    wanted: readonly PackEntry[],
    options: { readonly onWholePack?: (bytes: Uint8Array) => void } = {},
  ): AsyncGenerator<PackBlob> {
    return readPackBlobs(
      {
        stat: () => this.statPack(pack),
        read: (range) => this.readPack(pack, range),
        decode: (location, sealed) => this.decodeBlob(location, sealed),
      },
      pack,
      wanted,
      options.onWholePack,
    );
  }

  /**
   * A pack's entries from its own sealed header: the trailer, then the header, by ranged reads.
   * Sizes are checked before any range is asked for, so a pack of 0 or 3 bytes is reported as
   * damaged (RepositoryCorrupt), never turned into a negative offset.
   */
  async readPackHeader(info: ObjectInfo): Promise<PackEntry[]> {
    checkPackSize(info.size, info.name);
    const trailer = await this.store.get(info, {
      offset: info.size - PACK_TRAILER_SIZE,
      length: PACK_TRAILER_SIZE,
    });
    const header = locateHeader(trailer, info.size, info.name);
    const sealed = await this.store.get(info, header);
    return openHeader(this.masterKey.encryption, sealed, header.offset, info.name);
  }

  /** A pack's entries from its own header, in a whole pack already read; throws RepositoryCorrupt. */
  packHeaderIn(bytes: Uint8Array, pack: string): PackEntry[] {
    const header = locateHeader(
      bytes.subarray(bytes.length - PACK_TRAILER_SIZE),
      bytes.length,
      pack,
    );
    return openHeader(
      this.masterKey.encryption,
      bytes.subarray(header.offset, header.offset + header.length),
      header.offset,
      pack,
    );
  }

  /**
   * Starts writing blobs: loads the index, adopts the packs a killed backup stored but never
   * listed (so their blobs are reused, and listed in the writer's first index), and returns the
   * writer that dedups against both and stores new packs.
   */
  async packWriter(): Promise<PackWriter> {
    const { adopted, damaged } = await this.adoptPacks(await this.unindexedPacks());
    const target = {
      store: this.store,
      index: this.index,
      saveIndex: (packs: readonly IndexedPack[]) => this.saveIndex(packs),
    };
    return new PackWriter(target, adopted, { adopted: adopted.length, damaged });
  }

  /** The keys and sizes a backup's blob workers seal packs with, in their own threads. */
  async packSealingContext(): Promise<PackSealingContext> {
    return {
      encryptionKey: this.masterKey.encryption,
      packSize: this.config.packSize,
      spoolDir: await this.store.spoolDir(),
      frames: writesFrames(this.config),
    };
  }

  /** The keys a restore worker decodes blobs with, in its own thread (see BlobDecoder). */
  blobDecodingContext(): BlobDecodingContext {
    return { encryptionKey: this.masterKey.encryption, idKey: this.masterKey.id };
  }

  /** The keyed-id key and chunker parameters a backup cuts and names file data with. */
  chunkingContext(): ChunkingContext {
    const { seed, ...params } = this.config.chunker;
    return {
      idKey: this.masterKey.id,
      gear: gearTable(Buffer.from(seed, "base64")),
      params,
    };
  }

  /**
   * Indexes packs no index lists, from their own headers. Packs that are not well-formed (too
   * short, header out of bounds, header failing to open) are reported, returned as damaged and
   * never adopted.
   */
  private async adoptPacks(
    infos: readonly ObjectInfo[],
  ): Promise<{ adopted: IndexedPack[]; damaged: RempartError[] }> {
    const adopted: IndexedPack[] = [];
    const damaged: RempartError[] = [];
    const reported: SkippedObject[] = [];
    for (const info of receiptOrder(infos)) {
      try {
        const pack = { pack: info.name, blobs: await this.readPackHeader(info) };
        this.index.addPack(pack.pack, EntryList.of(pack.blobs));
        adopted.push(pack);
      } catch (error) {
        // Gone since it was listed: collected by the server (another machine's upload that was
        // never committed), so there is nothing to adopt.
        if (isRempartError(error, "NotFound")) continue;
        if (!isObjectFault(error)) throw error;
        const why = isRempartError(error)
          ? error
          : new RempartError("RepositoryCorrupt", reasonOf(error));
        damaged.push(why);
        reported.push(skipped(info, `unindexed pack not adopted: ${why.message}`));
      }
    }
    this.report(reported);
    return { adopted, damaged };
  }

  /** Stores an index object listing `packs`; they must be stored already (see PackWriter). */
  async saveIndex(packs: readonly IndexedPack[]): Promise<string> {
    const sealed = encodeIndex(this.masterKey.encryption, packs);
    const name = contentName(sealed);
    await this.store.put({ kind: "index", name }, sealed);
    return name;
  }

  /** Authenticates, decompresses and verifies one blob's sealed bytes; throws RepositoryCorrupt. */
  decodeBlob(location: BlobLocation, sealed: Uint8Array): Uint8Array {
    return this.decoder.decode(location, sealed);
  }

  /** Every location of a blob, the first loaded first; RepositoryCorrupt when none. */
  private async locateAll(id: string): Promise<readonly BlobLocation[]> {
    const locations = await this.blobLocations(id);
    if (locations.length === 0)
      throw new RempartError("RepositoryCorrupt", `blob ${id} is not in any index`, { blob: id });
    return locations;
  }

  /**
   * Tries each location of a blob until one authenticates: an index may point at bytes that are
   * not the blob (a forged or damaged one), and another copy may still be intact. Throws the
   * first location's failure when none does.
   */
  private async firstIntact<T>(
    id: string,
    read: (location: BlobLocation) => Promise<T>,
  ): Promise<T> {
    let failure: unknown;
    for (const location of await this.locateAll(id)) {
      try {
        return await read(location);
      } catch (error) {
        if (!isRempartError(error, "RepositoryCorrupt")) throw error;
        failure ??= error;
      }
    }
    throw failure;
  }

  /**
   * The first location of a blob whose bytes authenticate. For callers that must know a blob's
   * true length before reading it (restore places blobs by length): when a blob's locations
   * disagree, only reading settles which one is the blob.
   */
  intactLocation(id: string): Promise<BlobLocation> {
    return this.firstIntact(id, async (location) => {
      this.decodeBlob(location, await this.fetch(location, location));
      return location;
    });
  }

  readBlob(id: string): Promise<Uint8Array> {
    return this.firstIntact(id, async (location) =>
      this.decodeBlob(location, await this.fetch(location, location)),
    );
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
   * (3,300 on the benchmark share), in bounded memory. The packs of a tree's subtrees are asked
   * for as it is read (readSubtreePacks), so a walk meets a new pack without waiting for it.
   */
  async readTree(id: string): Promise<Tree> {
    const first = await this.readTreeBlob(id);
    if (first.next === undefined && !first.piece) return { nodes: first.nodes };
    const nodes: TreeNode[] = [];
    const continuations: string[] = [];
    for await (const piece of this.listingFrom(id, first)) {
      if (piece.id !== id) continuations.push(piece.id);
      for (const node of piece.nodes) nodes.push(node);
    }
    return continuations.length === 0 ? { nodes } : { nodes, continuations };
  }

  /**
   * A directory's listing piece by piece (one piece unless it was split: see storeListing), for
   * a reader that need not hold a huge directory's entries at once. Each piece is checked to
   * continue the previous one in name order.
   */
  async *readListing(id: string): AsyncGenerator<{ id: string; nodes: readonly TreeNode[] }> {
    yield* this.listingFrom(id, await this.readTreeBlob(id));
  }

  /** readListing, its first blob already read. */
  private async *listingFrom(
    id: string,
    first: TreeBlob,
  ): AsyncGenerator<{ id: string; nodes: readonly TreeNode[] }> {
    let piece = first;
    let pieceId = id;
    let last: string | undefined;
    for (;;) {
      const head = piece.nodes[0];
      if (
        last !== undefined &&
        (!piece.piece || head === undefined || compareNames(last, head.name) >= 0)
      )
        throw new RempartError(
          "RepositoryCorrupt",
          `tree ${id} is malformed: its piece ${pieceId} does not continue it`,
          { treeId: id, blob: pieceId },
        );
      yield { id: pieceId, nodes: piece.nodes };
      last = piece.nodes.at(-1)?.name ?? last;
      if (piece.next === undefined) return;
      pieceId = piece.next;
      piece = await this.readTreeBlob(pieceId);
    }
  }

  private async readTreeBlob(id: string): Promise<TreeBlob> {
    const plain = await this.firstIntact(id, async (location) => {
      const pack = await this.treePack(location);
      if (location.offset + location.length > pack.length)
        throw new RempartError(
          "RepositoryCorrupt",
          `tree blob ${id} lies beyond the end of pack ${location.pack}`,
          { pack: location.pack, blob: id },
        );
      return this.decodeBlob(
        location,
        pack.subarray(location.offset, location.offset + location.length),
      );
    });
    const tree = decodeTree(plain, id);
    this.readSubtreePacks(tree);
    return tree;
  }

  private async treePack(location: BlobLocation): Promise<Uint8Array> {
    const kept = this.keptTreePack(location.pack);
    if (kept) return kept;
    // A read ahead that failed is tried again here, where its error names the blob wanted.
    const ahead = await this.treePacksAhead.get(location.pack);
    return ahead ?? this.keepTreePack(location.pack, await this.fetch(location, undefined));
  }

  private keptTreePack(name: string): Uint8Array | undefined {
    const pack = this.treePacks.get(name);
    if (pack) {
      // Map order is insertion order: re-inserting marks the pack most recently used.
      this.treePacks.delete(name);
      this.treePacks.set(name, pack);
    }
    return pack;
  }

  private keepTreePack(name: string, pack: Uint8Array): Uint8Array {
    if (this.treePacks.has(name)) return pack;
    this.treePacks.set(name, pack);
    this.treePackBytes += pack.length;
    for (const [kept, bytes] of this.treePacks) {
      if (this.treePackBytes <= TREE_CACHE_BYTES || kept === name) break;
      this.treePacks.delete(kept);
      this.treePackBytes -= bytes.length;
    }
    return pack;
  }

  /**
   * Starts reading the packs holding a tree's subtrees that are neither kept nor on their way,
   * at most TREE_PACKS_AHEAD at a time: through a server each new pack a walk meets cost it a
   * round trip, and an incremental's parent spreads its trees over a pack per earlier backup.
   */
  private readSubtreePacks(tree: Tree): void {
    for (const node of tree.nodes) {
      if (this.treePacksAhead.size >= TREE_PACKS_AHEAD) return;
      if (node.type !== "dir" || node.subtree === undefined) continue;
      const location = this.index.get(node.subtree);
      if (!location) continue;
      const { pack } = location;
      if (this.treePacks.has(pack) || this.treePacksAhead.has(pack)) continue;
      const reading = this.fetch(location, undefined).then(
        (bytes) => this.keepTreePack(pack, bytes),
        () => undefined,
      );
      this.treePacksAhead.set(pack, reading);
      void reading.then(() => this.treePacksAhead.delete(pack));
    }
  }

  /**
   * Commits a snapshot; `blobs` are the ids of every tree and data blob it references, from
   * which the packs it needs are listed for the store to check (and a server to record).
   */
  async saveSnapshot(snapshot: Snapshot, blobs: Iterable<string>): Promise<string> {
    // Every pack holding a copy is named, not only the first: the server keeps (GC) exactly the
    // packs commits name, and the first location may be one a forged index pointed at.
    const packs = new Set<string>();
    for (const id of blobs)
      for (const location of await this.locateAll(id)) packs.add(location.pack);
    return this.commitSnapshot(snapshot, packs);
  }

  /**
   * Stores a snapshot naming `packs`: every pack that holds a copy of a blob it references, as
   * saveSnapshot gathers them (or a backup's PackWriter.neededPacks, as it goes, without a set of
   * every blob id). The packs must be listed by stored indexes already.
   */
  async commitSnapshot(snapshot: Snapshot, packs: Iterable<string>): Promise<string> {
    const bytes = sealSnapshot(this.masterKey.encryption, snapshot);
    const name = contentName(bytes);
    await committerFor(this.store).commitSnapshot({
      name,
      bytes,
      packs: [...packs],
      claimedTime: snapshot.time,
      logicalBytes: snapshot.summary.totalBytes,
      ...(snapshot.summary.detection ? { detection: snapshot.summary.detection } : {}),
    });
    return name;
  }

  /**
   * One snapshot object, verified: its bytes hash to its name, it authenticates, its fields are
   * well-formed. Throws RepositoryCorrupt (or NotFound) otherwise.
   */
  private async openStoredSnapshot(
    info: ObjectInfo,
    started?: Map<string, Promise<Uint8Array>>,
  ): Promise<StoredSnapshot> {
    if (info.size > MAX_SNAPSHOT_BYTES)
      throw new RempartError(
        "RepositoryCorrupt",
        `snapshot ${info.name} is ${info.size} bytes, too large to be a snapshot`,
        { snapshot: info.name },
      );
    const sealed = await takeRead(this.store, started, info);
    if (contentName(sealed) !== info.name)
      throw new RempartError("RepositoryCorrupt", `snapshot ${info.name} does not match its name`, {
        snapshot: info.name,
      });
    return {
      id: info.name,
      snapshot: openSnapshot(this.masterKey.encryption, sealed, info.name),
      ...(info.receivedAt === undefined ? {} : { receivedAt: info.receivedAt }),
      ...(info.uploadedBy === undefined ? {} : { uploadedBy: info.uploadedBy }),
    };
  }

  /**
   * Every snapshot that opens, oldest first by the server's receipt time when the store records
   * it, else by the claimed time (a claimed time beyond now + a day counts as oldest: see
   * orderSnapshots). Snapshots that fail to open, authenticate or match their name are skipped
   * and reported (`skipped`, `onSkipped`): one bad object never hides the others.
   */
  async listSnapshots(): Promise<StoredSnapshot[]> {
    const snapshots: StoredSnapshot[] = [];
    const bad: SkippedObject[] = [];
    const { infos, started } = await this.snapshotListing();
    const openings = readAhead(infos, READ_AHEAD, (info) => this.openStoredSnapshot(info, started));
    for (const [info, opening] of openings) {
      try {
        snapshots.push(await opening);
      } catch (error) {
        // Removed by the server's retention since the listing: not damage.
        if (isRempartError(error, "NotFound")) continue;
        if (!isObjectFault(error)) throw error;
        bad.push(skipped(info, reasonOf(error)));
      }
    }
    this.report(bad);
    return orderSnapshots(snapshots, this.now());
  }

  /** The listing taken during open, once (a failed one is taken again), else a new one. */
  private async snapshotListing(): Promise<EarlyListing> {
    const early = this.earlySnapshots;
    this.earlySnapshots = undefined;
    if (early) {
      const listing = await early.catch(() => undefined);
      if (listing) return listing;
    }
    return { infos: receiptOrder(await collect(this.store, "snapshots")), started: new Map() };
  }

  /**
   * `latest` (of the snapshots from `latestOf.host` that include `latestOf.paths`, when given: a
   * tenant's repository holds every machine's snapshots), a full id, or a unique id prefix. An id
   * or prefix opens only the snapshot it names: a restore depends on nothing else. `paths` are
   * the spellings of one path (as typed, and what its \xNN escapes spell): the first spelling
   * any snapshot includes is the one meant.
   */
  async findSnapshot(
    reference: string,
    latestOf: { readonly host?: string; readonly paths?: readonly string[] } = {},
  ): Promise<StoredSnapshot> {
    if (reference === "latest") {
      const { host, paths } = latestOf;
      const fromHost = (await this.listSnapshots()).filter(
        (s) => host === undefined || s.snapshot.host === host,
      );
      const path = paths?.find((p) => fromHost.some((s) => s.snapshot.paths.includes(p)));
      const latest =
        paths === undefined
          ? fromHost.at(-1)
          : fromHost.filter((s) => path !== undefined && s.snapshot.paths.includes(path)).at(-1);
      if (!latest) {
        const shown = paths?.at(-1);
        const filter = [host && `from host ${host}`, shown && `of ${displayName(shown)}`]
          .filter(Boolean)
          .join(" ");
        throw new RempartError("NotFound", `there is no snapshot${filter ? ` ${filter}` : " yet"}`);
      }
      return latest;
    }
    if (!/^[0-9a-f]+$/.test(reference))
      throw new RempartError("InvalidArgument", `"${reference}" is not a snapshot id or "latest"`);
    const matches = (await collect(this.store, "snapshots")).filter((info) =>
      info.name.startsWith(reference),
    );
    if (matches.length === 0)
      throw new RempartError("NotFound", `no snapshot matches ${reference}`);
    if (matches.length > 1)
      throw new RempartError("InvalidArgument", `snapshot prefix ${reference} is ambiguous`);
    return this.openStoredSnapshot(matches[0] as ObjectInfo);
  }

  keyedId(data: Uint8Array): string {
    return toHex(blobId(this.masterKey.id, data));
  }
}
