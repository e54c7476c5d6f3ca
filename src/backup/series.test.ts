import assert from "node:assert/strict";
import { it } from "node:test";
import type { DetectionSummary } from "../detection/summary.js";
import type { StoredSnapshot } from "../repository/repository.js";
import { seriesOf } from "./series.js";

function stored(id: string, host: string, paths: string[], score?: number): StoredSnapshot {
  const detection =
    score === undefined ? undefined : ({ verdict: "ok", score } as unknown as DetectionSummary);
  return {
    id,
    snapshot: { host, paths, summary: detection ? { detection } : {} },
  } as unknown as StoredSnapshot;
}

it("the series is the same host's snapshots of the same paths: the last is the parent", () => {
  const snapshots = [
    stored("a", "srv", ["/srv/share"], 1),
    stored("b", "other", ["/srv/share"], 2),
    stored("c", "srv", ["/srv/share", "/etc"], 3),
    stored("d", "srv", ["/srv/share"]),
    stored("e", "srv", ["/srv/share"], 5),
  ];
  const series = seriesOf(snapshots, "srv", ["/srv/share"]);
  assert.equal(series.parent?.id, "e");
  assert.deepEqual(
    series.history.map((d) => d.score),
    [1, 5],
  );
  assert.deepEqual(seriesOf(snapshots, "new-host", ["/srv/share"]), { history: [] });
});
