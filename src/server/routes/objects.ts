/**
 * The agent's object routes. The tenant comes from the credential, never from the path, so no
 * request can even name another tenant's objects. An object exists for an agent when its tenant's
 * catalog records it (and, for snapshots, when the commit was recorded): the same rows the
 * commit checks, so a listing never promises a pack that a commit would call missing.
 */
import { createHash } from "node:crypto";
import type { ServerResponse } from "node:http";
import { MAX_PAGE } from "../../catalog/catalog.js";
import { isRempartError } from "../../errors.js";
import { isObjectKind, type ObjectListing } from "../../protocol/api.js";
import type { FsObjectStore } from "../../storage/fs/fs-store.js";
import { isValidRef, type ObjectKind, type ObjectRef } from "../../storage/object-store.js";
import { ApiError } from "../api-error.js";
import type { AgentPrincipal } from "../auth.js";
import type { ServerContext } from "../context.js";
import { objectBodyLength, readObjectBody, sendEmpty, sendJson } from "../http.js";
import { reserveQuota } from "../quota.js";
import { parseRange } from "../range.js";
import type { ParamDoc, Route } from "../router.js";

/** Reads from the store in slices this big, so a 64 MiB object is never whole in memory. */
const READ_SLICE = 1024 * 1024;

const KIND_PARAM: ParamDoc = {
  description: "config, keys, data, index or snapshots",
  schema: { type: "string", enum: ["config", "keys", "data", "index", "snapshots"] },
};
const NAME_PARAM: ParamDoc = {
  description:
    '"config" for the config object; otherwise the SHA-256 of the bytes, 64 lowercase hex digits',
  schema: { type: "string", pattern: "^(config|[0-9a-f]{64})$" },
};

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

/** The object's size when it exists for this tenant; undefined otherwise, whoever else has it. */
async function sizeFor(
  ctx: ServerContext,
  tenantId: string,
  store: FsObjectStore,
  ref: ObjectRef,
): Promise<number | undefined> {
  const known =
    ref.kind === "snapshots"
      ? ((await ctx.catalog.getSnapshot(tenantId, ref.name))?.state ?? "deleted") !== "deleted"
      : await ctx.catalog.objectExists(tenantId, ref.kind, ref.name);
  return known ? (await store.stat(ref))?.size : undefined;
}

function notFound(ref: ObjectRef): ApiError {
  return new ApiError("NotFound", `there is no ${ref.kind} object ${ref.name}`);
}

async function recordedNames(ctx: ServerContext, tenantId: string, kind: ObjectKind) {
  if (kind === "snapshots")
    return (await ctx.catalog.listSnapshots(tenantId))
      .filter((s) => s.state !== "deleted")
      .map((s) => s.id);
  const names: string[] = [];
  for (let after = ""; ; ) {
    const page = await ctx.catalog.listObjectNames(tenantId, kind, { after, limit: MAX_PAGE });
    names.push(...page);
    const last = page.at(-1);
    if (page.length < MAX_PAGE || last === undefined) return names;
    after = last;
  }
}

export const listObjects: Route = {
  method: "GET",
  path: "/v1/repo/objects/{kind}",
  auth: "agent",
  scope: "backup",
  summary: "List the tenant's objects of one kind, with their sizes",
  params: { kind: KIND_PARAM },
  responses: { 200: { description: "every object of that kind", schema: "ObjectListing" } },
  errors: ["NotFound"],
  async handle({ res, params, who, ctx }) {
    const kind = kindOf(params.kind);
    const tenantId = who.tenant.id;
    const store = await ctx.stores.get(tenantId);
    const sizes = new Map<string, number>();
    for await (const info of store.list(kind)) sizes.set(info.name, info.size);
    const names = await recordedNames(ctx, tenantId, kind);
    const listing: ObjectListing = {
      objects: names.flatMap((name) => {
        const size = sizes.get(name);
        return size === undefined ? [] : [{ name, size }];
      }),
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
  params: { kind: KIND_PARAM, name: NAME_PARAM },
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

/** Resolves once the response can take more, or is gone. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}

export const getObject: Route = {
  method: "GET",
  path: "/v1/repo/objects/{kind}/{name}",
  auth: "agent",
  scope: "backup",
  summary: "Read an object, whole or one byte range",
  params: { kind: KIND_PARAM, name: NAME_PARAM },
  requestHeaders: {
    Range: {
      description: 'one range: "bytes=first-last", "bytes=first-" or "bytes=-count"',
      schema: { type: "string" },
    },
  },
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
    const store = await ctx.stores.get(who.tenant.id);
    const size = await sizeFor(ctx, who.tenant.id, store, ref);
    if (size === undefined) throw notFound(ref);
    const header = req.headers.range;
    const range = header === undefined ? { offset: 0, length: size } : parseRange(header, size);
    const first = await store.get(ref, {
      offset: range.offset,
      length: Math.min(range.length, READ_SLICE),
    });
    res.writeHead(header === undefined ? 200 : 206, {
      "Cache-Control": "no-store",
      "Content-Type": "application/octet-stream",
      "Content-Length": String(range.length),
      "Accept-Ranges": "bytes",
      ...(header === undefined
        ? {}
        : { "Content-Range": `bytes ${range.offset}-${range.offset + range.length - 1}/${size}` }),
    });
    let sent = first.length;
    let more = res.write(first);
    while (sent < range.length && !res.destroyed) {
      if (!more) await drained(res);
      if (res.destroyed) break;
      const slice = await store.get(ref, {
        offset: range.offset + sent,
        length: Math.min(range.length - sent, READ_SLICE),
      });
      sent += slice.length;
      more = res.write(slice);
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
  params: { kind: KIND_PARAM, name: NAME_PARAM },
  body: { contentType: "application/octet-stream" },
  responses: {
    200: {
      description: "identical bytes were already stored: nothing changed",
      schema: "PutResponse",
    },
    201: { description: "stored", schema: "PutResponse" },
  },
  errors: [
    "NotFound",
    "AppendOnly",
    "Conflict",
    "HashMismatch",
    "PayloadTooLarge",
    "UnsupportedMediaType",
    "QuotaExceeded",
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
    const store = await ctx.stores.get(tenantId);
    // A name already recorded adds no bytes (a no-op or a conflict): the quota does not apply.
    const recorded = await ctx.catalog.objectExists(tenantId, ref.kind, ref.name);
    const release = recorded ? () => {} : await reserveQuota(ctx, who.tenant, length);
    try {
      const outcome = await ctx.uploadMemory.with(length, async () => {
        const hash = createHash("sha256");
        const body = await readObjectBody(req, res, length, (chunk) => hash.update(chunk));
        const actual = hash.digest("hex");
        if (ref.kind !== "config" && actual !== ref.name)
          throw new ApiError(
            "HashMismatch",
            `the body's SHA-256 is ${actual}, not its name ${ref.name}: nothing was stored`,
            { expected: ref.name, actual },
          );
        return storeObject(ctx, who, store, ref, body);
      });
      sendJson(res, outcome === "created" ? 201 : 200, { outcome });
    } finally {
      release();
    }
  },
};

async function storeObject(
  ctx: ServerContext,
  who: AgentPrincipal,
  store: FsObjectStore,
  ref: ObjectRef,
  body: Buffer,
): Promise<"created" | "exists"> {
  let outcome: "created" | "exists";
  try {
    outcome = await store.put(ref, body);
  } catch (error) {
    if (!isRempartError(error, "ObjectConflict")) throw error;
    // Other bytes under a name that exists: an agent trying to overwrite history is worth a record.
    await ctx.catalog.appendAudit(
      {
        actor: { kind: "agent", id: who.agent.id },
        action: "object.overwrite-refused",
        tenantId: who.tenant.id,
        details: { kind: ref.kind, name: ref.name, size: body.length },
      },
      ctx.now(),
    );
    throw new ApiError(
      "Conflict",
      `different bytes are already stored as ${ref.kind}/${ref.name}; objects are write-once`,
      { kind: ref.kind, name: ref.name },
    );
  }
  // After the store: a crash in between leaves a stored, unrecorded object, which the agent (not
  // seeing it listed) uploads again, and this line then records.
  await ctx.catalog.recordObject(
    {
      tenantId: who.tenant.id,
      kind: ref.kind,
      name: ref.name,
      size: body.length,
      createdByAgent: who.agent.id,
    },
    ctx.now(),
  );
  return outcome;
}
