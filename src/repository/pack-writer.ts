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
import { RempartError } from "../errors.js";
import type { ObjectStore } from "../storage/object-store.js";
import type { BlobIndex } from "./blob-index.js";
import { EntryList } from "./entry-list.js";
import type { IndexedPack } from "./index-file.js";
import type { SpooledPack } from "./pack.js";

/** What a backup's blob workers need to seal packs in their own threads. */
export interface PackSealingContext {
  readonly encryptionKey: Uint8Array;
  /** sealed bytes at which a pack is closed */
  readonly packSize: number;
  /** where packs are spooled as they are built (the store's `spoolDir()`) */
  readonly spoolDir: string;
  /** whether small data blobs go into frames (the repository's format version allows them) */
  readonly frames: boolean;
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
  /**
   * Blobs claimed in this session and not yet in a stored pack: once stored, the index answers
   * for them, so this holds only the blobs in flight. (A set of every new blob, with the
   * archiver's set of every referenced one and the unsaved entry lists, held 15 MB of the 21 MB
   * live heap at the end of the benchmark share's initial backup.)
   */
  private readonly pending = new Set<string>();
  /**
   * Stored (or adopted) packs no stored index lists yet, by name: the index holds their entries
   * already, so keeping the entry lists here too only doubled them in heap until the next save.
   */
  private unsaved: string[];
  /** the packs a snapshot of the blobs claimed and referenced through this writer needs */
  private readonly needed = new Set<string>();

  constructor(
    private readonly target: PackWriterTarget,
    adopted: readonly IndexedPack[],
    readonly resumed: ResumedPacks,
    private readonly packsPerIndex = PACKS_PER_INDEX,
  ) {
    this.unsaved = adopted.map(({ pack }) => pack);
  }

  /**
   * References a blob of the parent snapshot if a stored pack holds it (blobs on their way do not
   * count), as `reference` would; false, noting nothing, when none does. One index lookup for
   * each blob of an unchanged file, where asking first and referencing then took two.
   */
  reuse(id: string): boolean {
    return this.target.index.forEachPack(id, (pack) => this.needed.add(pack));
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

  /**
   * Notes that the snapshot being written references a blob, so that neededPacks names the packs
   * holding it, as it is met rather than from a set of every id at the end. A blob claimed here
   * is in a pack this writer stores, and all of those are needed (they hold only blobs the
   * snapshot references); a blob stored before names every pack holding a copy, not only the
   * first: the server keeps (GC) exactly the packs commits name, and the first location may be
   * one a forged index pointed at. Throws RepositoryCorrupt for a blob no index lists.
   */
  reference(id: string): void {
    if (this.pending.has(id)) return;
    if (!this.target.index.forEachPack(id, (pack) => this.needed.add(pack)))
      throw new RempartError("RepositoryCorrupt", `blob ${id} is not in any index`, { blob: id });
  }

  /** Every pack the blobs claimed and referenced so far are in; complete once flushed. */
  neededPacks(): ReadonlySet<string> {
    return this.needed;
  }

  /** Stores a finished pack (taking over its file), then indexes it. */
  async store(pack: SpooledPack): Promise<void> {
    await this.target.store.putFile({ kind: "data", name: pack.name }, pack);
    this.target.index.addPack(pack.name, EntryList.of(pack.entries));
    for (const entry of pack.entries) this.pending.delete(entry.id);
    this.needed.add(pack.name);
    this.unsaved.push(pack.name);
    if (this.unsaved.length >= this.packsPerIndex) await this.saveUnsaved();
  }

  /** Lists every stored pack in an index object: after it, a snapshot may reference their blobs. */
  async flush(): Promise<void> {
    if (this.unsaved.length > 0) await this.saveUnsaved();
  }

  private async saveUnsaved(): Promise<void> {
    // Taken before the await: packs stored meanwhile go to the next index.
    const batch = this.unsaved.map((pack) => ({
      pack,
      blobs: this.target.index.entryList(pack) ?? [],
    }));
    this.unsaved = [];
    await this.target.saveIndex(batch);
  }
}
