import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ApprovedLoadError, isApproved, loadApproved, parseApproved } from './approved.js';
import type { Finding } from './finding.js';

function finding(subject: Partial<Finding['subject']>): Finding {
  return {
    id: 'x', subject: { names: [], ...subject }, transport: 'streamable-http', clients: [], server: {}, paths: [], methods: {}, tools: {},
    signals: [], confidence: 'high', score: 0.9, severity: 'high', firstSeen: 0, lastSeen: 0, sources: ['pcap'], approved: false,
  };
}

describe('approved registry', () => {
  const reg = parseApproved({
    servers: [{ ip: '10.0.0.5', port: 8000 }, { ip: '2001:db8::1' }, { host: 'tools.corp.example', port: 443 }],
    domains: ['approved.example'],
    ranges: ['172.16.0.0/12', 'fd00::/8'],
    portals: ['portal.corp.example'],
  });

  it('matches servers by ip and port, v6 addresses, and host names', () => {
    expect(isApproved(finding({ ip: '10.0.0.5', port: 8000 }), reg)).toBe('server 10.0.0.5:8000');
    expect(isApproved(finding({ ip: '10.0.0.5', port: 8001 }), reg)).toBeUndefined();
    expect(isApproved(finding({ ip: '2001:DB8::1', port: 1 }), reg)).toBe('server 2001:db8::1');
    expect(isApproved(finding({ ip: '1.2.3.4', port: 443, names: ['tools.corp.example'] }), reg)).toBe('server tools.corp.example:443');
    expect(isApproved(finding({ ip: '1.2.3.4', port: 8443, names: ['tools.corp.example'] }), reg)).toBeUndefined();
  });

  it('domains cover subdomains but not look-alike suffixes', () => {
    expect(isApproved(finding({ names: ['mcp.approved.example'] }), reg)).toBe('domain approved.example');
    expect(isApproved(finding({ names: ['approved.example.'] }), reg)).toBe('domain approved.example');
    expect(isApproved(finding({ names: ['notapproved.example'] }), reg)).toBeUndefined();
    expect(isApproved(finding({ names: [], domain: 'x.approved.example' }), reg)).toBe('domain approved.example');
  });

  it('ranges (v4 and v6) and portals', () => {
    expect(isApproved(finding({ ip: '172.20.1.1', port: 3000 }), reg)).toBe('range 172.16.0.0/12');
    expect(isApproved(finding({ ip: '172.32.0.1', port: 3000 }), reg)).toBeUndefined();
    expect(isApproved(finding({ ip: 'fd12::5', port: 3000 }), reg)).toBe('range fd00::/8');
    expect(isApproved(finding({ names: ['portal.corp.example'] }), reg)).toBe('portal portal.corp.example');
    expect(isApproved(finding({ names: ['a.portal.corp.example'] }), reg)).toBeUndefined();
  });

  it('rejects invalid registries with file, path and reason', () => {
    const dir = mkdtempSync(join(tmpdir(), 'appr-'));
    const bad = join(dir, 'approved.json');
    writeFileSync(bad, JSON.stringify({ servers: [{ ip: 'not-an-ip' }], ranges: ['10.0.0.0/33'], colour: 1 }));
    let err: ApprovedLoadError | undefined;
    try { loadApproved(bad); } catch (e) { err = e as ApprovedLoadError; }
    expect(err).toBeInstanceOf(ApprovedLoadError);
    expect(err!.problems).toEqual(expect.arrayContaining([`${bad}: /: must NOT have additional properties "colour"`]));
    expect(err!.problems.some((p) => p.startsWith(`${bad}: /servers/0/ip:`))).toBe(true);
    writeFileSync(bad, JSON.stringify({ ranges: ['10.0.0.0/33'] }));
    expect(() => loadApproved(bad)).toThrow(/\/ranges\/0: not a CIDR range/);
    writeFileSync(bad, JSON.stringify({ servers: [{ port: 80 }] }));
    expect(() => loadApproved(bad)).toThrow(ApprovedLoadError);
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify({ domains: ['Corp.Example.'] }));
    expect(loadApproved(good).domains).toEqual(['corp.example']);
  });
});
