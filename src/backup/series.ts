/**
 * A backup's series: the earlier snapshots of the same paths from the same host. Its latest is the
 * parent (unchanged files are reused from it, as in restic) and its detection summaries are the
 * baseline the new snapshot's verdict is judged against.
 */
import type { DetectionSummary } from "../detection/summary.js";
import type { Repository, StoredSnapshot } from "../repository/repository.js";

export interface Series {
  readonly parent?: StoredSnapshot;
  readonly history: readonly DetectionSummary[];
}

export function seriesOf(
  snapshots: readonly StoredSnapshot[],
  host: string,
  paths: readonly string[],
): Series {
  const key = JSON.stringify(paths);
  const series = snapshots.filter(
    (s) => s.snapshot.host === host && JSON.stringify(s.snapshot.paths) === key,
  );
  const parent = series.at(-1);
  return {
    ...(parent ? { parent } : {}),
    history: series.flatMap((s) => s.snapshot.summary.detection ?? []),
  };
}

/**
 * The series of a backup about to run in `repo`, with the index (which the backup needs next)
 * loading meanwhile: through a server, the snapshot listing and the index reads then overlap
 * instead of taking their round trips in turn. A failed index load is left for the backup to
 * report, when it asks for the index again.
 */
export async function seriesIn(
  repo: Repository,
  host: string,
  paths: readonly string[],
): Promise<Series> {
  repo.unindexedPacks().catch(() => undefined);
  return seriesOf(await repo.listSnapshots(), host, paths);
}
