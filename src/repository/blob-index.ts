/** The in-memory map from blob id to where its sealed bytes live. */

import type { BlobLocation } from "./blob-decoder.js";
import type { IndexedPack } from "./index-file.js";
import type { BlobType, PackEntry } from "./pack.js";

export type { BlobLocation } from "./blob-decoder.js";

export class BlobIndex {
  private readonly blobs = new Map<string, BlobLocation>();
  private readonly packBlobs = new Map<string, readonly PackEntry[]>();

  addPack({ pack, blobs }: IndexedPack): void {
    this.packBlobs.set(pack, blobs);
    for (const blob of blobs) {
      // First location wins: a duplicate blob in a later pack is harmless, never a replacement.
      if (!this.blobs.has(blob.id)) this.blobs.set(blob.id, { ...blob, pack });
    }
  }

  get(id: string): BlobLocation | undefined {
    return this.blobs.get(id);
  }

  has(id: string, type?: BlobType): boolean {
    const location = this.blobs.get(id);
    return location !== undefined && (type === undefined || location.type === type);
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
