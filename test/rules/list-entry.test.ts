// A registry or hosted-MCP name with junk in front (`zz";drop.mcp.linear.app`) is refused, but the signature-list
// entry it matched under (`mcp.linear.app`, a name from the pack, not from traffic) still becomes a block: a
// prefix of junk must not suppress the block. Findings come from the real detector and signature packs.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Detector } from '../../src/detect/engine.js';
import type { Finding } from '../../src/detect/finding.js';
import type { FieldValue, Observation, ObservationKind } from '../../src/detect/observation.js';
import { compileSignature } from '../../src/detect/signatures/compile.js';
import { loadSignatures } from '../../src/detect/signatures/load.js';
import type { SignatureSet, SignatureSpec } from '../../src/detect/signatures/types.js';
import { buildRuleSet, findTarget, subjectText, TARGETS, type RuleSet } from '../../src/rules/index.js';
import { cloudflareBundleValidator } from '../../src/rules/targets/cloudflare.js';
import { expectValid, tempDir, validatorTest } from './helpers.js';

/** Every hostile value carries `zz`, which must reach no rule. */
const HOSTILE_DNS = 'zz";drop.mcp.linear.app';
const HOSTILE_SNI = "zz'$(id)`;{}.Mcp.Linear.App";
const ALL = { minConfidence: 'low' as const, block: ['all' as const] };

let set: SignatureSet;
beforeAll(async () => {
  set = await loadSignatures();
});

let frame = 0;
function obs(kind: ObservationKind, fields: Record<string, FieldValue>, server: { ip: string; port: number }): Observation {
  frame++;
  return { kind, fields, ts: 1764057600 + frame, source: { kind: 'pcap', file: 't.pcap', frame, format: 'pcap' }, client: { ip: '10.0.0.2', port: 50000 }, server, flowId: frame };
}

function detect(...list: Observation[]): Finding[] {
  const d = new Detector(set);
  for (const o of list) d.add(o);
  return d.findings();
}

const dns = (name: string) => obs('dns', { 'dns.query.name': name, 'dns.query.type': 'A' }, { ip: '10.0.0.53', port: 53 });
const sni = (name: string, ip: string) => obs('tls.client_hello', { 'tls.sni': name }, { ip, port: 443 });

/** The same findings as the detector made them, less the list entry: what rules made before it existed. */
const withoutEntry = (fs: Finding[]): Finding[] => fs.map((f) => ({ ...f, subject: { ...f.subject, listEntry: undefined } }));
const nameRules = (s: RuleSet) => s.rules.filter((r) => r.subject.kind === 'name').map((r) => `${r.action} ${subjectText(r.subject)}`);

describe('the detector records the list entry a name matched under', () => {
  it('hostile leading label: domain keeps the name as seen, listEntry the clean entry', () => {
    const [f] = detect(dns(HOSTILE_DNS));
    expect(f!.subject).toMatchObject({ names: [HOSTILE_DNS], domain: HOSTILE_DNS, listEntry: 'mcp.linear.app' });
    const [t] = detect(sni(HOSTILE_SNI, '198.51.100.9'));
    expect(t!.subject).toMatchObject({ domain: HOSTILE_SNI, listEntry: 'mcp.linear.app' });
  });

  it('a name matched by equals or a pattern, not by a list, has no entry', () => {
    const [f] = detect(obs('http.request', { 'http.request.method': 'POST', 'http.request.host': 'gitlab.com', 'http.request.path': '/api/v4/mcp' }, { ip: '198.51.100.10', port: 443 }));
    expect(f!.signals.map((s) => s.signatureId)).toContain('mcp.name.hosted_path');
    expect(f!.subject.domain).toBe('gitlab.com');
    expect(f!.subject.listEntry).toBeUndefined();
  });

  it('the longest entry wins, and an entry under `not` is none', () => {
    const spec = {
      id: 't.list', version: 1, title: 't', description: 't', references: [], confidence: 'high', severity: 'high', tags: ['registry'], role: 'primary',
      match: { all: [{ field: 'dns.query.name', domain: ['smithery.ai', 'Server.Smithery.AI.'] }, { not: { field: 'dns.query.name', domain: 'bad.smithery.ai' } }] },
      cases: { match: [{ 'dns.query.name': 'a.server.smithery.ai' }], nomatch: [{ 'dns.query.name': 'x.bad.smithery.ai' }] },
    } as SignatureSpec;
    const sig = compileSignature(spec, 't.json', '/signatures/0', [])!;
    expect(sig.listEntry('A.Server.Smithery.ai.')).toBe('server.smithery.ai');
    expect(sig.listEntry('other.smithery.ai')).toBe('smithery.ai');
    expect(sig.listEntry('bad.smithery.ai')).toBe('smithery.ai');
    expect(sig.listEntry('notsmithery.ai')).toBeUndefined();
  });
});

describe('rules from a list entry', () => {
  it('hostile leading label → a subtree block of the list entry, and nothing else changes', () => {
    const fs = detect(dns(HOSTILE_DNS), sni(HOSTILE_SNI, '198.51.100.9'));
    expect(fs).toHaveLength(2);
    const set = buildRuleSet(fs, ALL);
    const before = buildRuleSet(withoutEntry(fs), ALL);
    expect(nameRules(before)).toEqual([]);
    expect(nameRules(set)).toEqual(['block mcp.linear.app and subdomains']);
    const entry = set.rules.find((r) => r.subject.kind === 'name')!;
    expect(entry.because.map((b) => b.value).sort()).toEqual(fs.map((f) => f.id).sort());
    // Every other rule, and every refusal, exactly as without the entry: the hostile name is still refused
    // once per field it sits in (name and domain), and the entry adds no refusal line of its own.
    expect(set.rules.filter((r) => r !== entry)).toEqual(before.rules);
    expect(set.refusals).toEqual(before.refusals);
    expect(set.refusals.map((r) => r.field).sort()).toEqual(['domain', 'domain', 'name', 'name', 'port']);
    for (const f of fs) expect(set.refusals.filter((r) => r.findingId === f.id && r.field === 'domain')).toHaveLength(1);
  });

  it('--block servers alone makes no name rule from the entry (it is a domain block)', () => {
    const set = buildRuleSet(detect(dns(HOSTILE_DNS)), { minConfidence: 'low', block: ['servers'] });
    expect(nameRules(set)).toEqual([]);
  });

  it('a clean subdomain of a list entry: unchanged, the subdomain is blocked and the entry is not', () => {
    const fs = detect(sni('eu.mcp.linear.app', '198.51.100.11'), dns('api.pulsemcp.com'));
    expect(fs.map((f) => f.subject.listEntry).sort()).toEqual(['mcp.linear.app', 'pulsemcp.com']);
    const set = buildRuleSet(fs, ALL);
    expect(set.rules).toEqual(buildRuleSet(withoutEntry(fs), ALL).rules);
    expect(nameRules(set)).toEqual([
      'block api.pulsemcp.com',
      'block api.pulsemcp.com and subdomains',
      'block eu.mcp.linear.app',
      'block eu.mcp.linear.app and subdomains',
    ]);
  });

  it('a hostile name that matched no list entry: refused, no name rule, as before', () => {
    const [f] = detect(dns(HOSTILE_DNS));
    const old = { ...f!, subject: { names: [HOSTILE_DNS], domain: HOSTILE_DNS } };
    const set = buildRuleSet([old], ALL);
    expect(nameRules(set)).toEqual([]);
    expect(set.refusals.map((r) => r.field).sort()).toEqual(['domain', 'name']);
  });

  it('an entry that is not a valid name is refused and reported, never rendered', () => {
    const [f] = detect(dns(HOSTILE_DNS));
    for (const bad of ['x";y.example.com', 'co.uk', 'com', '*.mcp.linear.app', 42]) {
      const set = buildRuleSet([{ ...f!, subject: { ...f!.subject, listEntry: bad } }], ALL);
      expect(nameRules(set), String(bad)).toEqual([]);
      expect(set.refusals.filter((r) => r.field === 'listEntry'), String(bad)).toHaveLength(1);
    }
  });

  it('an approved finding with a refused name gets no allow for the entry (an allow stays as narrow as the name)', () => {
    const [f] = detect(dns(HOSTILE_DNS));
    const set = buildRuleSet([{ ...f!, approved: true }], ALL);
    expect(nameRules(set)).toEqual([]);
  });
});

describe('the entry block passes the real validators of the name targets', () => {
  const dir = tempDir('list-entry');
  let set: RuleSet;
  beforeAll(() => {
    set = buildRuleSet(detect(dns(HOSTILE_DNS), sni(HOSTILE_SNI, '198.51.100.9')), ALL);
  });
  const render = (id: string): string => findTarget(id)!.render(set);
  const fileOf = (id: string) => {
    const text = render(id);
    expect(text, id).toContain('mcp.linear.app');
    expect(text, id).not.toMatch(/zz|\$\(id\)/);
    const f = join(dir, findTarget(id)!.meta.fileName);
    writeFileSync(f, text);
    return f;
  };

  for (const id of ['rpz', 'unbound', 'dnsmasq', 'squid', 'suricata']) {
    validatorTest(id, `${id}: its real validator accepts the rules`, () => expectValid(id, fileOf(id), set.serial));
  }
  it('no target carries a hostile value; the Cloudflare bundles pass the Gateway request schema', () => {
    for (const t of TARGETS) expect(render(t.meta.id), t.meta.id).not.toMatch(/zz|\$\(id\)/);
    const check = cloudflareBundleValidator();
    for (const id of ['cloudflare-dns', 'cloudflare-http', 'cloudflare-network']) expect(check(JSON.parse(render(id))), id).toBe(true);
  });
  it('hosts, zeek-intel and cloudflare-dns carry the entry (no validator binary: checked as text)', () => {
    expect(render('hosts')).toContain('0.0.0.0 mcp.linear.app');
    expect(render('zeek-intel')).toMatch(/^mcp\.linear\.app\tIntel::DOMAIN\t/m);
    expect(render('cloudflare-dns')).toContain('any(dns.domains[*] in {\\"mcp.linear.app\\"})');
  });
});
