import { Demo, type DemoStep } from "../../demo/story.js";
import { RempartError } from "../../errors.js";
import type { Command } from "../command.js";
import { EXIT } from "../exit-codes.js";
import type { Output } from "../output.js";

/** 128 + the signal's number, as a shell reports a process a signal ended. */
const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 } as const;

function printStep(output: Output, step: DemoStep): void {
  if (output.json) {
    output.object({ message_type: "step", ...step });
    return;
  }
  output.line(`\n${step.step}. ${step.title}`);
  for (const line of step.happened) output.line(`   ${line}`);
  output.line(`   → ${step.why}`);
}

export const demoCommand: Command = {
  name: "demo",
  summary:
    "play the whole story on this machine: back up, a ransomware attack, the alert and hold, a bit-exact restore",
  usage: "rempart demo [--keep] [--json]",
  options: {
    keep: { type: "boolean", help: "keep the temporary folder (server data, share, restore)" },
  },
  async run(context) {
    const { output } = context;
    const script = process.argv[1];
    if (script === undefined)
      throw new RempartError("Unsupported", "cannot tell how this rempart was started");
    const demo = new Demo({
      command: { node: process.execPath, prefix: [...process.execArgv, script] },
      keep: context.flag("keep"),
      narrate: (step) => printStep(output, step),
    });
    // Ctrl-C (or a service manager's stop) must not leave a server running or files behind.
    const interrupted = (signal: keyof typeof SIGNAL_EXIT) => () => {
      demo.abandon();
      output.warn(`\ninterrupted: the demo's server was stopped and ${demo.folder} removed`);
      process.exit(SIGNAL_EXIT[signal]);
    };
    const onInt = interrupted("SIGINT");
    const onTerm = interrupted("SIGTERM");
    process.once("SIGINT", onInt);
    process.once("SIGTERM", onTerm);
    if (!output.json)
      output.line(
        "Rempart demo: a client's office share backed up, hit by ransomware, and restored. About half a minute.",
      );
    try {
      await demo.run();
    } finally {
      await demo.close();
      process.off("SIGINT", onInt);
      process.off("SIGTERM", onTerm);
    }
    if (output.json) output.object({ message_type: "summary", ok: true });
    else output.line("\nEvery step held: the demo succeeded.");
    return EXIT.ok;
  },
};
