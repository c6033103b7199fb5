// Loads signature packs: the built-in `signatures/` directory plus user directories (`--signatures DIR`).
// A pack is checked against signatures/schema.json (ajv, allErrors), then compiled; every problem is
// reported as "file: /json/path: what is wrong", and any problem fails the whole load.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ErrorObject } from 'ajv';
import { validatePack } from '../../generated/pack-validator.js';
import { PACKAGE_ROOT } from '../../version.js';
import { compileSignature, type CompileError } from './compile.js';
import type { CompiledSignature, PackInfo, PackSpec, SignatureSet } from './types.js';

export { PACKAGE_ROOT };
export const BUILTIN_SIGNATURES_DIR = join(PACKAGE_ROOT, 'signatures');

export class SignatureLoadError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid signatures:\n${problems.join('\n')}`);
    this.name = 'SignatureLoadError';
  }
}

function describeAjvError(e: ErrorObject): string {
  const path = e.instancePath || '/';
  if (e.keyword === 'additionalProperties') {
    const name = String((e.params as { additionalProperty?: string }).additionalProperty);
    return `${path}: unknown property "${name}"`;
  }
  if (e.keyword === 'enum') {
    return `${path}: ${e.message} (${((e.params as { allowedValues?: unknown[] }).allowedValues ?? []).join(', ')})`;
  }
  return `${path}: ${e.message ?? e.keyword}`;
}

export interface PackSource {
  file: string;
  /** Raw text of the file. */
  text: string;
}

export interface LoadOptions {
  /** Include the built-in pack directory (default true). */
  builtin?: boolean;
}

/** Compile already-read packs. Throws SignatureLoadError listing every problem. */
export function compilePacks(sources: PackSource[]): SignatureSet {
  const problems: string[] = [];
  const signatures: CompiledSignature[] = [];
  const packs: PackInfo[] = [];
  const ids = new Map<string, string>();
  const validate = validatePack; // ajv standalone code for signatures/schema.json (npm run gen:validators)
  for (const { file, text } of sources) {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      problems.push(`${file}: /: invalid JSON: ${(e as Error).message}`);
      continue;
    }
    if (!validate(json)) {
      // ajv reports oneOf branches separately; keep each distinct line once.
      const lines = new Set((validate.errors ?? []).map((e) => `${file}: ${describeAjvError(e)}`));
      problems.push(...lines);
      continue;
    }
    const pack = json as PackSpec;
    let count = 0;
    pack.signatures.forEach((spec, i) => {
      const base = `/signatures/${i}`;
      const errors: CompileError[] = [];
      const prev = ids.get(spec.id);
      if (prev !== undefined) errors.push({ path: `${base}/id`, message: `duplicate id "${spec.id}" (first in ${prev})` });
      else ids.set(spec.id, file);
      const sig = compileSignature(spec, file, base, errors);
      for (const e of errors) problems.push(`${file}: ${e.path}: ${e.message}`);
      if (sig && errors.length === 0) {
        signatures.push(sig);
        count++;
      }
    });
    packs.push({ file, pack: pack.pack, description: pack.description, count });
  }
  if (problems.length > 0) throw new SignatureLoadError(problems);
  return { signatures, packs };
}

async function packFiles(dirOrFile: string): Promise<string[]> {
  const s = await stat(dirOrFile);
  if (s.isFile()) return [dirOrFile];
  const names = (await readdir(dirOrFile)).filter((n) => n.endsWith('.json') && !n.endsWith('schema.json')).sort();
  return names.map((n) => join(dirOrFile, n));
}

/** Load the built-in packs plus every `*.json` in `dirs` (a path may also name one pack file). */
export async function loadSignatures(dirs: string[] = [], options: LoadOptions = {}): Promise<SignatureSet> {
  // The same directory named twice (e.g. `--signatures signatures/`) is read once, not reported as duplicate ids.
  const roots = [...new Set([...(options.builtin === false ? [] : [BUILTIN_SIGNATURES_DIR]), ...dirs].map((d) => resolve(d)))];
  const sources: PackSource[] = [];
  const problems: string[] = [];
  for (const root of roots) {
    let files: string[];
    try {
      files = await packFiles(root);
    } catch (e) {
      problems.push(`${root}: /: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      continue;
    }
    for (const file of files) {
      try {
        sources.push({ file, text: await readFile(file, 'utf8') });
      } catch (e) {
        problems.push(`${file}: /: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
    }
  }
  if (problems.length > 0) throw new SignatureLoadError(problems);
  return compilePacks(sources);
}
