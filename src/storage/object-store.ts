/**
 * The one seam every storage backend plugs into (filesystem now; HTTP server and S3 later).
 * Objects are write-once: `put` never replaces bytes that are already stored. Extra behaviour
 * (retry, caching, verification) is a wrapper implementing this same interface.
 */
import { createHash } from "node:crypto";
import { RempartError } from "../errors.js";

export const OBJECT_KINDS = ["config", "keys", "data", "index", "snapshots"] as const;
export type ObjectKind = (typeof OBJECT_KINDS)[number];

/**
 * `config` has the single name "config"; every other kind is named by the lowercase hex SHA-256
 * of the object's bytes (64 characters), so any store can verify what it holds.
 */
export interface ObjectRef {
  readonly kind: ObjectKind;
  readonly name: string;
}

export interface ObjectInfo extends ObjectRef {
  readonly size: number;
  /**
   * When a server received the object (ISO 8601, the server's clock), for stores that know it.
   * "Newest" choices use it instead of any time claimed inside the object.
   */
  readonly receivedAt?: string;
  /** The agent id that uploaded it, when a server knows, so hostile objects can be named. */
  readonly uploadedBy?: string;
}

export interface ByteRange {
  readonly offset: number;
  readonly length: number;
}

/** `created`: the object is new. `exists`: identical bytes were already stored (a no-op). */
export type PutOutcome = "created" | "exists";

export type ObjectBody = Uint8Array | readonly Uint8Array[];

/** A body already written to a local file, in the store's `spoolDir()` (a pack built on disk). */
export interface SpooledFile {
  readonly path: string;
  readonly size: number;
}

/** Where a listing page starts: after the object the previous page's `next` names. */
export interface PageRequest {
  /** the `next` of the previous page (opaque: only the store that gave it reads it) */
  readonly cursor?: string;
  /** at most this many objects, 1 to MAX_LIST_PAGE; default MAX_LIST_PAGE */
  readonly limit?: number;
}

export interface ObjectPage {
  /** in name order (byte order of the names), strictly after the cursor */
  readonly objects: readonly ObjectInfo[];
  /** present when more objects may follow: the cursor of the next page */
  readonly next?: string;
}

/** The largest page: S3's, so that a page of an S3 store is one request. */
export const MAX_LIST_PAGE = 1000;

export interface ObjectStore {
  /**
   * Stores the body atomically under ref, or nothing at all. Identical bytes under an existing
   * ref are a no-op (`exists`); different bytes fail with `ObjectConflict` and change nothing.
   * A full disk fails with `StorageFull`; an invalid ref with `InvalidArgument`.
   */
  put(ref: ObjectRef, body: ObjectBody): Promise<PutOutcome>;
  /**
   * Where a caller writes bodies for `putFile`, so that large objects never sit in memory: for a
   * filesystem store its own temp directory (the file is then linked into place, not copied).
   * Files a killed process left there are never listed, and are removed once stale.
   */
  spoolDir(): Promise<string>;
  /**
   * `put` with the body read from a file in `spoolDir()`, which is then removed whatever the
   * outcome. A file anywhere else is refused with `InvalidArgument` by stores that link it.
   */
  putFile(ref: ObjectRef, file: SpooledFile): Promise<PutOutcome>;
  /** The whole object, or exactly `range`; `NotFound` when absent, `RepositoryCorrupt` when short. */
  get(ref: ObjectRef, range?: ByteRange): Promise<Uint8Array>;
  /**
   * `get` of the range of `target.byteLength` bytes at `offset`, written into `target` instead of
   * a new buffer, so that a reader of many ranges (a restore) reuses a few buffers of its own.
   * Fails as `get` would; after a failure `target`'s bytes are unspecified.
   */
  readInto(ref: ObjectRef, offset: number, target: Uint8Array): Promise<void>;
  stat(ref: ObjectRef): Promise<ObjectInfo | undefined>;
  /**
   * One page of the objects of a kind, in name order. Resuming from a page's `next` gives every
   * object present throughout, once: none skipped, none repeated. An unknown kind, a cursor the
   * store did not give or a limit out of range is refused with `InvalidArgument`.
   */
  listPage(kind: ObjectKind, page?: PageRequest): Promise<ObjectPage>;
  /** Every object of a kind, in name order, page after page (`listEvery` does it for a store). */
  list(kind: ObjectKind): AsyncIterable<ObjectInfo>;
  /** Removes the object; removing an absent object is not an error. */
  delete(ref: ObjectRef): Promise<void>;
}

/** `list` for any store: its pages, one after the other, each asked for once the last is used. */
export async function* listEvery(
  store: Pick<ObjectStore, "listPage">,
  kind: ObjectKind,
): AsyncIterable<ObjectInfo> {
  for (let cursor: string | undefined; ; ) {
    const page = await store.listPage(kind, cursor === undefined ? {} : { cursor });
    yield* page.objects;
    if (page.next === undefined) return;
    cursor = page.next;
  }
}

/** The page limit asked for, checked; `InvalidArgument` outside 1 to MAX_LIST_PAGE. */
export function pageLimit(page: PageRequest | undefined): number {
  const limit = page?.limit ?? MAX_LIST_PAGE;
  if (Number.isSafeInteger(limit) && limit >= 1 && limit <= MAX_LIST_PAGE) return limit;
  throw new RempartError(
    "InvalidArgument",
    `A listing page holds 1 to ${MAX_LIST_PAGE} objects, not ${limit}.`,
    { limit },
  );
}

export function checkKind(kind: ObjectKind): void {
  if ((OBJECT_KINDS as readonly string[]).includes(kind)) return;
  throw new RempartError("InvalidArgument", `There is no object kind ${JSON.stringify(kind)}.`, {
    kind,
  });
}

const CONTENT_NAME = /^[0-9a-f]{64}$/;

/** The name of an object holding `bytes` (every kind but `config`): their SHA-256, in hex. */
export function contentName(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Whether ref is well-formed; stores refuse anything else, so hostile names never reach a path. */
export function isValidRef(ref: ObjectRef): boolean {
  if (!(OBJECT_KINDS as readonly string[]).includes(ref.kind)) return false;
  return ref.kind === "config" ? ref.name === "config" : CONTENT_NAME.test(ref.name);
}

/** Every store calls this first: a malformed ref is refused before it can touch a path or a URL. */
export function checkRef(ref: ObjectRef): void {
  if (isValidRef(ref)) return;
  throw new RempartError(
    "InvalidArgument",
    `Refusing the malformed object reference ${JSON.stringify(ref.kind)}/${JSON.stringify(ref.name)}.`,
    { kind: ref.kind, name: ref.name },
  );
}

export function checkRange(range: ByteRange): void {
  const { offset, length } = range;
  if (Number.isSafeInteger(offset) && Number.isSafeInteger(length) && offset >= 0 && length >= 0)
    return;
  throw new RempartError(
    "InvalidArgument",
    `Refusing the byte range at offset ${offset} of length ${length}: both must be non-negative integers.`,
    { offset, length },
  );
}
