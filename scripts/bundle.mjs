// Bundles what `npm run build` compiled into the few files the `rempart` command loads:
// dist/main.js (the CLI), one file per worker thread (dist/blob-worker.js, scan-worker.js,
// restore-worker.js; the code finds them beside itself, as in dist/<layer>/) and the chunks they
// share (dist/chunk-*.js). Node's loader opens every module of an ES-module graph at once: the
// ~300 modules of dist/ plus TypeBox's ~700 made the command fail to start under `ulimit -n 128`
// and spend most of a second loading on each run. Bundled, `rempart help` (every command) opens
// about 50 files. TypeBox alone is also bundled as `#typebox` (dist/vendor/typebox.js,
// package.json "imports") for the unbundled dist/ that tests and benches import. Native bindings
// stay external: zstd's and SQLite's load from node_modules, Rempart's own (native/, compiled into
// build/Release by `npm ci`) from the package (src/snapshot/xattr.ts).
import { readFileSync, writeFileSync } from "node:fs";
import { build } from "esbuild";

const common = {
  bundle: true,
  format: "esm",
  platform: "node",
  target: "node20",
  logLevel: "warning",
};

await build({
  ...common,
  stdin: {
    contents: [
      'export * from "typebox";',
      'export { default } from "typebox";',
      'export * from "typebox/compile";',
    ].join("\n"),
    resolveDir: process.cwd(),
    sourcefile: "typebox-entry.js",
  },
  outfile: "dist/vendor/typebox.js",
});

const bundled = {
  ...common,
  outdir: "dist",
  entryNames: "[name]",
  external: ["better-sqlite3", "zstd-napi"],
  // Bundled CommonJS dependencies (commander) call require() for Node's own modules.
  banner: {
    js: 'import { createRequire as bundleRequire } from "node:module"; const require = bundleRequire(import.meta.url);',
  },
  metafile: true,
};
const outputs = [];
// Each command's module is imported when the command line names it (src/cli/main.ts): split, a
// command evaluates only its own code and what it shares with others, not the server, the
// catalog's SQLite, the mailer... of the whole 2.3 MB (a local backup reads 0.3 MB of it;
// `snapshots` 0.27 MB). The chunks sit beside main.js, so import.meta.url still finds the worker
// scripts and package.json. Measured (CPU, medians of 5-8 interleaved, 2 busy cores):
// `rempart --version` 0.41 -> 0.23 s, `backup --help` 0.45 -> 0.25 s.
for (const options of [
  { entryPoints: ["dist/cli/main.js"], splitting: true, chunkNames: "chunk-[hash]" },
  // A worker thread loads one file of its own code, as before the split: shared chunks would
  // make each worker read and compile two to three times as much (and up to 13 files).
  {
    entryPoints: [
      "dist/backup/blob-worker.js",
      "dist/backup/scan-worker.js",
      "dist/restore/restore-worker.js",
    ],
  },
]) {
  const { metafile } = await build({ ...bundled, ...options });
  outputs.push(...Object.keys(metafile.outputs));
}

// esbuild escapes every non-ASCII character of code and literals, but keeps comments as written;
// one such character makes V8 hold the whole file as two-byte source (+2.3 MB of heap for
// dist/main.js in every command, enough to push the server over V8's first full-collection
// threshold). Escaping it inside a comment changes nothing else.
for (const path of outputs) {
  const text = readFileSync(path, "utf8");
  const ascii = text.replace(/[^\0-\x7f]/gu, (c) => `\\u{${c.codePointAt(0).toString(16)}}`);
  if (ascii !== text) writeFileSync(path, ascii);
}
