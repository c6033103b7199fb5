// `npm run build`, last step (run by scripts/bundle.mjs in a fresh node): make the V8 code caches that
// src/cli/bundle-loader.ts hands to V8 with each chunk of dist/bundle/. A cache holds the bytecode of every function
// compiled when it is made, so it is made after running what users run most: `decode` and `scan` of the bundled
// sample capture, `scan` of a log, and the scheduled `import` into a store. Then the same runs in another fresh node
// say which caches V8 took.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { loadBundle } from '../dist/cli/bundle-loader.js';

const ROOT = new URL('..', import.meta.url).pathname;
const DIR = `${ROOT}dist/bundle`;

/** The runs, with `store` a throw-away inventory for import. */
const runs = (store) => [
  ['decode', `${ROOT}fixtures/sample/demo.pcapng`, '--quiet'],
  ['scan', `${ROOT}fixtures/sample/demo.pcapng`, '--format', 'json', '--quiet', '--fail-on', 'none'],
  ['scan', `${ROOT}fixtures/logs/suricata/eve.json`, '--format', 'json', '--quiet', '--fail-on', 'none'],
  ['import', `${ROOT}fixtures/logs/suricata/eve.json`, '--db', store, '--quiet', '--fail-on', 'none'],
  ['inventory', 'list', '--db', store],
  ['signatures', 'list'],
];

/** Load the bundle and do the runs; returns the chunks loaded. */
async function train(useCache) {
  const bundle = loadBundle(DIR, { useCache });
  const quiet = { stdout() {}, stdoutBytes() {}, stderr() {}, isTTY: false, color: false };
  const dir = mkdtempSync(join(tmpdir(), 'shadowtap-code-cache-'));
  try {
    for (const argv of runs(join(dir, 'inventory.db'))) {
      const code = await bundle.exports.main(argv, quiet);
      if (code !== 0) throw new Error(`code cache training: shadowtap ${argv.join(' ')} exited ${code}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return bundle.chunks;
}

if (process.argv[2] === '--check') {
  for (const c of await train(true)) process.stdout.write(`${c.cache} ${c.file.slice(DIR.length + 1)}\n`);
  process.exit(0);
}

const chunks = await train(false);
// V8 keeps a cache only for the V8 flags it was made under. The capture reader caps the young generation with two
// run-time flags (src/sources/capture-file.ts): put them back to node's defaults before the caches are made.
const defaults = execFileSync(process.execPath, ['--v8-options'], { encoding: 'utf8' });
for (const flag of ['semi-space-growth-factor', 'heap-growing-percent']) {
  const m = new RegExp(`default: --${flag}=(\\S+)`).exec(defaults);
  if (!m) throw new Error(`code cache training: no default for --${flag} in node --v8-options`);
  setFlagsFromString(`--${flag}=${m[1]}`);
}
for (const c of chunks) writeFileSync(`${c.file}.cache`, c.script.createCachedData());

// A chunk loaded after the capture reader changed the flags finds its cache rejected in that run: said, not an error.
const report = execFileSync(process.execPath, [new URL(import.meta.url).pathname, '--check'], { encoding: 'utf8' }).trim().split('\n');
const taken = report.filter((l) => l.startsWith('accepted ')).length;
const rejected = report.filter((l) => l.startsWith('rejected ')).map((l) => l.slice(9));
process.stdout.write(`code cache: ${taken} of ${report.length} chunks taken by V8 in a fresh run${rejected.length ? `; rejected: ${rejected.join(', ')}` : ''}\n`);
