/**
 * Settling what the indexes say about each pack. An index is an accelerator sealed by anyone
 * with the password, so a stolen agent configuration can write one that points every blob one
 * byte off, or claims blobs a pack does not hold. The pack's own sealed header is the truth.
 *
 * Rule (docs/FORMAT.md, "Index"): a pack's claims are used as they are when every index that
 * lists it agrees and the claim is laid out as a writer lays out a pack of its stored size.
 * Otherwise the pack's header is read (two ranged reads): when it opens, its entries replace
 * every claim, and each index whose claim differs from it is distrusted as a whole (none of its
 * entries are used: an index proven to lie about one pack is not believed about others). When
 * the header does not open, the pack is reported and the distinct claims are all kept as
 * alternative locations, each verified when read (a truncated pack still yields the blobs
 * before the damage).
 */
import { isRempartError } from "../errors.js";
import type { ObjectInfo } from "../storage/object-store.js";
import { EntryList } from "./entry-list.js";
import type { ListedPack } from "./index-file.js";
import { claimFitsPack, type PackEntry } from "./pack.js";
import { isObjectFault, type SkippedObject, skipped } from "./untrusted.js";

/** One decoded index, its packs restricted to those the store holds. */
export interface DecodedIndex {
  readonly info: ObjectInfo;
  readonly packs: readonly ListedPack[];
}

export interface Reconciled {
  /** what to add to the blob index, in load order (a pack may appear more than once) */
  readonly packs: readonly ListedPack[];
  /** indexes distrusted, packs whose header would not open */
  readonly skipped: readonly SkippedObject[];
  /** packs whose header was read to settle a dispute */
  readonly headersRead: number;
}

interface Claim {
  readonly index: ObjectInfo;
  readonly entries: EntryList;
}

export async function reconcileIndexes(
  indexes: readonly DecodedIndex[],
  stored: ReadonlyMap<string, ObjectInfo>,
  readHeader: (pack: ObjectInfo) => Promise<PackEntry[]>,
): Promise<Reconciled> {
  const claims = new Map<string, Claim[]>();
  for (const { info, packs } of indexes)
    for (const { pack, entries } of packs) {
      const list = claims.get(pack);
      if (list) list.push({ index: info, entries });
      else claims.set(pack, [{ index: info, entries }]);
    }

  const truth = new Map<string, EntryList>();
  const liars = new Map<string, SkippedObject>();
  const skippedPacks: SkippedObject[] = [];
  const unsettled = new Set<string>();
  const gone = new Set<string>();
  let headersRead = 0;
  for (const [pack, list] of claims) {
    const info = stored.get(pack) as ObjectInfo;
    const first = (list[0] as Claim).entries;
    const settled =
      claimFitsPack(first, info.size) && list.every((claim) => claim.entries.equals(first));
    if (settled) continue;
    headersRead++;
    let header: EntryList;
    try {
      header = EntryList.of(await readHeader(info));
    } catch (error) {
      // Collected by the server since it was listed: nothing left to index.
      if (isRempartError(error, "NotFound")) {
        gone.add(pack);
        continue;
      }
      if (!isObjectFault(error)) throw error;
      unsettled.add(pack);
      skippedPacks.push(
        skipped(
          info,
          `${(error as Error).message}; the index entries for it are used, each blob verified when read`,
        ),
      );
      continue;
    }
    truth.set(pack, header);
    for (const { index, entries } of list)
      if (!entries.equals(header) && !liars.has(index.name))
        liars.set(
          index.name,
          skipped(
            index,
            `index ${index.name} disagrees with the sealed header of pack ${pack}; none of its entries are used`,
          ),
        );
  }

  const packs: ListedPack[] = [];
  const added = new Set<string>();
  for (const { info, packs: listed } of indexes) {
    if (liars.has(info.name)) continue;
    for (const { pack, entries } of listed) {
      if (gone.has(pack)) continue;
      const header = truth.get(pack);
      // Agreeing claims once; claims a damaged header could not settle, each of them.
      if (added.has(pack) && !unsettled.has(pack)) continue;
      added.add(pack);
      packs.push({ pack, entries: header ?? entries });
    }
  }
  // A pack only liars listed is still known by its header.
  for (const [pack, header] of truth) if (!added.has(pack)) packs.push({ pack, entries: header });
  return { packs, skipped: [...liars.values(), ...skippedPacks], headersRead };
}
