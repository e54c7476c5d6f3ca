// Runs every compiled test file with node's own test runner (Node 20 has no glob arguments).
// `--scale` runs the *.scale.test.js suites instead, which the default run leaves out: they build
// hundreds of thousands of files and take minutes (`npm run test:scale`).
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";

function findTests(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return findTests(path);
    return entry.name.endsWith(".test.js") ? [path] : [];
  });
}

const args = process.argv.slice(2);
const scale = args.includes("--scale");
const only = args.filter((arg) => arg !== "--scale");
const files = findTests("dist")
  .filter((file) => file.endsWith(".scale.test.js") === scale)
  .filter((file) => only.length === 0 || only.some((part) => file.includes(part)))
  .sort();
if (files.length === 0) {
  console.error("no test files found under dist/");
  process.exit(1);
}
// A guard against a hung test, not a budget: the scale suites take minutes on an idle machine.
const timeout = scale ? 3_600_000 : 600_000;
const result = spawnSync(
  process.execPath,
  ["--test", "--test-concurrency=2", `--test-timeout=${timeout}`, ...files],
  { stdio: "inherit" },
);
process.exit(result.status ?? 1);
