// Empties a build directory first: tsc never removes the output of a source file that was moved or
// deleted, and a stale test module left in dist/ would ship to users.
import { rmSync } from "node:fs";

for (const dir of process.argv.slice(2)) rmSync(dir, { recursive: true, force: true });
