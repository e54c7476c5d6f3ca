/**
 * Reading the wanted blobs of one pack: one read of the whole pack, or of the runs of wanted
 * blobs that lie back to back, then each blob authenticated and decoded on its own. Each blob
 * comes out as its plaintext or its error, so one damaged blob never hides the others (restic's
 * StreamPack makes the same promise); only a pack that cannot be read at all fails as a whole.
 */
import { isRempartError, RempartError } from "../errors.js";
import type { ByteRange, ObjectInfo } from "../storage/object-store.js";
import type { BlobLocation } from "./blob-decoder.js";
import type { PackEntry } from "./blob-entry.js";

/** One wanted blob of a pack: its verified plaintext, or why it could not be had. */
export type PackBlob =
  | { readonly location: BlobLocation; readonly plaintext: Uint8Array }
  | { readonly location: BlobLocation; readonly error: RempartError };

/** How the reader reaches one pack (the repository's store and decoder). */
export interface PackSource {
  stat(): Promise<ObjectInfo | undefined>;
  read(range?: ByteRange): Promise<Uint8Array>;
  /** throws RepositoryCorrupt for bytes that are not the blob */
  decode(location: BlobLocation, sealed: Uint8Array): Uint8Array;
}

/**
 * From this share of a pack's bytes on, it is read whole: one request instead of many, for bytes
 * the reader mostly needs anyway (the restore's measured threshold).
 */
const WHOLE_PACK_SHARE = 0.25;

function decodeOne(source: PackSource, location: BlobLocation, sealed: Uint8Array): PackBlob {
  try {
    return { location, plaintext: source.decode(location, sealed) };
  } catch (error) {
    if (!isRempartError(error, "RepositoryCorrupt")) throw error;
    return { location, error };
  }
}

function beyondEnd(location: BlobLocation): PackBlob {
  return {
    location,
    error: new RempartError(
      "RepositoryCorrupt",
      `${location.type} blob ${location.id} lies beyond the end of pack ${location.pack}`,
      { pack: location.pack, blob: location.id },
    ),
  };
}

/** Whether `location` is the blob after `last` in one frame (they share its sealed bytes). */
function sameSpan(last: BlobLocation, location: BlobLocation): boolean {
  return last.offset === location.offset && last.length === location.length;
}

/** Wanted blobs that lie back to back (or in one frame), read as one range. */
function runsOf(locations: readonly BlobLocation[]): BlobLocation[][] {
  const runs: BlobLocation[][] = [];
  let run: BlobLocation[] = [];
  for (const location of locations) {
    const last = run.at(-1);
    if (last && last.offset + last.length !== location.offset && !sameSpan(last, location)) {
      runs.push(run);
      run = [];
    }
    run.push(location);
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

/**
 * Yields every wanted blob of `pack`, in pack order. With `onWholePack` the pack is read whole and
 * its bytes shown first (check verifies its name and header); otherwise it is read whole only
 * when the wanted blobs are a large share of it. Throws only when the pack cannot be read (a
 * missing pack is RepositoryCorrupt: an index promised it).
 */
export async function* readPackBlobs(
  source: PackSource,
  pack: string,
  wanted: readonly PackEntry[],
  onWholePack?: (bytes: Uint8Array) => void,
): AsyncGenerator<PackBlob> {
  const locations = wanted
    .map((entry): BlobLocation => ({ ...entry, pack }))
    .sort((a, b) => a.offset - b.offset);
  let whole: Uint8Array | undefined;
  let size: number;
  if (onWholePack) {
    whole = await source.read();
    onWholePack(whole);
    size = whole.length;
  } else {
    const info = await source.stat();
    if (!info) throw new RempartError("RepositoryCorrupt", `pack ${pack} is missing`, { pack });
    size = info.size;
    const needed = locations.reduce(
      (sum, location, i) =>
        i > 0 && sameSpan(locations[i - 1] as BlobLocation, location) ? sum : sum + location.length,
      0,
    );
    if (needed >= size * WHOLE_PACK_SHARE) whole = await source.read();
  }
  const inside: BlobLocation[] = [];
  for (const location of locations)
    if (location.offset + location.length <= size) inside.push(location);
    else yield beyondEnd(location);
  for (const run of runsOf(inside)) {
    const first = run[0] as BlobLocation;
    const last = run.at(-1) as BlobLocation;
    const start = first.offset;
    const bytes =
      whole?.subarray(start, last.offset + last.length) ??
      (await source.read({ offset: start, length: last.offset + last.length - start }));
    for (const location of run)
      yield decodeOne(
        source,
        location,
        bytes.subarray(location.offset - start, location.offset - start + location.length),
      );
  }
}
