import { describe, expect, it } from 'vitest';
import { buildRuleSet, select, subjectText } from '../../src/rules/model.js';
import { loadFindings, shuffled } from './helpers.js';

const texts = (set: ReturnType<typeof buildRuleSet>, action: 'block' | 'allow', kind: 'name' | 'endpoint' | 'port' | 'http') =>
  select(set, action, kind).map((r) => subjectText(r.subject));

describe('buildRuleSet on the fixture', () => {
  const findings = loadFindings();

  it('default (medium, servers+domains) blocks names and endpoints but no port-wide rules', () => {
    const set = buildRuleSet(findings);
    expect(select(set, 'block', 'port')).toHaveLength(0);
    expect(texts(set, 'block', 'name')).toContain('registry.modelcontextprotocol.io and subdomains');
    expect(texts(set, 'block', 'name')).toContain('mcp-dev.corp.example.com');
    // Low-confidence port-only findings are below the default minimum.
    expect(texts(set, 'block', 'endpoint')).not.toContain('127.0.0.1:6274');
    expect(set.counts.belowConfidence).toBe(3);
  });

  it('IPv6 and IPv4-mapped addresses are canonical', () => {
    const set = buildRuleSet(findings);
    const eps = texts(set, 'block', 'endpoint');
    expect(eps).toContain('[2001:db8:85a3::8a2e:370:7334]:3001');
    expect(eps).toContain('10.30.0.5:8000');
  });

  it('--block ports adds bridge ports, never generic web ports', () => {
    const set = buildRuleSet(findings, { minConfidence: 'low', block: ['ports'] });
    const ports = select(set, 'block', 'port').map((r) => r.subject.portN);
    expect(ports).toEqual(expect.arrayContaining([6274, 8811]));
    for (const p of [443, 3000, 8000, 8080, 8443]) expect(ports).not.toContain(p);
    expect(select(set, 'block', 'name')).toHaveLength(0);
    expect(set.refusals.some((r) => r.field === 'port' && /443/.test(r.reason))).toBe(true);
  });

  it('approved findings become allow rules and are never blocked, even when another finding names them', () => {
    const set = buildRuleSet(findings, { minConfidence: 'low', block: ['all'] });
    expect(texts(set, 'allow', 'name')).toEqual(['mcp-portal.corp.example.com', 'mcp-portal.corp.example.com and subdomains']);
    expect(texts(set, 'block', 'name').some((t) => t.startsWith('mcp-portal.'))).toBe(false);
    expect(set.refusals.some((r) => r.findingId === 'abcdef0123456789' && /approved/.test(r.reason))).toBe(true);
    // The approved endpoint does not exempt its port everywhere.
    expect(select(set, 'allow', 'port')).toHaveLength(0);
    expect(select(set, 'block', 'port').map((r) => r.subject.portN)).toContain(6274);
  });

  it('refuses every hostile value, with a reason, and keeps the valid parts of that finding', () => {
    const set = buildRuleSet(findings, { minConfidence: 'low', block: ['all'] });
    const hostile = set.refusals.filter((r) => r.findingId === 'deadbeefdeadbeef');
    expect(hostile.filter((r) => r.field === 'name').length).toBe(30);
    expect(hostile.map((r) => r.field)).toEqual(expect.arrayContaining(['ip', 'port', 'domain', 'path']));
    for (const r of set.refusals) expect(r.preview).toMatch(/^[\x20-\x7e]*$/);
    expect(set.refusals.some((r) => r.field === 'id')).toBe(true);
    const all = JSON.stringify(set.rules.map((r) => [subjectText(r.subject), r.comment.value]));
    expect(all).not.toMatch(/zzinj/i);
  });

  it('comments name the finding and its evidence from validated tokens only', () => {
    const set = buildRuleSet(findings);
    const r = select(set, 'block', 'endpoint').find((e) => e.subject.ip.value === '10.20.0.15')!;
    expect(r.comment.value).toMatch(/^shadowtap finding a1b2c3d4e5f60718 high streamable-http: /);
    expect(r.comment.value).toContain('mcp.jsonrpc.initialize at office-2025-11-24.pcapng frame 41');
    expect(r.because.map((b) => b.value)).toEqual(['a1b2c3d4e5f60718']);
  });

  it('is deterministic whatever the input order', () => {
    const a = buildRuleSet(findings, { minConfidence: 'low', block: ['all'] });
    for (const seed of [1, 7, 99]) {
      const b = buildRuleSet(shuffled(findings, seed), { minConfidence: 'low', block: ['all'] });
      expect(b.rules.map((r) => [r.action, r.key, r.comment.value, r.because.map((x) => x.value)])).toEqual(
        a.rules.map((r) => [r.action, r.key, r.comment.value, r.because.map((x) => x.value)]),
      );
      expect(b.refusals).toEqual(a.refusals);
      expect(b.serial).toBe(a.serial);
    }
  });

  it('survives junk instead of findings', () => {
    const set = buildRuleSet([null, 1, 'x', [], { id: 'abcd' }, { id: 'abcd', subject: {}, confidence: 'extreme' }]);
    expect(set.rules).toHaveLength(0);
    expect(set.counts.malformed).toBe(6);
  });
});
