import { changeSnapshot, type SnapshotAction } from "../../../server/admin.js";
import type { Command } from "../../command.js";
import { EXIT } from "../../exit-codes.js";
import { TENANT_ARGUMENT, withDataDir } from "./session.js";

function snapshotAction(action: SnapshotAction, summary: string): Command {
  return {
    name: action,
    summary,
    usage: `rempart admin snapshot ${action} NAME SNAPSHOT_ID_PREFIX`,
    arguments: [
      TENANT_ARGUMENT,
      { syntax: "<SNAPSHOT_ID_PREFIX>", help: "the snapshot's id, or a unique prefix of it" },
    ],
    options: {},
    run: withDataDir(async (context, admin) => {
      const snapshot = await changeSnapshot(
        admin.ctx,
        await admin.actor(),
        context.argument(0),
        context.argument(1),
        action,
      );
      if (context.output.json) context.output.object(snapshot);
      else
        context.output.line(
          `snapshot ${snapshot.id}: ${snapshot.state}${snapshot.known_good ? ", known-good" : ""}, immutable until ${snapshot.immutable_until}`,
        );
      return EXIT.ok;
    }),
  };
}

export const snapshotCommand: Command = {
  name: "snapshot",
  summary: "hold a snapshot (no prune, no deletion), release it, mark it known-good",
  usage: "rempart admin snapshot hold|release|mark-good NAME SNAPSHOT_ID_PREFIX",
  options: {},
  subcommands: [
    snapshotAction("hold", "keep a snapshot whatever the retention policy says, until released"),
    snapshotAction("release", "release a hold: the retention policy decides again"),
    snapshotAction("mark-good", "mark a snapshot known-good (kept by the known-good rule)"),
  ],
};
