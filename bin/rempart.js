#!/usr/bin/env node
// The package bin: the compiled CLI lives in dist/ (built by `npm ci` through the prepare script).
import { main } from "../dist/main.js";

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
