// Runs every compiled test file with node's own test runner (Node 20 has no glob arguments).
// Tests are compiled into dist-test/ (tsconfig.test.json); dist/ is the runtime users get and must
// hold no test code, which is checked first.
// `--scale` runs the *.scale.test.js suites instead, which the default run leaves out: they build
// hundreds of thousands of files and take minutes (`npm run test:scale`).
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";

function findTests(dir, wanted = (name) => name.endsWith(".test.js")) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return findTests(path, wanted);
    return wanted(entry.name) ? [path] : [];
  });
}

/** Test modules by the names tsconfig.json keeps out of the runtime build. */
function isTestCode(path) {
  return /(\.test|test-support|-suite)\.js$|\/(suite|testing)\//.test(path);
}

const shipped = findTests("dist", () => true).filter(isTestCode);
if (shipped.length > 0) {
  console.error(`test code in the runtime build dist/: ${shipped.slice(0, 5).join(", ")}`);
  process.exit(1);
}

const args = process.argv.slice(2);
const scale = args.includes("--scale");
const only = args.filter((arg) => arg !== "--scale");
const files = findTests("dist-test")
  .filter((file) => file.endsWith(".scale.test.js") === scale)
  .filter((file) => only.length === 0 || only.some((part) => file.includes(part)))
  .sort();
if (files.length === 0) {
  console.error("no test files found under dist-test/");
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
