/**
 * Test support: the objects an attacker holding one machine's agent configuration (credential
 * AND repository password) can add to a tenant's repository, as bytes and names. Shared by the
 * local suite (written straight into a filesystem store, past any server check) and the
 * end-to-end suite (uploaded through a real server's documented API).
 *
 * Each attack is a list of objects; a snapshot is committed with the packs it names.
 */
import { createHash, randomBytes } from "node:crypto";
import { seal } from "../crypto/aead.js";
import { createPasswordSlot, openAnySlot, parseKeySlot } from "../crypto/key-slots.js";
import { generateMasterKey, type MasterKey } from "../crypto/master-key.js";
import type { ObjectKind, ObjectStore } from "../storage/object-store.js";
import { BlobCompressor } from "./compression.js";
import { FrameBuilder } from "./frame.js";
import { encodeIndex } from "./index-file.js";
import { HEADER_ENTRY_SIZE, PackBuilder, type PackEntry } from "./pack.js";
import { Repository } from "./repository.js";
import { type Snapshot, sealSnapshot } from "./snapshot.js";

export interface ForgedObject {
  readonly kind: Exclude<ObjectKind, "config">;
  readonly name: string;
  readonly bytes: Uint8Array;
}

export interface Attack {
  readonly title: string;
  readonly objects: readonly ForgedObject[];
  /** whether `check` must report the attack (exit 11); false for objects that are harmless data */
  readonly damage: boolean;
  /** names `check` must report; by default every object of an attack that does damage */
  readonly reported?: readonly string[];
  /** packs a forged snapshot's commit names (they must exist for the server to take it) */
  readonly commitPacks?: readonly string[];
}

/**
 * The master key as anyone holding the password gets it: unwrapped from a stored key slot. The
 * Repository never hands its key out; forging objects is done with this one.
 */
export async function unwrapMasterKey(store: ObjectStore, password: string): Promise<MasterKey> {
  const slots = [];
  for await (const info of store.list("keys"))
    slots.push(parseKeySlot(JSON.parse(Buffer.from(await store.get(info)).toString("utf8"))));
  return (await openAnySlot(slots, { password })).masterKey;
}

/** What an attacker holding one machine's credential and the password works with. */
export interface Attacker {
  readonly store: ObjectStore;
  /** the repository opened with the stolen password: everything a reader can do */
  readonly repo: Repository;
  readonly key: MasterKey;
}

export async function openAsAttacker(store: ObjectStore, password: string): Promise<Attacker> {
  return {
    store,
    repo: await Repository.open(store, { password }),
    key: await unwrapMasterKey(store, password),
  };
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function named(kind: ForgedObject["kind"], bytes: Uint8Array): ForgedObject {
  return { kind, name: sha256Hex(bytes), bytes };
}

/**
 * Makes (randomised) objects until one's name sorts before `below`: what an attacker does so
 * that a reader going in name order meets the forgery first.
 */
function sortingFirst(
  kind: ForgedObject["kind"],
  make: () => Uint8Array,
  below: string,
): ForgedObject {
  for (let tries = 0; tries < 200_000; tries++) {
    const object = named(kind, make());
    if (object.name < below) return object;
  }
  throw new Error(`no ${kind} name below ${below} found`);
}

const PAST_TIME = "2020-01-01T00:00:00.000Z";
const CHEAP = { N: 2 ** 10, r: 8, p: 1 };

/** What the legitimate repository holds, as the attacker (who can list and read it) sees it. */
export interface Victim {
  readonly snapshot: { readonly id: string; readonly bytes: Uint8Array; readonly value: Snapshot };
  readonly index: { readonly name: string; readonly bytes: Uint8Array };
  /** every legitimate index, pack and key slot name, so forgeries can be named to sort first */
  readonly indexNames: readonly string[];
  readonly keyNames: readonly string[];
  readonly packs: readonly string[];
}

export async function describeVictim({ repo, store }: Attacker): Promise<Victim> {
  const names = async (kind: ObjectKind) => {
    const found: string[] = [];
    for await (const info of store.list(kind)) found.push(info.name);
    return found.sort();
  };
  const [snapshot] = await repo.listSnapshots();
  if (!snapshot) throw new Error("the victim has no snapshot");
  const indexNames = await names("index");
  const firstIndex = indexNames[0] as string;
  return {
    snapshot: {
      id: snapshot.id,
      bytes: await store.get({ kind: "snapshots", name: snapshot.id }),
      value: snapshot.snapshot,
    },
    index: { name: firstIndex, bytes: await store.get({ kind: "index", name: firstIndex }) },
    indexNames,
    keyNames: await names("keys"),
    packs: await names("data"),
  };
}

/** A password slot with scrypt N=2^20, r=8 (1 GiB, ~2.5 s): made without running its KDF. */
function costlySlot(label: string): Uint8Array {
  return Buffer.from(
    JSON.stringify({
      version: 1,
      kind: "password",
      created: new Date().toISOString(),
      label,
      kdf: { name: "scrypt", N: 2 ** 20, r: 8, p: 1, salt: randomBytes(32).toString("base64") },
      wrapped: randomBytes(64 + 28).toString("base64"),
    }),
  );
}

/** `count` hostile key slots (N=2^20, r=8), each named to sort before every legitimate slot. */
export function costlySlots(victim: Victim, count: number): ForgedObject[] {
  const below = victim.keyNames[0] ?? "f".repeat(64);
  return Array.from({ length: count }, (_, i) =>
    sortingFirst("keys", () => costlySlot(`hostile ${i} ${randomBytes(4).toString("hex")}`), below),
  );
}

function indexBody(packs: { pack: string; count: number }[]): Buffer {
  const out = Buffer.alloc(9 + packs.length * 36);
  out.write("RIDX", 0, "latin1");
  out[4] = 1;
  out.writeUInt32LE(packs.length, 5);
  packs.forEach(({ pack, count }, i) => {
    Buffer.from(pack, "hex").copy(out, 9 + i * 36);
    out.writeUInt32LE(count, 9 + i * 36 + 32);
  });
  return out;
}

/**
 * Every attack of issue 8 and its variants: the attacker can do everything a reader can.
 */
export async function attacks(
  attacker: Attacker,
  victim: Victim,
  password: string,
): Promise<Attack[]> {
  const key = attacker.key.encryption;
  const now = Date.now();
  const snapshotOf = (fields: Partial<Snapshot> & Record<string, unknown>): Uint8Array =>
    sealSnapshot(key, { ...victim.snapshot.value, ...fields } as Snapshot);
  const packs = [...(await attacker.repo.indexedPacks())];
  const someTreePack = packs.find(([, blobs]) => blobs[0]?.type === "tree");
  const someDataPack = packs.find(([, blobs]) => blobs[0]?.type === "data");
  if (!someTreePack || !someDataPack) throw new Error("the victim has no tree or data pack");
  const commitPacks = [someDataPack[0]];
  const firstIndex = victim.indexNames[0] as string;
  const firstPack = victim.packs[0] as string;
  const missingTree = randomBytes(32).toString("hex");

  // A sealed pack header claiming a billion blobs, in an otherwise empty pack.
  const hugeHeader = Buffer.alloc(9 + HEADER_ENTRY_SIZE);
  hugeHeader.write("RPAK", 0, "latin1");
  hugeHeader[4] = 1;
  hugeHeader.writeUInt32LE(1_000_000_000, 5);
  const sealedHuge = seal(key, hugeHeader, Buffer.from("rempart pack header v1"));
  const hugePack = Buffer.concat([sealedHuge, Buffer.alloc(4)]);
  hugePack.writeUInt32LE(sealedHuge.length, sealedHuge.length);

  // The password opens it, but the key inside does not open the config: a reader must go on.
  let decoy = named("keys", new Uint8Array(0));
  for (let tries = 0; tries < 64; tries++) {
    const slot = await createPasswordSlot(generateMasterKey(), password, "decoy", CHEAP);
    decoy = named("keys", Buffer.from(JSON.stringify(slot)));
    if (decoy.name < (victim.keyNames[0] as string)) break;
  }

  const garbageSlot = sortingFirst("keys", () => randomBytes(200), victim.keyNames[0] as string);
  const outOfBounds = randomBytes(300);
  outOfBounds.writeUInt32LE(0xfffffff0, 296);

  const legitSlot = await attacker.store.get({
    kind: "keys",
    name: victim.keyNames[0] as string,
  });

  return [
    {
      title: "300 random bytes committed as a snapshot",
      objects: [named("snapshots", randomBytes(300))],
      damage: true,
      commitPacks,
    },
    {
      title: "a truncated copy of a real snapshot",
      objects: [named("snapshots", victim.snapshot.bytes.subarray(0, 60))],
      damage: true,
      commitPacks,
    },
    {
      title: "valid-looking objects of other kinds committed as snapshots",
      objects: [named("snapshots", legitSlot), named("snapshots", victim.index.bytes)],
      damage: true,
      commitPacks,
    },
    {
      title: "a sealed snapshot without a summary or host",
      objects: [
        named(
          "snapshots",
          sealSnapshot(key, {
            version: 1,
            time: new Date(now - 3600_000).toISOString(),
            tree: missingTree,
            paths: [],
            tags: [],
          } as unknown as Snapshot),
        ),
      ],
      damage: true,
      commitPacks,
    },
    {
      title: "a sealed snapshot whose tree does not exist",
      objects: [
        named("snapshots", snapshotOf({ time: PAST_TIME, tree: missingTree, tags: ["forged"] })),
      ],
      damage: true,
      commitPacks,
    },
    {
      title: "a sealed snapshot claiming 9999-12-31",
      objects: [
        named(
          "snapshots",
          snapshotOf({ time: "9999-12-31T23:59:59.000Z", tree: missingTree, tags: ["future"] }),
        ),
      ],
      damage: true,
      commitPacks,
    },
    {
      title: "2 KiB of random bytes as an index",
      objects: [sortingFirst("index", () => randomBytes(2048), firstIndex)],
      damage: true,
    },
    {
      title: "a truncated copy of a real index",
      objects: [named("index", victim.index.bytes.subarray(0, victim.index.bytes.length - 7))],
      damage: true,
    },
    {
      title: "a sealed index pointing every blob 1 byte off, named to sort first",
      objects: [
        sortingFirst(
          "index",
          () =>
            encodeIndex(
              key,
              packs.map(([pack, blobs]) => ({
                pack,
                blobs: blobs.map((blob) => ({ ...blob, offset: blob.offset + 1 })),
              })),
            ),
          firstIndex,
        ),
      ],
      damage: true,
    },
    {
      title: "a sealed index claiming a billion blobs in one pack",
      objects: [
        sortingFirst(
          "index",
          () =>
            seal(
              key,
              indexBody([{ pack: firstPack, count: 0xffffffff }]),
              Buffer.from("rempart index v1"),
            ),
          firstIndex,
        ),
      ],
      damage: true,
    },
    {
      title: "a sealed index listing a pack that does not exist",
      objects: [
        named(
          "index",
          encodeIndex(key, [{ pack: randomBytes(32).toString("hex"), blobs: someDataPack[1] }]),
        ),
      ],
      // Like an index naming a pack the server's GC collected: nothing a snapshot needs.
      damage: false,
    },
    {
      title: "a sealed snapshot stored as an index",
      objects: [named("index", victim.snapshot.bytes)],
      damage: true,
    },
    {
      title: "empty and 3-byte objects as data packs",
      objects: [named("data", new Uint8Array(0)), named("data", randomBytes(3))],
      damage: true,
    },
    {
      title: "malformed packs: 31 bytes, random, header out of bounds, a billion blobs, an index",
      objects: [
        named("data", randomBytes(31)),
        named("data", randomBytes(2048)),
        named("data", outOfBounds),
        named("data", hugePack),
        named("data", victim.index.bytes),
      ],
      damage: true,
    },
    {
      title: "a password key slot with scrypt N=2^20, r=8, named to sort first",
      objects: costlySlots(victim, 1),
      damage: true,
    },
    {
      title: "random bytes, and a slot the password opens holding another master key",
      objects: [garbageSlot, decoy],
      // The decoy is reported only when a reader tries it (it sorts first, usually): opening
      // every password slot to find such decoys would cost a KDF each.
      reported: [garbageSlot.name],
      damage: true,
    },
  ];
}

/**
 * Dedup poisoning: a well-formed pack of the attacker's that claims a blob the victim holds
 * (sealed under its id, other bytes inside), listed in an index named to sort first. Readers
 * must move on to the real copy (the blob fails its keyed-id check).
 */
export async function poisonedCopy(attacker: Attacker, victim: Victim): Promise<Attack> {
  const key = attacker.key.encryption;
  const dataPack = [...(await attacker.repo.indexedPacks())].find(
    ([, blobs]) => blobs[0]?.type === "data",
  );
  const victimBlob = dataPack?.[1][0];
  if (!victimBlob) throw new Error("the victim has no data blob");
  const poison = new PackBuilder(key, 1024);
  poison.add("data", Buffer.from(victimBlob.id, "hex"), randomBytes(500), 500, false);
  const poisoned = poison.finish();
  const firstIndex = victim.indexNames[0] as string;
  return {
    title: "a well-formed pack of the attacker's claiming a victim's blob, indexed first",
    objects: [
      named("data", poisoned.bytes),
      sortingFirst(
        "index",
        () => encodeIndex(key, [{ pack: poisoned.name, blobs: poisoned.entries }]),
        firstIndex,
      ),
    ],
    // Its blob fails the keyed-id check only when read (check --read-data); the structure is
    // sound, and readers move on to the real copy.
    damage: false,
  };
}

/**
 * Dedup poisoning through frames: a well-formed pack of the attacker's whose frames claim the
 * victim's blobs, indexed first: one frame holds other bytes under their ids, another would
 * decompress to 64 MiB (past the largest frame a reader takes). Readers must refuse both without
 * allocating for the claim, and move on to the real copies.
 */
export async function poisonedFrames(attacker: Attacker, victim: Victim): Promise<Attack> {
  const key = attacker.key.encryption;
  const victimBlobs = [...(await attacker.repo.indexedPacks())]
    .flatMap(([, blobs]) => blobs)
    .filter((blob) => blob.type === "data")
    .slice(0, 3);
  if (victimBlobs.length < 3) throw new Error("the victim has fewer than 3 data blobs");
  const compressor = new BlobCompressor();
  const poison = new PackBuilder(key, 1024);
  const lying = new FrameBuilder();
  for (const blob of victimBlobs.slice(0, 2))
    lying.add(Buffer.from(blob.id, "hex"), randomBytes(700));
  const { plaintext, ids } = lying.take();
  poison.addFrame("data", {
    payload: Buffer.from(compressor.compressFrame(plaintext)),
    ids,
    lengths: victimBlobs.slice(0, 2).map((blob) => blob.rawLength),
  });
  const bomb = victimBlobs[2] as PackEntry;
  poison.addFrame("data", {
    payload: Buffer.from(compressor.compressFrame(Buffer.alloc(64 * 1024 * 1024))),
    ids: [Buffer.from(bomb.id, "hex"), randomBytes(32)],
    lengths: [bomb.rawLength, 1],
  });
  const poisoned = poison.finish();
  return {
    title:
      "a pack of the attacker's whose frames claim a victim's blobs (one a 64 MiB bomb), indexed first",
    objects: [
      named("data", poisoned.bytes),
      sortingFirst(
        "index",
        () => encodeIndex(key, [{ pack: poisoned.name, blobs: poisoned.entries }]),
        victim.indexNames[0] as string,
      ),
    ],
    // Like poisonedCopy: sound structure, blobs that fail when read (check --read-data).
    damage: false,
  };
}

/** A snapshot as a forger writes one: empty summary, the fields a test cares about given. */
export function forgedSnapshot(fields: Partial<Snapshot> & Pick<Snapshot, "tree">): Snapshot {
  return {
    version: 1,
    time: "2000-01-01T00:00:00.000Z",
    host: "forger",
    username: "mallory",
    paths: ["/"],
    tags: [],
    summary: {
      filesNew: 0,
      filesChanged: 0,
      filesUnchanged: 0,
      dirs: 0,
      bytesRead: 0,
      bytesAdded: 0,
      bytesStored: 0,
      totalBytes: 0,
      totalFiles: 0,
      unreadable: 0,
      durationMs: 0,
    },
    program: "forged",
    ...fields,
  };
}
