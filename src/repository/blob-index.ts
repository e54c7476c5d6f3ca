/** The in-memory map from blob id to where its sealed bytes live. */

import type { BlobLocation } from "./blob-decoder.js";
import type { IndexedPack } from "./index-file.js";
import type { BlobType, PackEntry } from "./pack.js";

export type { BlobLocation } from "./blob-decoder.js";

function sameLocation(a: BlobLocation, b: BlobLocation): boolean {
  return (
    a.pack === b.pack &&
    a.offset === b.offset &&
    a.length === b.length &&
    a.type === b.type &&
    a.compressed === b.compressed &&
    a.rawLength === b.rawLength
  );
}

export class BlobIndex {
  private readonly blobs = new Map<string, BlobLocation>();
  /** Further locations of blobs stored more than once (rare: kept apart to keep the map small). */
  private readonly alternates = new Map<string, BlobLocation[]>();
  private readonly packBlobs = new Map<string, readonly PackEntry[]>();

  /**
   * Adds a pack's blobs. A pack added again (several indexes whose claims could not be settled
   * by its header) keeps its first entry list and gains only locations not known yet.
   */
  addPack({ pack, blobs }: IndexedPack): void {
    const known = this.packBlobs.has(pack);
    if (!known) this.packBlobs.set(pack, blobs);
    for (const blob of blobs) {
      const location = { ...blob, pack };
      const first = this.blobs.get(blob.id);
      if (!first) {
        this.blobs.set(blob.id, location);
        continue;
      }
      // An index may lie about where a blob is: every location is kept so a reader can move on
      // to the next when one fails authentication.
      const more = this.alternates.get(blob.id);
      if (known && (sameLocation(first, location) || more?.some((m) => sameLocation(m, location))))
        continue;
      if (more) more.push(location);
      else this.alternates.set(blob.id, [location]);
    }
  }

  /** The first known location of a blob. */
  get(id: string): BlobLocation | undefined {
    return this.blobs.get(id);
  }

  /** Every known location of a blob, the first one first. */
  getAll(id: string): readonly BlobLocation[] {
    const first = this.blobs.get(id);
    if (!first) return [];
    const more = this.alternates.get(id);
    return more ? [first, ...more] : [first];
  }

  /** Whether any location holds the blob (as `type`, when given). */
  has(id: string, type?: BlobType): boolean {
    const first = this.blobs.get(id);
    if (first === undefined) return false;
    if (type === undefined || first.type === type) return true;
    return this.alternates.get(id)?.some((location) => location.type === type) ?? false;
  }

  hasPack(pack: string): boolean {
    return this.packBlobs.has(pack);
  }

  /** Every indexed pack with all its blobs, duplicates of blobs stored elsewhere included. */
  get packs(): ReadonlyMap<string, readonly PackEntry[]> {
    return this.packBlobs;
  }

  get size(): number {
    return this.blobs.size;
  }

  entries(): IterableIterator<BlobLocation> {
    return this.blobs.values();
  }
}
