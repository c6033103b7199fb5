import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CliIO } from '../io.js';
import { runSignatures } from './signatures.js';

function io(): CliIO & { out: string; err: string } {
  const o = { out: '', err: '', isTTY: false, color: false } as CliIO & { out: string; err: string };
  o.stdout = (t: string) => { o.out += t; };
  o.stderr = (t: string) => { o.err += t; };
  return o;
}

function userDir(sig: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'cli-sigs-'));
  writeFileSync(join(dir, 'user.json'), JSON.stringify({ pack: 'user', signatures: [sig] }));
  return dir;
}

const base = {
  id: 'user.sig', version: 1, title: 'u', description: 'u', references: [], confidence: 'low', severity: 'low', tags: [], role: 'supporting',
  match: { field: 'tls.sni', equals: 'a.example' },
  cases: { match: [{ 'tls.sni': 'a.example' }], nomatch: [{ 'tls.sni': 'b.example' }] },
};

describe('shadowtap signatures', () => {
  it('list prints every built-in signature (json)', async () => {
    const x = io();
    expect(await runSignatures('list', { format: 'json' }, x)).toBe(0);
    const list = JSON.parse(x.out) as Array<{ id: string; role: string; kinds: string[] }>;
    expect(list.find((s) => s.id === 'mcp.port.generic')).toMatchObject({ role: 'supporting', kinds: ['conn'] });
    expect(list.map((s) => s.id)).toEqual([...list.map((s) => s.id)].sort());
  });

  it('list table has a header and one row per signature', async () => {
    const x = io();
    await runSignatures('list', { signatures: [userDir(base)] }, x);
    const lines = x.out.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+ROLE\s+CONFIDENCE/);
    expect(lines.some((l) => l.startsWith('user.sig '))).toBe(true);
  });

  it('validate exits 2 with file: path: problem lines on a bad pack', async () => {
    const x = io();
    const code = await runSignatures('validate', { signatures: [userDir({ ...base, match: { field: 'tls.nope', equals: 'x' } })] }, x);
    expect(code).toBe(2);
    expect(x.err).toMatch(/user\.json: \/signatures\/0\/match\/field: unknown field "tls\.nope"/);
    const ok = io();
    expect(await runSignatures('validate', {}, ok)).toBe(0);
    expect(ok.out).toMatch(/signatures in \d+ pack\(s\) valid/);
  });

  it('test exits 1 when a signature fails its own cases, 0 when all pass', async () => {
    const x = io();
    const bad = { ...base, cases: { match: [{ 'tls.sni': 'c.example' }], nomatch: [{ 'tls.sni': 'b.example' }] } };
    expect(await runSignatures('test', { signatures: [userDir(bad)] }, x)).toBe(1);
    expect(x.out).toMatch(/FAIL user\.sig/);
    const ok = io();
    expect(await runSignatures('test', { format: 'json' }, ok)).toBe(0);
    expect(JSON.parse(ok.out).failed).toBe(0);
  });
});
