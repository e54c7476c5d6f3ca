/**
 * An ObjectStore on a Rempart server (routes in docs/SERVER.md), reached over pinned HTTPS with
 * an agent credential. The tenant is implied by the credential, so no request names one.
 *
 * The server is append-only for agents: `delete` is refused here, without a request, and
 * snapshots arrive only through `commitSnapshot` (the server's commit route: this store is its
 * own SnapshotCommitter). Listings come a page (at most MAX_LIST_PAGE objects) per request. Every operation is idempotent (objects are
 * named by their hash, snapshots too), so all of them are retried after a network failure.
 */

import { rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Type from "#typebox";
import { RempartError } from "../../errors.js";
import {
  API_PREFIX,
  type CommitRequest,
  CommitResponse,
  ObjectListing,
  ObjectListingEntry,
} from "../../protocol/api.js";
import { message } from "../../protocol/message.js";
import {
  type ByteRange,
  checkKind,
  checkRange,
  checkRef,
  contentName,
  isValidRef,
  listEvery,
  type ObjectBody,
  type ObjectInfo,
  type ObjectKind,
  type ObjectPage,
  type ObjectRef,
  type ObjectStore,
  type PageRequest,
  type PutOutcome,
  pageLimit,
  type SpooledFile,
} from "../object-store.js";
import type { SnapshotCommit, SnapshotCommitter } from "../snapshot-commit.js";
import { type CachedKind, isCachedKind, ObjectCache } from "./object-cache.js";
import { type ApiResponse, PinnedClient, type PinnedClientOptions } from "./pinned-client.js";
import { prepareSpoolDir } from "./spool.js";

export interface HttpObjectStoreOptions extends PinnedClientOptions {
  /** the agent credential (`rmpa_…`) */
  readonly credential: string;
  /** where packs are built before upload; default `rempart-spool-<uid>` in the temp directory */
  readonly spoolDir?: string;
  /** where index and snapshot objects are cached between commands (object-cache.ts); none if absent */
  readonly cacheDir?: string;
}

const OBJECTS = `${API_PREFIX}/repo/objects`;

export class HttpObjectStore implements ObjectStore, SnapshotCommitter {
  readonly client: PinnedClient;
  private readonly spoolPath: string;
  private spool: Promise<string> | undefined;
  private readonly cache: ObjectCache | undefined;
  /**
   * Cacheable objects the server listed or accepted during this process: only these are read
   * from the cache, so the cache never answers for an object the server does not hold.
   */
  private readonly held = { index: new Set<string>(), snapshots: new Set<string>() };

  constructor(options: HttpObjectStoreOptions) {
    this.client = new PinnedClient(options);
    this.spoolPath =
      options.spoolDir ?? join(tmpdir(), `rempart-spool-${process.getuid?.() ?? "user"}`);
    this.cache = options.cacheDir === undefined ? undefined : new ObjectCache(options.cacheDir);
  }

  spoolDir(): Promise<string> {
    this.spool ??= prepareSpoolDir(this.spoolPath).catch((error: unknown) => {
      this.spool = undefined;
      throw error;
    });
    return this.spool;
  }

  /** Streams the file as the request body: a pack upload holds no more than a socket's buffers. */
  async putFile(ref: ObjectRef, file: SpooledFile): Promise<PutOutcome> {
    try {
      checkRef(ref);
      const found = await stat(file.path);
      if (found.size !== file.size)
        throw new RempartError(
          "Io",
          `The spooled file ${file.path} holds ${found.size} bytes, not the ${file.size} it was said to hold.`,
          { path: file.path, size: found.size, expected: file.size },
        );
      const sent = {
        method: "PUT",
        path: objectPath(ref),
        headers: { "content-type": "application/octet-stream" },
        bodyFile: file,
        idempotent: true,
      } as const;
      return await this.upload(sent);
    } finally {
      await rm(file.path, { force: true });
    }
  }

  async put(ref: ObjectRef, body: ObjectBody): Promise<PutOutcome> {
    checkRef(ref);
    const parts = body instanceof Uint8Array ? [body] : body;
    const { kind, name } = ref;
    // The next backup reads this index first thing: cached while the server stores it.
    const [outcome] = await Promise.all([
      this.upload({
        method: "PUT",
        path: objectPath(ref),
        headers: { "content-type": "application/octet-stream" },
        body: parts,
        idempotent: true,
      }),
      isCachedKind(kind) ? this.keep(kind, name, Buffer.concat(parts)) : undefined,
    ]);
    if (isCachedKind(kind)) this.held[kind].add(name);
    return outcome;
  }

  /** One object upload: 201 stored, 200 identical bytes already there, anything else fails. */
  private async upload(sent: Parameters<PinnedClient["send"]>[0]): Promise<PutOutcome> {
    const response = await this.client.send(sent);
    if (response.status === 201) return "created";
    if (response.status === 200) return "exists";
    throw this.client.failure(response, sent);
  }

  async get(ref: ObjectRef, range?: ByteRange): Promise<Uint8Array> {
    checkRef(ref);
    if (range === undefined) {
      const { kind, name } = ref;
      if (!isCachedKind(kind)) return (await this.fetch(ref)).body;
      const cached = this.held[kind].has(name) ? await this.cache?.read(kind, name) : undefined;
      if (cached !== undefined) return cached;
      const bytes = (await this.fetch(ref)).body;
      this.held[kind].add(name);
      await this.keep(kind, name, bytes);
      return bytes;
    }
    checkRange(range);
    return this.getRange(ref, range);
  }

  /**
   * Caches an object's bytes, if they are the object the name promises. Never fails: a cache that
   * cannot be written only leaves the next command to fetch again. (Written before the server has
   * accepted an upload, a file is still read only once the server lists or accepts its name.)
   */
  private async keep(kind: CachedKind, name: string, bytes: Uint8Array): Promise<void> {
    if (this.cache === undefined) return;
    if (contentName(bytes) !== name) return;
    await this.cache.write(kind, name, bytes);
  }

  async readInto(ref: ObjectRef, offset: number, target: Uint8Array): Promise<void> {
    checkRef(ref);
    const range = { offset, length: target.byteLength };
    checkRange(range);
    const bytes = await this.getRange(ref, range, target);
    // Already there when the server answered the range; a whole object is cut to it here.
    if (bytes.buffer !== target.buffer || bytes.byteOffset !== target.byteOffset) target.set(bytes);
  }

  /** The range, in `into` when given and the server answers it as asked. */
  private async getRange(ref: ObjectRef, range: ByteRange, into?: Uint8Array): Promise<Uint8Array> {
    if (range.length === 0) {
      // "bytes=a-b" cannot ask for nothing: an empty range only needs the object to reach it.
      const info = await this.stat(ref);
      if (info === undefined) throw notFound(ref, this.client.origin);
      if (range.offset > info.size) throw short(ref, info.size, range);
      return new Uint8Array(0);
    }
    const last = range.offset + range.length - 1;
    const response = await this.fetch(ref, `bytes=${range.offset}-${last}`, into);
    // 200: a server (or proxy) that ignores Range sent the whole object.
    const bytes =
      response.status === 200
        ? response.body.subarray(range.offset, range.offset + range.length)
        : response.body;
    if (bytes.length < range.length) throw short(ref, contentSize(response), range);
    if (bytes.length > range.length)
      throw new RempartError(
        "Io",
        `the Rempart server at ${this.client.origin} sent ${bytes.length} bytes for a range of ${range.length}`,
        { server: this.client.origin, ...ref, ...range },
      );
    return bytes;
  }

  async stat(ref: ObjectRef): Promise<ObjectInfo | undefined> {
    checkRef(ref);
    const sent = { method: "HEAD", path: objectPath(ref), idempotent: true } as const;
    const response = await this.client.send(sent);
    if (response.status === 404) return undefined;
    const size = Number(response.headers["content-length"]);
    if (response.status !== 200) {
      // An answer to HEAD has no body, so no reason: the same question as a one-byte GET has.
      const asked = { ...sent, method: "GET", headers: { range: "bytes=0-0" } } as const;
      const explained = await this.client.send(asked);
      throw this.client.failure(explained.status === response.status ? explained : response, sent);
    }
    if (!Number.isSafeInteger(size) || size < 0)
      throw new RempartError(
        "Io",
        `the Rempart server at ${this.client.origin} gave no size for ${ref.kind}/${ref.name}`,
        { server: this.client.origin, ...ref },
      );
    return { kind: ref.kind, name: ref.name, size };
  }

  async listPage(kind: ObjectKind, page: PageRequest = {}): Promise<ObjectPage> {
    checkKind(kind);
    const query = new URLSearchParams({ limit: String(pageLimit(page)) });
    if (page.cursor !== undefined) query.set("cursor", page.cursor);
    const path = `${OBJECTS}/${kind}?${query}`;
    const answer = await this.client.json<unknown>("GET", path, undefined, true);
    const listing = ListingPage.answer(answer, this.client.origin);
    const objects = listing.objects.map((entry): ObjectInfo => {
      // The schema allows any object name; "config" is only ever the config object.
      if (!isValidRef({ kind, name: entry.name })) throw this.malformedListing(kind);
      return { kind, name: entry.name, size: entry.size, ...receipt(entry) };
    });
    if (isCachedKind(kind)) for (const { name } of objects) this.held[kind].add(name);
    const { next } = listing;
    if (next === undefined) return { objects };
    // A cursor that does not move on would page the same objects forever.
    if (next === page.cursor) throw this.malformedListing(kind);
    return { objects, next };
  }

  async *list(kind: ObjectKind): AsyncIterable<ObjectInfo> {
    const listed = new Set<string>();
    for await (const info of listEvery(this, kind)) {
      listed.add(info.name);
      yield info;
    }
    // A complete listing: what it no longer names (retention, GC) leaves the cache too.
    if (isCachedKind(kind)) await this.cache?.prune(kind, listed);
  }

  async delete(ref: ObjectRef): Promise<void> {
    checkRef(ref);
    throw new RempartError(
      "Unsupported",
      `${ref.kind}/${ref.name} cannot be deleted: the Rempart server at ${this.client.origin} is append-only for agents (old snapshots are removed by the server's retention)`,
      { server: this.client.origin, ...ref },
    );
  }

  async commitSnapshot(commit: SnapshotCommit): Promise<PutOutcome> {
    checkRef({ kind: "snapshots", name: commit.name });
    const request: CommitRequest = {
      name: commit.name,
      snapshot: Buffer.from(commit.bytes).toString("base64"),
      packs: commit.packs,
      // The server takes UTC with a Z; any time the snapshot carries is brought to that form.
      claimed_time: new Date(commit.claimedTime).toISOString(),
      ...(commit.logicalBytes === undefined ? {} : { logical_bytes: commit.logicalBytes }),
      ...(commit.detection === undefined ? {} : { detection: commit.detection }),
    };
    const path = `${API_PREFIX}/repo/snapshots`;
    try {
      const [answer] = await Promise.all([
        this.client.json<unknown>("POST", path, request, true),
        this.keep("snapshots", commit.name, commit.bytes),
      ]);
      const { outcome } = CommitResponse.answer(answer, this.client.origin);
      this.held.snapshots.add(commit.name);
      return outcome;
    } catch (error) {
      if (error instanceof RempartError && error.details.server_code === "MissingPacks") {
        const missing = Array.isArray(error.details.missing) ? error.details.missing : [];
        throw new RempartError(
          "NotFound",
          `snapshot ${commit.name} refused by the Rempart server at ${this.client.origin}: ${missing.length} pack(s) it needs are not stored (first: ${String(missing[0])})`,
          { ...error.details, missing },
        );
      }
      throw error;
    }
  }

  /** Closes the kept-alive connections (they never hold the process open). */
  close(): void {
    this.client.close();
  }

  private async fetch(ref: ObjectRef, range?: string, into?: Uint8Array): Promise<ApiResponse> {
    const sent = {
      method: "GET",
      path: objectPath(ref),
      idempotent: true,
      ...(range === undefined ? {} : { headers: { range } }),
      ...(into === undefined ? {} : { into }),
    } as const;
    const response = await this.client.send(sent);
    if (response.status === 200 || (response.status === 206 && range !== undefined))
      return response;
    if (response.status === 404) throw notFound(ref, this.client.origin);
    throw this.client.failure(response, sent);
  }

  private malformedListing(kind: ObjectKind): RempartError {
    return new RempartError(
      "Io",
      `the Rempart server at ${this.client.origin} sent a malformed listing of ${kind}`,
      { server: this.client.origin, kind },
    );
  }
}

/**
 * A listing as the agent reads it, by the protocol's schemas: the names, sizes and cursor decide
 * what is read, so a page that breaks them is refused whole; an entry's receipt time and uploader
 * only order and name objects, so each is checked on its own (`receipt`) and a malformed one is
 * left out, never trusted, never fatal.
 */
const ListingPage = message(
  ObjectListing.name,
  Type.Object({
    objects: Type.Array(Type.Omit(ObjectListingEntry, ["received_at", "agent"])),
    next: ObjectListing.schema.properties.next,
  }),
);
const ReceivedAt = message("received_at", ObjectListingEntry.properties.received_at);
const Uploader = message("agent", ObjectListingEntry.properties.agent);

/** An entry's receipt time (normalised to UTC ISO form) and uploader, those that are valid. */
function receipt(entry: object): { receivedAt?: string; uploadedBy?: string } {
  const { received_at: at, agent } = entry as { received_at?: unknown; agent?: unknown };
  const out: { receivedAt?: string; uploadedBy?: string } = {};
  const ms = ReceivedAt.is(at) ? Date.parse(at) : Number.NaN;
  if (!Number.isNaN(ms)) out.receivedAt = new Date(ms).toISOString();
  if (Uploader.is(agent) && agent !== null) out.uploadedBy = agent;
  return out;
}

function objectPath(ref: ObjectRef): string {
  // Names are validated (64 hex digits or "config") before they get here: nothing to escape.
  return `${OBJECTS}/${ref.kind}/${ref.name}`;
}

function notFound(ref: ObjectRef, server: string): RempartError {
  return new RempartError(
    "NotFound",
    `No object is stored as ${ref.kind}/${ref.name} on the Rempart server at ${server}.`,
    { server, ...ref },
  );
}

function short(ref: ObjectRef, size: number | undefined, range: ByteRange): RempartError {
  return new RempartError(
    "RepositoryCorrupt",
    `The object ${ref.kind}/${ref.name} holds ${size ?? "too few"} bytes, too few for bytes ${range.offset} to ${range.offset + range.length}.`,
    { ...ref, size: size ?? null, ...range },
  );
}

/** The object's full size, from `Content-Range: bytes a-b/size` or the length of a whole body. */
function contentSize(response: ApiResponse): number | undefined {
  if (response.status === 200) return response.body.length;
  const total = /\/(\d+)$/.exec(response.headers["content-range"] ?? "")?.[1];
  return total === undefined ? undefined : Number(total);
}
