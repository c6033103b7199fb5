// `npm run build`, second step: bundle tsc's dist/ into dist/bundle/, the chunks bin/shadowtap.js runs, and make
// their V8 code caches (scripts/code-cache.mjs).
// One file per lazily loaded command instead of ~150 modules to resolve and read: start-up of a command drops by
// about a third (measured in README "Performance"). Native modules stay external.
import { rolldown } from 'rolldown';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';

const ROOT = new URL('..', import.meta.url).pathname;
const OUT = `${ROOT}dist/bundle`;
// Dependencies are bundled too (bundling only our modules saved a tenth as much); native addons cannot be.
const external = ['better-sqlite3', 'cap'];

/**
 * Start-up work in dependencies that shadowtap never needs, left out when bundling: yargs' help layout (cliui,
 * wrap-ansi) measures text with string-width, whose copies make an Intl.Segmenter (6.5 ms of ICU set-up) and compile
 * an RGI_Emoji regular expression (10 ms) when loaded, for help text most runs never print: made on first use.
 * And yargs guesses the program's version by listing the working directory and each one above it for a
 * package.json (5 ms in /tmp, more in a big capture directory) before shadowtap sets its own: not guessed. If a
 * dependency is written differently one day, the build says so and bundles it as it is.
 */
function startupPatches() {
  // [file, what it writes, what it becomes, a piece that says the first is still meant]
  const patches = [
    [/[\\/]string-width[\\/]index\.js$/, 'const segmenter = new Intl.Segmenter();',
      'let segmenter_; const segmenter = { segment: (s) => (segmenter_ ??= new Intl.Segmenter()).segment(s) };', 'new Intl.Segmenter('],
    [/[\\/]string-width[\\/]index\.js$/, 'const rgiEmojiRegex = /^\\p{RGI_Emoji}$/v;',
      "let rgiEmojiRegex_; const rgiEmojiRegex = { test: (s) => (rgiEmojiRegex_ ??= new RegExp('^\\\\p{RGI_Emoji}$', 'v')).test(s) };", 'RGI_Emoji}$/v'],
    [/[\\/]yargs[\\/]build[\\/]lib[\\/]yargs-factory\.js$/, '        yargs.version();\n',
      '        // shadowtap sets its own version (src/cli/main.ts): no package.json search from the working directory\n', 'yargs.version()'],
  ];
  return {
    name: 'startup-patches',
    transform(code, id) {
      let out = code;
      for (const [file, eager, made, marker] of patches) {
        if (!file.test(id)) continue;
        if (out.includes(eager)) out = out.replace(eager, () => made);
        else if (out.includes(marker)) this.warn(`${id}: no \`${eager.trim()}\` to leave out (the dependency changed?)`);
      }
      return out === code ? null : out;
    },
  };
}

rmSync(OUT, { recursive: true, force: true });
// CommonJS, so that src/cli/bundle-loader.ts can compile each chunk with a V8 code cache (Node 20 has none for ES
// modules). `import.meta.url` becomes the loader's __moduleUrl; the rest of import.meta (yargs' `extends` of a
// config module, which shadowtap does not offer) an empty object.
const bundle = await rolldown({
  input: `${ROOT}dist/cli/main.js`, platform: 'node', external, logLevel: 'warn',
  transform: { define: { 'import.meta.url': '__moduleUrl', 'import.meta': '{}' } },
  plugins: [startupPatches()],
});
await bundle.write({ dir: OUT, format: 'cjs', entryFileNames: '[name].cjs', chunkFileNames: '[name]-[hash].cjs' });
await bundle.close();
// The bin's own CommonJS file: the loader and the thread priorities (src/cli/boot.ts), node builtins only.
const boot = await rolldown({ input: `${ROOT}dist/cli/boot.js`, platform: 'node', logLevel: 'warn' });
await boot.write({ file: `${OUT}/boot.cjs`, format: 'cjs' });
await boot.close();
// In a node of its own: the training runs must start from node's V8 flags, as the CLI does.
execFileSync(process.execPath, [`${ROOT}scripts/code-cache.mjs`], { stdio: 'inherit' });
