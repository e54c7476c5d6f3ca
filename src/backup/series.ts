/**
 * A backup's series: the earlier snapshots of the same paths from the same host. Its latest is the
 * parent (unchanged files are reused from it, as in restic) and its detection summaries are the
 * baseline the new snapshot's verdict is judged against.
 */
import type { DetectionSummary } from "../detection/summary.js";
import type { StoredSnapshot } from "../repository/repository.js";

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
