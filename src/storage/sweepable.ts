/**
 * What the server's garbage collection (src/server/gc/) needs from a tenant's store beyond
 * ObjectStore; agents never get it. A pack (a `data` object) is removed in two steps that can be
 * undone: moved out of sight into the store's trash, then, once GC has checked that no commit
 * came to need it meanwhile, purged for good or restored.
 */
import type { ObjectRef, ObjectStore } from "./object-store.js";

export interface SweepableStore extends ObjectStore {
  /**
   * When the object's bytes were stored (the store's clock), undefined when absent: a pack younger
   * than GC's grace period may belong to a backup still uploading.
   */
  storedAt(ref: ObjectRef): Promise<Date | undefined>;
  /** Moves a pack into the trash, out of `get`, `stat` and `list`; false when it was absent. */
  trashPack(name: string): Promise<boolean>;
  /** The packs in the trash (a killed GC run leaves some). */
  trashedPacks(): AsyncIterable<string>;
  /** Puts a trashed pack back; the same pack stored again meanwhile is kept (same name, same bytes). */
  restorePack(name: string): Promise<void>;
  /** Removes a trashed pack for good, answering the bytes freed. */
  purgePack(name: string): Promise<number>;
}
