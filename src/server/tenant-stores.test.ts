/**
 * The filesystem's TenantStoreSet: destroying a tenant's store (offboarding) removes every byte
 * of it and no other tenant's, and the disk's room comes from the store set, not a path the
 * quota code knows. Real directories.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { rename } from "node:fs/promises";
import { describe, it } from "node:test";
import { tempDir } from "../testing/cli.js";
import { TenantStores } from "./tenant-stores.js";

function indexObject(text: string) {
  const bytes = Buffer.from(text);
  return {
    ref: { kind: "index", name: createHash("sha256").update(bytes).digest("hex") },
    bytes,
  } as const;
}

describe("the filesystem's tenant stores", () => {
  it("destroys one tenant's store whole, once, and no other tenant's", async (t) => {
    const stores = new TenantStores(tempDir(t, "stores"));
    const object = indexObject("acme's index");
    await (await stores.get("acme")).put(object.ref, object.bytes);
    await (await stores.get("globex")).put(object.ref, object.bytes);

    assert.equal(await stores.destroy("acme"), true);
    assert.equal(existsSync(stores.pathOf("acme")), false);
    assert.equal(existsSync(`${stores.pathOf("acme")}.deleting`), false);
    assert.equal(await stores.destroy("acme"), false);
    // Asked for again, the tenant's store is empty and takes objects.
    const fresh = await stores.get("acme");
    assert.equal(await fresh.stat(object.ref), undefined);
    assert.equal(await fresh.put(object.ref, object.bytes), "created");
    assert.equal((await (await stores.get("globex")).stat(object.ref))?.size, object.bytes.length);
  });

  it("finishes a destruction a killed run left half done", async (t) => {
    const stores = new TenantStores(tempDir(t, "stores"));
    const object = indexObject("left aside");
    const store = await stores.get("acme");
    await store.put(object.ref, object.bytes);
    // A run killed between its rename and its removal leaves the store aside.
    await rename(stores.pathOf("acme"), `${stores.pathOf("acme")}.deleting`);
    assert.equal(await stores.destroy("acme"), false);
    assert.equal(existsSync(`${stores.pathOf("acme")}.deleting`), false);
  });

  it("refuses a tenant id that could name a path", async (t) => {
    const stores = new TenantStores(tempDir(t, "stores"));
    for (const id of ["..", "a/b", "", "a.deleting"])
      await assert.rejects(stores.destroy(id), { code: "InvalidArgument" });
  });

  it("answers the room on the disk the stores share", async (t) => {
    const capacity = await new TenantStores(tempDir(t, "stores")).capacity();
    assert.ok(capacity.totalBytes > 0);
    assert.ok(capacity.freeBytes >= 0 && capacity.freeBytes <= capacity.totalBytes);
  });
});
