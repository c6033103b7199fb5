// Runs the CLI bundle (dist/bundle/*.cjs, made by scripts/bundle.mjs) with the V8 code caches made at build time
// (*.cjs.cache, scripts/code-cache.mjs). Node 20 caches no compiled code for ES modules (Node 22's
// module.enableCompileCache does), so every run parsed and compiled yargs and the capture pipeline again, and
// compiled every function it called on the way. A chunk compiled from its cache skips both: `decode` of the 1 GB
// bench capture 35–45 ms faster, start-up 10–30 ms (README "Performance"). A cache V8 rejects (another node, other
// V8 flags) costs nothing but the read: the chunk compiles as it would without one. Every chunk with a cache is
// compiled (not run) up front, while V8's flags are still node's: the capture reader changes two at run time
// (src/sources/capture-file.ts), and V8 rejects a cache made under other flags. That costs ~7 ms for all of them
// (34), about 3 more than the chunks `decode` needs.
// Imports only node builtins: it cannot be part of the bundle it loads.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Script } from 'node:vm';

/** One chunk as it was loaded. */
export interface LoadedChunk {
  readonly file: string;
  readonly script: Script;
  /** What became of the chunk's code cache. */
  readonly cache: 'accepted' | 'rejected' | 'missing';
}

export interface LoadedBundle {
  /** The entry chunk's exports (main.cjs: `main`, `defaultIO`). */
  readonly exports: Record<string, unknown>;
  /** Every chunk loaded so far, in load order (commands load theirs when they run). */
  readonly chunks: LoadedChunk[];
}

// The bundle is ES module code made CommonJS: strict, and `import.meta.url` (scripts/bundle.mjs defines it as
// __moduleUrl) passed in. On one line, so line numbers in stack traces stay the file's.
const HEAD = '(function (exports, require, module, __filename, __dirname, __moduleUrl) {"use strict";';
const TAIL = '\n})';

type ChunkFunction = (exports: object, require: (id: string) => unknown, module: object, file: string, dir: string, url: string) => void;

/** Load `dir`/main.cjs; `./` requires between chunks go through the same loader, others to node's require. */
export function loadBundle(dir: string, options: { useCache?: boolean } = {}): LoadedBundle {
  const useCache = options.useCache ?? true;
  const external = createRequire(join(dir, 'main.cjs'));
  const compiled = new Map<string, LoadedChunk>();
  const modules = new Map<string, { exports: Record<string, unknown> }>();
  const chunks: LoadedChunk[] = [];

  const compile = (file: string, cachedData: Buffer | undefined): LoadedChunk => {
    const script = new Script(HEAD + readFileSync(file, 'utf8') + TAIL, { filename: file, cachedData });
    const chunk: LoadedChunk = { file, script, cache: cachedData === undefined ? 'missing' : script.cachedDataRejected ? 'rejected' : 'accepted' };
    compiled.set(file, chunk);
    return chunk;
  };
  if (useCache) {
    for (const name of readdirSync(dir)) {
      if (name.endsWith('.cjs.cache')) compile(join(dir, name.slice(0, -'.cache'.length)), readFileSync(join(dir, name)));
    }
  }

  const load = (id: string): unknown => {
    if (!id.startsWith('./')) return external(id);
    const file = join(dir, id);
    let mod = modules.get(file);
    if (mod !== undefined) return mod.exports; // a cycle, or a chunk two others share
    mod = { exports: {} };
    modules.set(file, mod);
    const chunk = compiled.get(file) ?? compile(file, undefined); // no cache: a chunk no training run loads
    chunks.push(chunk);
    (chunk.script.runInThisContext() as ChunkFunction)(mod.exports, load, mod, file, dir, pathToFileURL(file).href);
    return mod.exports;
  };

  return { exports: load('./main.cjs') as Record<string, unknown>, chunks };
}
