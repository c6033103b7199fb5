#!/usr/bin/env node
// dist/bundle/ is tsc's dist/ bundled by scripts/bundle.mjs (`npm run build` makes both).
import { main } from '../dist/bundle/main.js';

process.exitCode = await main(process.argv.slice(2));
