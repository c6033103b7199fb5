import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUILTIN_SIGNATURES_DIR, compilePacks, loadSignatures, SignatureLoadError } from './load.js';
import { testSignatures } from './tester.js';

function sig(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 'x.test',
    version: 1,
    title: 'test',
    description: 'test signature',
    references: [],
    confidence: 'high',
    severity: 'high',
    tags: ['t'],
    role: 'primary',
    match: { field: 'jsonrpc.method', equals: 'tools/call' },
    cases: { match: [{ 'jsonrpc.method': 'tools/call' }], nomatch: [{ 'jsonrpc.method': 'x' }] },
    ...over,
  };
}

function problems(packs: Array<{ file?: string; signatures: unknown[]; extra?: Record<string, unknown> }>): string[] {
  try {
    compilePacks(packs.map((p, i) => ({ file: p.file ?? `p${i}.json`, text: JSON.stringify({ pack: `p${i}`, signatures: p.signatures, ...p.extra }) })));
  } catch (e) {
    expect(e).toBeInstanceOf(SignatureLoadError);
    return (e as SignatureLoadError).problems;
  }
  return [];
}

describe('signature loader', () => {
  it('accepts a valid pack and compiles it', () => {
    const set = compilePacks([{ file: 'a.json', text: JSON.stringify({ pack: 'a', signatures: [sig()] }) }]);
    expect(set.signatures.map((s) => s.id)).toEqual(['x.test']);
    expect(set.signatures[0].kinds).toEqual(['jsonrpc']);
    expect(set.packs).toEqual([{ file: 'a.json', pack: 'a', description: undefined, count: 1 }]);
  });

  it('rejects an unknown field with file and JSON path', () => {
    const p = problems([{ file: 'bad.json', signatures: [sig({ match: { all: [{ field: 'jsonrpc.method', equals: 'a' }, { field: 'http.request.bogus', exists: true }] } })] }]);
    expect(p).toEqual(['bad.json: /signatures/0/match/all/1/field: unknown field "http.request.bogus"']);
  });

  it('rejects unknown operators and unknown properties (schema, allErrors)', () => {
    const p = problems([{ file: 'op.json', signatures: [sig({ match: { field: 'jsonrpc.method', startsWith: 'tools/' } }), sig({ id: 'x.two', colour: 'red' })] }]);
    expect(p).toContain('op.json: /signatures/0/match: unknown property "startsWith"');
    expect(p).toContain('op.json: /signatures/1: unknown property "colour"');
  });

  it('rejects an invalid regex at load', () => {
    const p = problems([{ signatures: [sig({ match: { field: 'http.request.path', regex: '(unclosed' } })] }]);
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(/^p0\.json: \/signatures\/0\/match\/regex: invalid regex/);
  });

  it('rejects duplicate ids, across packs too', () => {
    const p = problems([{ file: 'one.json', signatures: [sig()] }, { file: 'two.json', signatures: [sig()] }]);
    expect(p).toEqual(['two.json: /signatures/0/id: duplicate id "x.test" (first in one.json)']);
  });

  it('rejects a signature without match or no-match cases', () => {
    const p = problems([{ signatures: [sig({ cases: { match: [{ 'jsonrpc.method': 'tools/call' }], nomatch: [] } })] }]);
    expect(p).toEqual(['p0.json: /signatures/0/cases/nomatch: must NOT have fewer than 1 items']);
    const q = problems([{ signatures: [sig({ cases: { nomatch: [{}] } })] }]);
    expect(q).toEqual(["p0.json: /signatures/0/cases: must have required property 'match'"]);
  });

  it('rejects a leaf with two operators and a bad enum value', () => {
    const p = problems([{ signatures: [sig({ confidence: 'certain', match: { field: 'jsonrpc.method', equals: 'a', prefix: 'b' } })] }]);
    expect(p.some((l) => l.startsWith('p0.json: /signatures/0/confidence: must be equal to one of the allowed values'))).toBe(true);
    const q = problems([{ signatures: [sig({ match: { field: 'jsonrpc.method', equals: 'a', prefix: 'b' } })] }]);
    expect(q).toEqual(['p0.json: /signatures/0/match: a leaf needs exactly one operator (equals, in, prefix, suffix, contains, domain, regex, exists, lt, le, gt, ge), found 2']);
    const r = problems([{ signatures: [sig({ match: { field: 'jsonrpc.method', all: [{ field: 'jsonrpc.method', equals: 'a' }] } })] }]);
    expect(r).toEqual(['p0.json: /signatures/0/match: condition must have exactly one of all, any, not or field']);
  });

  it('rejects invalid JSON with the file name', () => {
    expect(() => compilePacks([{ file: 'j.json', text: '{"pack":' }])).toThrow(/j\.json: \/: invalid JSON/);
  });

  it('the tester reports a case that does not behave as written', () => {
    const set = compilePacks([{ file: 'a.json', text: JSON.stringify({ pack: 'a', signatures: [sig({ cases: { match: [{ 'jsonrpc.method': 'tools/list' }], nomatch: [{ 'jsonrpc.method': 'tools/call' }] } })] }) }]);
    const [r] = testSignatures(set);
    expect(r.passed).toBe(false);
    expect(r.failures).toHaveLength(2);
    expect(r.failures[0]).toMatch(/^match case 0 did not match/);
    expect(r.failures[1]).toMatch(/^no-match case 0 matched/);
  });

  it('operators: domain, numeric compare, in with numbers, nocase, list fields', () => {
    const specs = [
      sig({ id: 'd', match: { field: 'dns.query.name', domain: 'example.com' }, cases: { match: [{ 'dns.query.name': 'A.Example.com' }, { 'dns.query.name': 'example.com.' }], nomatch: [{ 'dns.query.name': 'badexample.com' }] } }),
      sig({ id: 'n', match: { field: 'http.response.status', ge: 400 }, cases: { match: [{ 'http.response.status': 404 }], nomatch: [{ 'http.response.status': 399 }] } }),
      sig({ id: 'p', match: { field: 'conn.dst_port', in: [6274, 8811] }, cases: { match: [{ 'conn.dst_port': 8811 }, { 'conn.dst_port': '6274' }], nomatch: [{ 'conn.dst_port': 443 }] } }),
      sig({ id: 'c', match: { field: 'http.request.header.accept', contains: 'TEXT/EVENT-STREAM', nocase: true }, cases: { match: [{ 'http.request.header.accept': 'text/event-stream' }], nomatch: [{ 'http.request.header.accept': 'text/html' }] } }),
      sig({ id: 'l', match: { field: 'tls.alpn', equals: 'h2' }, cases: { match: [{ 'tls.alpn': ['http/1.1', 'h2'] }], nomatch: [{ 'tls.alpn': ['http/1.1'] }] } }),
      sig({ id: 'e', match: { all: [{ field: 'jsonrpc.method', equals: 'initialize' }, { not: { field: 'jsonrpc.params.processId', exists: true } }] }, cases: { match: [{ 'jsonrpc.method': 'initialize', 'jsonrpc.params': {} }], nomatch: [{ 'jsonrpc.method': 'initialize', 'jsonrpc.params': { processId: null } }] } }),
    ];
    const set = compilePacks([{ file: 'ops.json', text: JSON.stringify({ pack: 'ops', signatures: specs }) }]);
    for (const r of testSignatures(set)) expect(r.failures, r.id).toEqual([]);
  });

  it('loads user directories on top of the built-in packs, and reports unreadable ones', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sigs-'));
    writeFileSync(join(dir, 'mine.json'), JSON.stringify({ pack: 'mine', signatures: [sig({ id: 'user.one' })] }));
    const set = await loadSignatures([dir]);
    expect(set.signatures.some((s) => s.id === 'user.one')).toBe(true);
    expect(set.signatures.some((s) => s.id === 'mcp.jsonrpc.method')).toBe(true);
    const again = await loadSignatures([BUILTIN_SIGNATURES_DIR, dir, `${dir}/`]);
    expect(again.signatures.length).toBe(set.signatures.length);
    const only = await loadSignatures([dir], { builtin: false });
    expect(only.signatures.map((s) => s.id)).toEqual(['user.one']);
    await expect(loadSignatures([join(dir, 'missing')], { builtin: false })).rejects.toThrow(/missing: \/: cannot read: ENOENT/);
  });
});
