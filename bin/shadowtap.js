#!/usr/bin/env node
// dist/bundle/ is tsc's dist/ bundled by scripts/bundle.mjs (`npm run build` makes both), run with its V8 code caches.
import { lowerHelperThreadPriority } from '../dist/cli/helper-threads.js';
import { loadBundle } from '../dist/cli/bundle-loader.js';

lowerHelperThreadPriority();
const { main } = loadBundle(new URL('../dist/bundle/', import.meta.url).pathname).exports;
process.exitCode = await main(process.argv.slice(2));
