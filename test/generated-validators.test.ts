// src/generated/*-validator.ts are ajv's standalone code for the schemas (scripts/gen-validators.mjs): a schema
// changed without running the script would leave the old validation in force. This fails then; and the generated
// validators must reject what ajv compiled from the schema rejects (a sample of each).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { validateApproved } from '../src/generated/approved-validator.js';
import { validateConfig } from '../src/generated/config-validator.js';
import { validatePack } from '../src/generated/pack-validator.js';

const ROOT = join(import.meta.dirname, '..');
const require = createRequire(import.meta.url);

describe('generated schema validators', () => {
  it('are what scripts/gen-validators.mjs writes from the schemas now', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'scripts/gen-validators.mjs'), '--check'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('give the errors ajv gives when it compiles the schema at run time', () => {
    const Ajv = require('ajv').default;
    const addFormats = require('ajv-formats').default;
    const schema = (f: string) => JSON.parse(readFileSync(join(ROOT, f), 'utf8'));
    const runtime = (f: string, formats = false) => {
      const ajv = new Ajv({ allErrors: true, strict: false });
      if (formats) addFormats(ajv);
      return ajv.compile(schema(f));
    };
    const pack = JSON.parse(readFileSync(join(ROOT, 'signatures/mcp-http.json'), 'utf8'));
    const cases: Array<[string, (d: unknown) => boolean, { errors?: unknown }, ReturnType<typeof runtime>, unknown[]]> = [
      ['pack', validatePack, validatePack, runtime('signatures/schema.json'), [
        pack, { pack: 'X' }, { ...pack, extra: 1 }, { pack: 'p', signatures: [{ id: 'a', title: '' }] }, [], null,
      ]],
      ['approved', validateApproved, validateApproved, runtime('signatures/approved.schema.json', true), [
        { servers: [{ ip: '10.0.0.1', port: 443 }], domains: ['mcp.example.com'] }, { servers: [{ ip: 'not-an-ip', port: 70000 }] },
        { domains: ['-bad-'] }, { unknown: true },
      ]],
      ['config', validateConfig, validateConfig, runtime('src/cli/config.schema.json'), [
        {}, { output: 'json', failOn: 'high' }, { output: 'yaml' }, { alerts: { toolCallBurst: { maxCalls: 0 } } }, { nope: 1 },
      ]],
    ];
    let rejected = 0;
    for (const [name, generated, holder, compiled, samples] of cases) {
      for (const sample of samples) {
        const ok = generated(sample);
        expect(ok, `${name} ${JSON.stringify(sample)}`).toBe(compiled(sample));
        expect(holder.errors ?? null, `${name} ${JSON.stringify(sample)}`).toEqual(compiled.errors ?? null);
        if (!ok) rejected++;
      }
    }
    expect(rejected).toBeGreaterThanOrEqual(9);
  });
});
