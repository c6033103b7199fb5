// The CLI runs the CommonJS bundle through src/cli/bundle-loader.ts with V8 code caches made at build time
// (scripts/code-cache.mjs). These check that the caches are taken in a fresh node, that the bundle behaves as the
// unbundled ES modules do, and that a cache V8 rejects costs nothing but speed.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..', '..');
const BUNDLE = join(ROOT, 'dist', 'bundle');
const LOADER = join(ROOT, 'dist', 'cli', 'bundle-loader.js');
const SAMPLE = join(ROOT, 'fixtures', 'sample', 'demo.pcapng');

/** `body` as an ES module in a fresh node, with `io` collecting stdout; it prints one JSON result, returned parsed. */
function inFreshNode<T>(imports: string, body: string): T {
  const script = `${imports}
    let out = '';
    const io = { stdout: (t) => { out += t; }, stdoutBytes: (b) => { out += Buffer.from(b).toString('utf8'); }, stderr: () => {}, isTTY: false, color: false };
    ${body}`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as T;
}

/** Load `dir` with the loader, run `argv`: stdout's bytes and each loaded chunk's cache state. */
function runLoaded(dir: string, argv: string[]) {
  return inFreshNode<{ code: number; out: string; chunks: [string, string][] }>(
    `import { loadBundle } from ${JSON.stringify(LOADER)};`,
    `const bundle = loadBundle(${JSON.stringify(dir)});
    const code = await bundle.exports.main(${JSON.stringify(argv)}, io);
    const chunks = bundle.chunks.map((c) => [c.file.slice(${JSON.stringify(dir)}.length + 1), c.cache]);
    process.stdout.write(JSON.stringify({ code, out, chunks }));`,
  );
}

/** The same command through the unbundled tsc output (ES modules, no cache). */
function runUnbundled(argv: string[]) {
  return inFreshNode<{ code: number; out: string }>(
    `import { main } from ${JSON.stringify(join(ROOT, 'dist', 'cli', 'main.js'))};`,
    `const code = await main(${JSON.stringify(argv)}, io);
    process.stdout.write(JSON.stringify({ code, out }));`,
  );
}

const temps: string[] = [];
afterAll(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('bundle loader and code cache', () => {
  it('every chunk `decode` loads has a cache, and a fresh node takes each one', () => {
    const r = runLoaded(BUNDLE, ['decode', SAMPLE, '--quiet']);
    expect(r.code).toBe(0);
    expect(r.chunks.map(([f]) => f)).toContain('main.cjs');
    expect(r.chunks.length).toBeGreaterThan(3);
    for (const [file, cache] of r.chunks) expect(`${file} ${cache}`).toBe(`${file} accepted`);
  });

  it('a cache made before a chunk loads late is still taken after the capture reader changed V8 flags', () => {
    // scan loads detection and report chunks after reading the capture; they are compiled up front, so taken.
    const r = runLoaded(BUNDLE, ['scan', SAMPLE, '--format', 'json', '--fail-on', 'none', '--quiet']);
    expect(r.code).toBe(0);
    expect(r.chunks.filter(([, c]) => c !== 'accepted')).toEqual([]);
  });

  it.each([
    ['decode', ['decode', SAMPLE, '--quiet']],
    ['scan', ['scan', SAMPLE, '--format', 'json', '--fail-on', 'none', '--quiet']],
  ])('the bundle gives what the unbundled modules give (%s)', (_name, argv) => {
    const bundled = runLoaded(BUNDLE, argv);
    const plain = runUnbundled(argv);
    expect(bundled.out.length).toBeGreaterThan(1000);
    // The scan report carries its run time; everything else must be byte for byte the same.
    const strip = (s: string) => s.replace(/"(durationMs|generatedAt|startedAt|finishedAt)":[^,}]*/g, '"$1":0');
    expect(strip(bundled.out)).toBe(strip(plain.out));
    expect(bundled.code).toBe(plain.code);
  });

  it('a cache V8 rejects (here: garbage) or a missing one: the chunk compiles as usual, same output', () => {
    const root = mkdtempSync(join(tmpdir(), 'st-bundle-'));
    temps.push(root);
    const dir = join(root, 'dist', 'bundle');
    cpSync(BUNDLE, dir, { recursive: true });
    cpSync(join(ROOT, 'package.json'), join(root, 'package.json')); // the version is read from it
    const caches = readdirSync(dir).filter((f) => f.endsWith('.cjs.cache'));
    writeFileSync(join(dir, 'main.cjs.cache'), Buffer.alloc(4096, 0x5a));
    const decodeCache = caches.find((f) => f.startsWith('decode-'))!;
    rmSync(join(dir, decodeCache));
    const r = runLoaded(dir, ['decode', SAMPLE, '--quiet']);
    const states = Object.fromEntries(r.chunks);
    expect(states['main.cjs']).toBe('rejected');
    expect(states[decodeCache.replace(/\.cache$/, '')]).toBe('missing');
    expect(r.out).toBe(runLoaded(BUNDLE, ['decode', SAMPLE, '--quiet']).out);
  });

  it('string-width\'s RGI_Emoji expression (10 ms to compile) is made on first use, and still tells emoji', () => {
    const main = readFileSync(join(BUNDLE, 'main.cjs'), 'utf8');
    expect(main).not.toContain('= /^\\p{RGI_Emoji}$/v');
    const lines = main.split('\n');
    const at = lines.findIndex((l) => l.includes('const rgiEmojiRegex = {'));
    expect(lines[at - 1]).toMatch(/^let rgiEmojiRegex_/);
    const rgi = new Function(`${lines[at - 1]}\n${lines[at]}\nreturn rgiEmojiRegex;`)() as { test(s: string): boolean };
    expect(['\u{1F600}', '\u{1F44D}\u{1F3FD}', 'a', '\u00e9', '1'].map((s) => rgi.test(s))).toEqual([true, true, false, false, false]);
  });

  it('yargs guesses no version: it would list the working directory and every one above it on each run', () => {
    const main = readFileSync(join(BUNDLE, 'main.cjs'), 'utf8');
    const factory = main.slice(main.indexOf('function YargsFactory('), main.indexOf('function YargsFactory(') + 600);
    expect(factory).toContain('yargs.help();');
    expect(factory).not.toContain('yargs.version()');
    // shadowtap's own --version (test/cli/cli.test.ts checks its output).
    expect(readFileSync(join(ROOT, 'src', 'cli', 'main.ts'), 'utf8')).toContain('.version(VERSION)');
  });

  it('yargs\' help layout makes its Intl.Segmenter (6.5 ms of ICU) only when help is printed', () => {
    const script = `
      import { loadBundle } from ${JSON.stringify(LOADER)};
      const Native = Intl.Segmenter;
      let made = 0;
      Intl.Segmenter = class extends Native { constructor(...a) { super(...a); made++; } };
      const { main } = loadBundle(${JSON.stringify(BUNDLE)}).exports;
      const io = { stdout: () => {}, stderr: () => {}, isTTY: false, color: false };
      await main(['decode', ${JSON.stringify(SAMPLE)}, '--quiet', '--kind', 'none'], io);
      const afterDecode = made;
      await main(['--help'], io);
      process.stderr.write(JSON.stringify({ afterDecode, afterHelp: made }));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    const { afterDecode, afterHelp } = JSON.parse(r.stderr);
    const help = r.stdout + JSON.stringify(r.stderr);
    expect(afterDecode).toBe(0);
    expect(afterHelp).toBeGreaterThan(0);
    expect(help).toContain('Commands:');
  });
});
