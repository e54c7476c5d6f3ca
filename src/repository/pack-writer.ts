/**
 * The repository's side of writing blobs: which blobs still need storing (dedup against the
 * index and the blobs on their way), storing finished packs, listing them in index objects.
 *
 * Packs are sealed elsewhere (backup's blob workers, with PackSpooler and the repository's
 * PackSealingContext) and arrive here as spooled files. The order of writes is what keeps a killed
 * backup consistent: a pack is stored before an index lists it, and an index is stored before a
 * snapshot may reference its blobs (the caller flushes before committing). A backup killed in
 * between leaves only complete packs that no index lists; the next writer adopts them.
 */
import type { RempartError } from "../errors.js";
import type { ObjectStore } from "../storage/object-store.js";
import type { BlobIndex } from "./blob-index.js";
import type { IndexedPack } from "./index-file.js";
import type { SpooledPack } from "./pack.js";

/** What a backup's blob workers need to seal packs in their own threads. */
export interface PackSealingContext {
  readonly encryptionKey: Uint8Array;
  /** sealed bytes at which a pack is closed */
  readonly packSize: number;
  /** where packs are spooled as they are built (the store's `spoolDir()`) */
  readonly spoolDir: string;
}

/** What an earlier, interrupted backup left and this writer took over. */
export interface ResumedPacks {
  /** packs no index listed, now indexed from their own headers */
  readonly adopted: number;
  /** leftovers that are not well-formed packs: reported, never adopted */
  readonly damaged: readonly RempartError[];
}

/** The repository's internals a writer works on; only the repository makes one. */
export interface PackWriterTarget {
  readonly store: ObjectStore;
  readonly index: BlobIndex;
  saveIndex(packs: readonly IndexedPack[]): Promise<string>;
}

/** An index object is saved after this many new packs, so a long backup that dies resumes cheaply. */
export const PACKS_PER_INDEX = 64;

export class PackWriter {
  /** blobs claimed in this session and not yet in a stored pack (or since stored) */
  private readonly pending = new Set<string>();
  /** stored (or adopted) packs no stored index lists yet */
  private unsaved: IndexedPack[];

  constructor(
    private readonly target: PackWriterTarget,
    adopted: readonly IndexedPack[],
    readonly resumed: ResumedPacks,
    private readonly packsPerIndex = PACKS_PER_INDEX,
  ) {
    this.unsaved = [...adopted];
  }

  /** Whether a stored pack holds the blob (blobs on their way do not count). */
  isStored(id: string): boolean {
    return this.target.index.has(id);
  }

  /**
   * Claims a blob for storing: true when the caller must send it to be packed, false when it is
   * stored already or another claim is carrying it.
   */
  claim(id: string): boolean {
    if (this.pending.has(id) || this.target.index.has(id)) return false;
    this.pending.add(id);
    return true;
  }

  /** Stores a finished pack (taking over its file), then indexes it. */
  async store(pack: SpooledPack): Promise<void> {
    await this.target.store.putFile({ kind: "data", name: pack.name }, pack);
    const indexed = { pack: pack.name, blobs: pack.entries };
    this.target.index.addPack(indexed);
    this.unsaved.push(indexed);
    if (this.unsaved.length >= this.packsPerIndex) await this.saveUnsaved();
  }

  /** Lists every stored pack in an index object: after it, a snapshot may reference their blobs. */
  async flush(): Promise<void> {
    if (this.unsaved.length > 0) await this.saveUnsaved();
  }

  private async saveUnsaved(): Promise<void> {
    // Taken before the await: packs stored meanwhile go to the next index.
    const batch = this.unsaved;
    this.unsaved = [];
    await this.target.saveIndex(batch);
  }
}
