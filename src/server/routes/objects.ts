/**
 * The agent's object routes. The tenant comes from the credential, never from the path, so no
 * request can even name another tenant's objects. An object exists for an agent when its tenant's
 * catalog records it (and, for snapshots, when the commit was recorded) and no quarantine hides
 * it: the same rows the commit checks, so a listing never promises a pack that a commit would
 * call missing. Uploads are refused unless they have the shape of their kind (object-shape.ts,
 * key-slot-admission.ts) and the disk keeps its reserve (quota.ts).
 */
import { createHash, randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import type { StoredObject } from "../../catalog/catalog.js";
import { isRempartError } from "../../errors.js";
import {
  isObjectKind,
  KindParam,
  ListingCursor,
  ListingLimit,
  MAX_LISTING_PAGE,
  NameParam,
  ObjectListing,
  type ObjectListingEntry,
  PutResponse,
  RangeHeader,
} from "../../protocol/api.js";
import { FileWriter } from "../../storage/fs/file-writer.js";
import {
  isValidRef,
  type ObjectKind,
  type ObjectRef,
  type ObjectStore,
  type PutOutcome,
} from "../../storage/object-store.js";
import { misuseRefusal } from "../agents/misuse.js";
import { ApiError } from "../api-error.js";
import type { AgentPrincipal } from "../auth.js";
import type { ServerContext } from "../context.js";
import {
  objectBodyLength,
  readObjectBody,
  readObjectChunks,
  sendEmpty,
  sendJson,
} from "../http.js";
import { keySlotProblem, MAX_KEY_SLOT_BYTES } from "../key-slot-admission.js";
import { shapeProblem, sizeProblem, TailKeeper } from "../object-shape.js";
import { checkDiskReserve, reserveQuota } from "../quota.js";
import { parseRange } from "../range.js";
import type { QueryOf, Route } from "../router.js";

/**
 * Reads from the store in slices this big, so a 64 MiB object is never whole in memory. A
 * restore's range (a part of at most 2 MiB, src/restore/content-writer.ts) is one slice: one open,
 * one read and one write per GET, where 1 MiB slices took two of each.
 */
const READ_SLICE = 2 * 1024 * 1024;

function kindOf(raw: string | undefined): ObjectKind {
  if (raw === undefined || !isObjectKind(raw))
    throw new ApiError("NotFound", `there is no object kind ${JSON.stringify(raw)}`);
  return raw;
}

function refOf(params: Readonly<Record<string, string>>): ObjectRef {
  const ref = { kind: kindOf(params.kind), name: params.name ?? "" };
  if (!isValidRef(ref))
    throw new ApiError(
      "BadRequest",
      `${JSON.stringify(ref.name)} is not a ${ref.kind} object name: the config object is named "config", every other object by the SHA-256 of its bytes (64 lowercase hex digits)`,
      { kind: ref.kind },
    );
  return ref;
}

/**
 * The object's size when it exists for this tenant and no quarantine hides it; undefined
 * otherwise, whoever else has it.
 */
async function sizeFor(
  ctx: ServerContext,
  tenantId: string,
  store: ObjectStore,
  ref: ObjectRef,
): Promise<number | undefined> {
  const visible = await ctx.catalog.getVisibleObject(tenantId, ref.kind, ref.name);
  return visible === undefined ? undefined : (await store.stat(ref))?.size;
}

function notFound(ref: ObjectRef): ApiError {
  return new ApiError("NotFound", `there is no ${ref.kind} object ${ref.name}`);
}

/**
 * `?limit=N&cursor=C`: a page of at most N (default and most MAX_LISTING_PAGE) after the cursor.
 * The cursor is the last name of the previous page; clients treat it as opaque, so it can change.
 */
const ListingQuery = { limit: ListingLimit, cursor: ListingCursor };

function listed(record: StoredObject): ObjectListingEntry {
  return {
    name: record.name,
    size: record.size,
    received_at: record.createdAt.toISOString(),
    agent: record.createdByAgent,
  };
}

export const listObjects: Route<never, QueryOf<typeof ListingQuery>> = {
  method: "GET",
  path: "/v1/repo/objects/{kind}",
  auth: "agent",
  scope: "backup",
  summary:
    "List a page of the tenant's objects of one kind, by name, with size, receipt time and uploader (objects a quarantine hides are left out)",
  params: { kind: KindParam },
  queryParams: ListingQuery,
  responses: {
    200: { description: "a page of the objects of that kind", schema: ObjectListing.schema },
  },
  errors: ["NotFound"],
  async handle({ res, params, query, who, ctx }) {
    const kind = kindOf(params.kind);
    const { cursor: after = "", limit = MAX_LISTING_PAGE } = query;
    // From the catalog alone, which records every object with its size as it is stored (and
    // forgets a pack before GC removes its file): no stored file is read to answer. One record
    // more than the page tells whether another page follows.
    const records = await ctx.catalog.listVisibleObjects(who.tenant.id, kind, {
      after,
      limit: limit + 1,
    });
    const page = records.slice(0, limit);
    const last = page.at(-1);
    const listing: ObjectListing = {
      objects: page.map(listed),
      ...(records.length > limit && last !== undefined ? { next: last.name } : {}),
    };
    sendJson(res, 200, listing);
  },
};

export const headObject: Route = {
  method: "HEAD",
  path: "/v1/repo/objects/{kind}/{name}",
  auth: "agent",
  scope: "backup",
  summary: "Whether the tenant has an object, and its size",
  params: { kind: KindParam, name: NameParam },
  responses: {
    200: { description: "stored; Content-Length is its size", headers: ["Content-Length"] },
  },
  errors: ["NotFound"],
  async handle({ res, params, who, ctx }) {
    const ref = refOf(params);
    const size = await sizeFor(ctx, who.tenant.id, await ctx.stores.get(who.tenant.id), ref);
    if (size === undefined) throw notFound(ref);
    sendEmpty(res, 200, {
      "Content-Type": "application/octet-stream",
      "Content-Length": String(size),
      "Accept-Ranges": "bytes",
    });
  },
};

/** Resolves once the response has handed chunk to the socket, or is gone. */
function written(res: ServerResponse, chunk: Uint8Array): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("close", done);
      resolve();
    };
    res.on("close", done);
    res.write(chunk, done);
  });
}

export const getObject: Route = {
  method: "GET",
  path: "/v1/repo/objects/{kind}/{name}",
  auth: "agent",
  scope: "backup",
  summary: "Read an object, whole or one byte range",
  params: { kind: KindParam, name: NameParam },
  requestHeaders: { Range: RangeHeader },
  responses: {
    200: { description: "the whole object", contentType: "application/octet-stream" },
    206: {
      description: "the requested range",
      contentType: "application/octet-stream",
      headers: ["Content-Range"],
    },
  },
  errors: ["NotFound", "RangeNotSatisfiable"],
  async handle({ req, res, params, who, ctx }) {
    const ref = refOf(params);
    // The catalog's size, which it recorded from the stored body and the listings already answer
    // with: no stat per GET. A file gone from under its record fails to open (NotFound, 404), one
    // cut short fails its read; either before the headers go out.
    const size = (await ctx.catalog.getVisibleObject(who.tenant.id, ref.kind, ref.name))?.size;
    if (size === undefined) throw notFound(ref);
    const store = await ctx.stores.get(who.tenant.id);
    const header = req.headers.range;
    const range = header === undefined ? { offset: 0, length: size } : parseRange(header, size);
    // Two slices taken in turn: one is read while the other is sent, and neither is refilled
    // before the socket has taken it. Every buffer that comes and goes counts towards V8's next
    // full collection (bin/rempart), so a GET allocates two at most (one for a single slice),
    // not one per slice.
    const slices: (Buffer | undefined)[] = [undefined, undefined];
    const sending: (Promise<void> | undefined)[] = [undefined, undefined];
    const read = async (turn: number, from: number) => {
      slices[turn % 2] ??= Buffer.allocUnsafe(Math.min(range.length, READ_SLICE));
      const slice = (slices[turn % 2] as Buffer).subarray(
        0,
        Math.min(range.length - from, READ_SLICE),
      );
      await store.readInto(ref, range.offset + from, slice);
      return slice;
    };
    // Read before the headers go out, so that an object the store cannot read is answered an error.
    let slice = await read(0, 0);
    res.writeHead(header === undefined ? 200 : 206, {
      "Cache-Control": "no-store",
      "Content-Type": "application/octet-stream",
      "Content-Length": String(range.length),
      "Accept-Ranges": "bytes",
      ...(header === undefined
        ? {}
        : { "Content-Range": `bytes ${range.offset}-${range.offset + range.length - 1}/${size}` }),
    });
    // Every write reaches the TLS socket alone: writes queued behind one in progress go out as
    // one writev, for which Node copies them all into one new buffer (2 MiB per restore range).
    // So the head goes out by itself, and the answer ends only once its last slice is written.
    res.flushHeaders();
    let sent = 0;
    for (let turn = 0; ; turn++) {
      sending[turn % 2] = written(res, slice);
      sent += slice.length;
      if (sent >= range.length) {
        await sending[turn % 2];
        break;
      }
      await sending[(turn + 1) % 2];
      if (res.destroyed) break;
      slice = await read(turn + 1, sent);
    }
    res.end();
  },
};

export const putObject: Route = {
  method: "PUT",
  path: "/v1/repo/objects/{kind}/{name}",
  auth: "agent",
  scope: "backup",
  summary: "Store an object write-once (snapshots go through the commit route instead)",
  params: { kind: KindParam, name: NameParam },
  body: { contentType: "application/octet-stream" },
  responses: {
    200: {
      description: "identical bytes were already stored: nothing changed",
      schema: PutResponse.schema,
    },
    201: { description: "stored", schema: PutResponse.schema },
  },
  errors: [
    "NotFound",
    "AppendOnly",
    "Conflict",
    "HashMismatch",
    "PayloadTooLarge",
    "UnsupportedMediaType",
    "QuotaExceeded",
    "StorageFull",
  ],
  async handle({ req, res, params, who, ctx }) {
    const ref = refOf(params);
    if (ref.kind === "snapshots")
      throw new ApiError(
        "AppendOnly",
        "snapshots are only added by committing them (POST /v1/repo/snapshots), which checks their packs",
      );
    const length = objectBodyLength(req);
    const tenantId = who.tenant.id;
    // Refused on its declared size, before a byte of the body is read.
    const bySize =
      ref.kind === "keys" && length > MAX_KEY_SLOT_BYTES
        ? `a key slot has at most ${MAX_KEY_SLOT_BYTES} bytes, not ${length}`
        : sizeProblem(ref.kind, length)?.message;
    if (bySize !== undefined) refuseShape(ref, length, bySize);
    // A name already recorded adds no bytes (a no-op or a conflict): the quota does not apply.
    const recorded = await ctx.catalog.objectExists(tenantId, ref.kind, ref.name);
    if (ref.kind === "keys" && !recorded) await refuseKeyAfterEnrollment(ctx, tenantId);
    const store = await ctx.stores.get(tenantId);
    const release = recorded ? () => {} : await reserveQuota(ctx, who.tenant, length);
    try {
      if (!recorded) await checkDiskReserve(ctx, length);
      const outcome = await ctx.uploadMemory.with(length, async () => {
        const body = await (ref.kind === "keys"
          ? receiveKeySlot(req, res, length, store)
          : receiveToSpool(req, res, length, ref.kind, store));
        try {
          if (ref.kind !== "config" && body.sha256 !== ref.name)
            throw misuseRefusal(
              "forged-bytes",
              `${ref.kind}/${ref.name}`,
              new ApiError(
                "HashMismatch",
                `the body's SHA-256 is ${body.sha256}, not its name ${ref.name}: nothing was stored`,
                { expected: ref.name, actual: body.sha256 },
              ),
            );
          if (body.problem !== undefined) refuseShape(ref, length, body.problem);
        } catch (error) {
          await body.discard();
          throw error;
        }
        return storeObject(ctx, who, ref, length, () => body.store(ref));
      });
      sendJson(res, outcome === "created" ? 201 : 200, { outcome });
    } finally {
      release();
    }
  },
};

/** An upload's body, received whole and not yet stored. */
interface ReceivedBody {
  readonly sha256: string;
  /** Why the body cannot be an object of its kind; undefined when it has that shape. */
  readonly problem: string | undefined;
  /** Stores it under ref (write-once); whatever it was kept in is released either way. */
  store(ref: ObjectRef): Promise<PutOutcome>;
  /** Releases it unstored. */
  discard(): Promise<void>;
}

/**
 * The body written to the store's spool directory as it arrives and hashed on the way: the
 * server never holds a whole pack, and each part reaches the disk while still in cache. The file
 * gets its name (`putFile`, which flushes it) only once the body passed its checks.
 */
async function receiveToSpool(
  req: IncomingMessage,
  res: ServerResponse,
  length: number,
  kind: Exclude<ObjectKind, "keys">,
  store: ObjectStore,
): Promise<ReceivedBody> {
  const file = await FileWriter.create(
    join(await store.spoolDir(), `put-${randomBytes(16).toString("hex")}`),
  );
  const hash = createHash("sha256");
  const tail = new TailKeeper();
  try {
    await readObjectChunks(req, res, length, (chunk) => {
      hash.update(chunk);
      tail.update(chunk);
      file.append(chunk);
    });
    await file.finish();
  } catch (error) {
    await file.abandon();
    throw error;
  }
  return {
    sha256: hash.digest("hex"),
    problem: shapeProblem(kind, length, tail.bytes())?.message,
    store: (ref) => store.putFile(ref, { path: file.path, size: length }),
    discard: () => file.abandon(),
  };
}

/** A key slot (at most MAX_KEY_SLOT_BYTES) is read whole: its checks parse all of it. */
async function receiveKeySlot(
  req: IncomingMessage,
  res: ServerResponse,
  length: number,
  store: ObjectStore,
): Promise<ReceivedBody> {
  const hash = createHash("sha256");
  const body = await readObjectBody(req, res, length, (chunk) => hash.update(chunk));
  return {
    sha256: hash.digest("hex"),
    problem: keySlotProblem(body, "agent").problem,
    store: (ref) => store.put(ref, body),
    discard: async () => {},
  };
}

/**
 * Refuses an upload that cannot be what its kind says, as a misuse: the agent never sends such
 * objects, so one that does is broken or in someone else's hands, which its operator should learn.
 */
function refuseShape(ref: ObjectRef, size: number, problem: string): never {
  const reason =
    size === 0
      ? "empty"
      : ref.kind === "keys"
        ? "not-a-key-slot"
        : ref.kind === "data"
          ? "not-a-pack"
          : "too-small";
  throw misuseRefusal(
    "malformed-object",
    `${ref.kind}/${ref.name}`,
    new ApiError(
      "BadRequest",
      `${ref.kind}/${ref.name} was refused: ${problem}; nothing was stored`,
      {
        reason,
        kind: ref.kind,
        name: ref.name,
        size,
      },
    ),
  );
}

/**
 * Key slots decide who can open the repository and what every reader pays to try: once the
 * tenant's repository exists (its config is stored), only an operator adds them.
 */
async function refuseKeyAfterEnrollment(ctx: ServerContext, tenantId: string): Promise<void> {
  if (await ctx.catalog.objectExists(tenantId, "config", "config"))
    throw new ApiError(
      "Conflict",
      "the tenant's repository is initialised: agents add key slots only while creating it; an operator adds more (rempart admin key add, or POST /v1/tenants/{name}/keys)",
      { reason: "repository-initialized", kind: "keys" },
    );
}

/**
 * Two machines enrolling at once on a fresh tenant both create the repository, and the second's
 * config loses here (src/agent/enroll.ts then opens the winner's): a race of seconds, not misuse.
 * A config stored for longer than this cannot be raced, since enrollment writes one only when it
 * finds none.
 */
const ENROLLMENT_RACE_MS = 10 * 60_000;

async function enrollmentRace(
  ctx: ServerContext,
  tenantId: string,
  ref: ObjectRef,
): Promise<boolean> {
  if (ref.kind !== "config") return false;
  const stored = await ctx.catalog.getVisibleObject(tenantId, ref.kind, ref.name);
  return (
    stored === undefined || ctx.now().getTime() - stored.createdAt.getTime() < ENROLLMENT_RACE_MS
  );
}

async function storeObject(
  ctx: ServerContext,
  who: AgentPrincipal,
  ref: ObjectRef,
  size: number,
  put: () => Promise<PutOutcome>,
): Promise<PutOutcome> {
  let outcome: "created" | "exists";
  try {
    outcome = await put();
  } catch (error) {
    if (!isRempartError(error, "ObjectConflict")) throw error;
    const refusal = new ApiError(
      "Conflict",
      `different bytes are already stored as ${ref.kind}/${ref.name}; objects are write-once`,
      { kind: ref.kind, name: ref.name },
    );
    if (await enrollmentRace(ctx, who.tenant.id, ref)) throw refusal;
    // Other bytes under a name that exists, long stored: an agent trying to overwrite history.
    throw misuseRefusal("overwrite", `${ref.kind}/${ref.name}`, refusal);
  }
  // After the store: a crash in between leaves a stored, unrecorded object, which the agent (not
  // seeing it listed) uploads again, and this line then records.
  await ctx.catalog.recordObject(
    {
      tenantId: who.tenant.id,
      kind: ref.kind,
      name: ref.name,
      size,
      createdByAgent: who.agent.id,
    },
    ctx.now(),
  );
  return outcome;
}
