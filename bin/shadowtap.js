#!/usr/bin/env node
// CommonJS (bin/package.json), so that this runs before node starts its thread pool (src/cli/boot.ts says why).
// dist/bundle/ is tsc's dist/ bundled by scripts/bundle.mjs (`npm run build` makes both), run with its V8 code caches.
const { join } = require('node:path');
const { lowerHelperThreadPriority, loadBundle } = require('../dist/bundle/boot.cjs');

lowerHelperThreadPriority();
const { main } = loadBundle(join(__dirname, '..', 'dist', 'bundle')).exports;
main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
