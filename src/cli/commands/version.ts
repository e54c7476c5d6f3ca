import { REMPART_VERSION } from "../../version.js";
import type { Command } from "../command.js";
import { EXIT } from "../exit-codes.js";

export const versionCommand: Command = {
  name: "version",
  summary: "print Rempart's version (as --version does)",
  usage: "rempart version [--json]",
  options: {},
  async run(context) {
    if (context.output.json) context.output.object({ version: REMPART_VERSION });
    else context.output.line(REMPART_VERSION);
    return EXIT.ok;
  },
};
