// `npm run build`, second step: bundle tsc's dist/ into dist/bundle/, the modules bin/shadowtap.js runs.
// One file per lazily loaded command instead of ~150 modules to resolve and read: start-up of a command drops by
// about a third (measured in README "Performance"). Native modules stay external.
import { rolldown } from 'rolldown';
import { rmSync } from 'node:fs';

const ROOT = new URL('..', import.meta.url).pathname;
const OUT = `${ROOT}dist/bundle`;
// Dependencies are bundled too (bundling only our modules saved a tenth as much); native addons cannot be.
const external = ['better-sqlite3', 'cap'];

rmSync(OUT, { recursive: true, force: true });
const bundle = await rolldown({ input: `${ROOT}dist/cli/main.js`, platform: 'node', external, logLevel: 'warn' });
await bundle.write({ dir: OUT, format: 'esm', entryFileNames: '[name].js', chunkFileNames: '[name]-[hash].js' });
await bundle.close();
