// Bundles TypeBox into one module, dist/vendor/typebox.js, imported as `#typebox` (package.json
// "imports"). TypeBox ships ~700 small ES modules: Node's loader opens them all at once, so the CLI
// failed to start under `ulimit -n 128` and spent most of a second loading them on every command.
// One bundled file starts 4-6x faster and needs one descriptor. The types stay TypeBox's own
// (src/vendor/typebox.d.ts).
import { build } from "esbuild";

await build({
  stdin: {
    contents: [
      'export * from "typebox";',
      'export { default } from "typebox";',
      'export * from "typebox/compile";',
    ].join("\n"),
    resolveDir: process.cwd(),
    sourcefile: "typebox-entry.js",
  },
  bundle: true,
  format: "esm",
  platform: "node",
  target: "node20",
  outfile: "dist/vendor/typebox.js",
  logLevel: "warning",
});
