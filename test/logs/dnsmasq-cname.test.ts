// dnsmasq CNAME chains: the answer lines after `NAME is <CNAME>` are linked back to the name that was asked,
// on logs written by dnsmasq 2.90 itself (plain and --log-queries=extra), Pi-hole's wording, and the bounds.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Anomalies } from '../../src/core/anomalies.js';
import type { Observation } from '../../src/detect/observation.js';
import { LOG_FORMATS, detectFormat, importLogs } from '../../src/sources/logs/index.js';
import { LIMITS } from '../../src/config/limits.js';

const DNSMASQ_MAX_CNAME_HOPS = LIMITS.logDnsmasqCnameHops;
const DNSMASQ_MAX_PENDING = LIMITS.logDnsmasqPendingQueries;

const FIX = join(import.meta.dirname, '../../fixtures/logs/dnsmasq');

async function run(file: string) {
  const anomalies = new Anomalies();
  const obs: Observation[] = [];
  const stats = await importLogs([file], { anomalies, onObservation: (o) => obs.push(o) });
  return { obs, stats, anomalies };
}

/** Observations that say a name resolved through a chain: line, name, what it resolved to, the chain, client. */
function linked(obs: Observation[]): unknown[] {
  return obs.filter((o) => o.fields['dns.answer.name'] !== undefined).map((o) => [
    o.source.line, o.fields['dns.query.name'], o.fields['dns.answer.address'] ?? o.fields['dns.rcode'],
    o.fields['dns.answer.name'], o.fields['log.action'], o.client?.ip,
  ]);
}

function tmpFile(name: string, lines: string[]): string {
  const f = join(mkdtempSync(join(tmpdir(), 'shadowtap-dnsmasq-')), name);
  writeFileSync(f, `${lines.join('\n')}\n`);
  return f;
}

const HOPS = ['mcp-notion.lb.example.net', 'edge.cdn.example.net'];

describe('dnsmasq 2.90 CNAME chains', () => {
  for (const name of ['cname-extra.log', 'cname.log']) {
    it(`${name} is dnsmasq, and no other format claims it`, () => {
      const sample = readFileSync(join(FIX, name), 'utf8').split('\n').filter((l) => l.trim()).slice(0, 20);
      expect(detectFormat(sample)?.id).toBe('dnsmasq');
      expect(LOG_FORMATS.filter((f) => f.sniff(sample)).map((f) => f.id)).toEqual(['dnsmasq']);
    });
  }

  it('--log-queries=extra: every address at the end of a chain is also an answer for the queried name', async () => {
    const { obs, stats, anomalies } = await run(join(FIX, 'cname-extra.log'));
    expect(anomalies.total).toBe(0);
    expect(stats.files[0]).toMatchObject({ format: 'dnsmasq', badLines: 0 });
    expect(linked(obs)).toEqual([
      [9, 'mcp.example.com', ['127.0.0.1'], ['mcp-edge.example.net'], 'reply', '127.0.0.1'],
      [14, 'mcp.example.com', ['::1'], ['mcp-edge.example.net'], 'reply', '127.0.0.1'],
      [17, 'mcp.example.com', ['127.0.0.1'], ['mcp-edge.example.net'], 'cached', '127.0.0.1'],
      [22, 'mcp.notion.com', ['203.0.113.77'], HOPS, 'reply', '127.0.0.1'],
      [23, 'mcp.notion.com', ['203.0.113.78'], HOPS, 'reply', '127.0.0.1'],
      [27, 'v4only.example.com', 'NOERROR', ['gw4.example.net'], 'reply', '127.0.0.1'], // the target's NODATA-IPv6
      [30, 'tools.mcp.internal', ['10.20.0.5'], ['gw.mcp.internal'], 'config', '127.0.0.1'],
    ]);
    // extra lines carry the client's port: the query, its answer lines and the linked answer agree on it
    const ports = obs.filter((o) => (o.source.line ?? 0) >= 18 && (o.source.line ?? 0) <= 23).map((o) => o.client?.port);
    expect(new Set(ports)).toEqual(new Set([49546]));
    // the target's own line still says what it resolved to
    expect(obs.find((o) => o.source.line === 22 && o.fields['dns.query.name'] === 'edge.cdn.example.net')?.fields['dns.answer.address'])
      .toEqual(['203.0.113.77']);
    // line 34 is a CNAME-only answer (query 8); line 35 is query 7's reply: its serial number keeps them apart
    const l35 = obs.filter((o) => o.source.line === 35);
    expect(l35.map((o) => [o.fields['dns.query.name'], o.client?.port])).toEqual([['slow.example.org', 44155]]);
  });

  it('plain log-queries: the same chains, linked by position', async () => {
    const { obs, anomalies } = await run(join(FIX, 'cname.log'));
    expect(anomalies.total).toBe(0);
    expect(linked(obs).map((l) => (l as unknown[]).slice(0, 3))).toEqual([
      [9, 'mcp.example.com', ['127.0.0.1']],
      [14, 'mcp.example.com', ['::1']],
      [17, 'mcp.example.com', ['127.0.0.1']],
      [22, 'mcp.notion.com', ['203.0.113.78']],
      [23, 'mcp.notion.com', ['203.0.113.77']],
      [27, 'v4only.example.com', 'NOERROR'],
      [30, 'tools.mcp.internal', ['10.20.0.5']],
    ]);
    // `config tools.mcp.internal is <CNAME>` then `reply slow.example.org is ...`: slow.example.org was asked
    // and not yet answered, so it starts its own answer instead of becoming the CNAME's target
    expect(obs.filter((o) => o.source.line === 35).map((o) => o.fields['dns.query.name'])).toEqual(['slow.example.org']);
  });

  it('Pi-hole: the forwarded CNAME reply is linked to the client that asked', async () => {
    const { obs } = await run(join(FIX, 'pihole.log'));
    expect(linked(obs)).toEqual([[4, 'mcp.example.com', ['203.0.113.10'], ['edge.example.net'], 'reply', '192.168.1.20']]);
  });
});

describe('dnsmasq chain state: bounded, and what it does not link', () => {
  const two = (n: number) => String(n).padStart(2, '0');
  const at = (s: number) => `Nov 25 ${two(10 + Math.floor(s / 3600))}:${two(Math.floor(s / 60) % 60)}:${two(s % 60)}`;

  it('a chain is not continued by another dnsmasq process, nor across a non-answer line', async () => {
    const f = tmpFile('two.log', [
      `${at(0)} dnsmasq[10]: query[A] mcp.example.com from 10.0.0.5`,
      `${at(0)} dnsmasq[10]: reply mcp.example.com is <CNAME>`,
      `${at(0)} dnsmasq[11]: reply other.example.net is 192.0.2.1`,
      `${at(1)} dnsmasq[10]: query[A] mcp.linear.app from 10.0.0.6`,
      `${at(1)} dnsmasq[10]: cached mcp.linear.app is <CNAME>`,
      `${at(1)} dnsmasq[10]: forwarded mcp.linear.app to 192.0.2.53`,
      `${at(1)} dnsmasq[10]: reply edge.example.net is 192.0.2.2`,
    ]);
    const { obs, anomalies } = await run(f);
    expect(anomalies.total).toBe(0);
    expect(linked(obs)).toEqual([]);
    expect(obs).toHaveLength(6);
  });

  it('a bad client address on an extra line is log.bad_address at its line; later chains are still linked', async () => {
    const f = tmpFile('extra.log', [
      `${at(0)} dnsmasq[10]: 1 10.0.0.5/40000 query[A] mcp.example.com from 10.0.0.5`,
      `${at(0)} dnsmasq[10]: 1 10.0.0.999/40000 reply mcp.example.com is <CNAME>`,
      `${at(0)} dnsmasq[10]: 2 10.0.0.6/40001 query[A] mcp.linear.app from 10.0.0.6`,
      `${at(0)} dnsmasq[10]: 2 10.0.0.6/40001 reply mcp.linear.app is <CNAME>`,
      `${at(0)} dnsmasq[10]: 2 10.0.0.6/40001 reply edge.example.net is 192.0.2.2`,
    ]);
    const { obs, anomalies, stats } = await run(f);
    expect(anomalies.summary()).toEqual([{ name: 'log.bad_address', count: 1, examples: [{ file: f, line: 2 }] }]);
    expect(stats.files[0].badLines).toBe(1);
    expect(linked(obs)).toEqual([[5, 'mcp.linear.app', ['192.0.2.2'], ['edge.example.net'], 'reply', '10.0.0.6']]);
  });

  it(`a chain longer than ${DNSMASQ_MAX_CNAME_HOPS} hops is cut and counted once`, async () => {
    const hops = DNSMASQ_MAX_CNAME_HOPS + 2;
    const lines = [`${at(0)} dnsmasq[10]: query[A] mcp.example.com from 10.0.0.5`, `${at(0)} dnsmasq[10]: reply mcp.example.com is <CNAME>`];
    for (let i = 1; i < hops; i++) lines.push(`${at(0)} dnsmasq[10]: reply hop${i}.example.net is <CNAME>`);
    lines.push(`${at(0)} dnsmasq[10]: reply hop${hops}.example.net is 192.0.2.9`);
    const f = tmpFile('long.log', lines);
    const { obs, anomalies } = await run(f);
    // hop 17 would be the 17th target: the cut is at its line (line 2 + 17)
    expect(anomalies.summary()).toEqual([{ name: 'log.dnsmasq_cname_cap_hit', count: 1, examples: [{ file: f, line: DNSMASQ_MAX_CNAME_HOPS + 3 }] }]);
    expect(obs.some((o) => o.fields['dns.query.name'] === 'mcp.example.com' && o.fields['dns.answer.address'])).toBe(false);
    // what follows the cut is linked from where it was cut
    expect(linked(obs)).toEqual([[lines.length, `hop${DNSMASQ_MAX_CNAME_HOPS + 1}.example.net`, ['192.0.2.9'], [`hop${hops}.example.net`], 'reply', undefined]]);
  });

  it(`more than ${DNSMASQ_MAX_PENDING} queries waiting at once: each one dropped is counted at its line`, async () => {
    const lines: string[] = [];
    for (let i = 0; i < DNSMASQ_MAX_PENDING + 3; i++) lines.push(`${at(0)} dnsmasq[10]: query[A] q${i}.example.com from 10.0.0.5`);
    // q0 was dropped to make room: its answer has no client now; q3 is still remembered
    lines.push(`${at(0)} dnsmasq[10]: reply q0.example.com is 192.0.2.1`, `${at(0)} dnsmasq[10]: reply q3.example.com is 192.0.2.2`);
    const f = tmpFile('busy.log', lines);
    const { obs, anomalies } = await run(f);
    const s = anomalies.summary();
    expect(s.map((a) => [a.name, a.count])).toEqual([['log.dnsmasq_pending_cap_hit', 3]]);
    expect(s[0].examples[0]).toEqual({ file: f, line: DNSMASQ_MAX_PENDING + 1 });
    const answers = obs.filter((o) => o.fields['dns.answer.address']);
    expect(answers.map((o) => [o.fields['dns.query.name'], o.client?.ip])).toEqual([['q0.example.com', undefined], ['q3.example.com', '10.0.0.5']]);
  });

  it('queries dnsmasq has long given up on are forgotten, not counted against the cap', async () => {
    const lines: string[] = [];
    // one query a second for longer than the cap: at most a minute of them are remembered at once
    for (let i = 0; i < DNSMASQ_MAX_PENDING + 10; i++) lines.push(`${at(i)} dnsmasq[10]: query[A] q${i}.example.com from 10.0.0.5`);
    const { obs, anomalies } = await run(tmpFile('steady.log', lines));
    expect(anomalies.total).toBe(0);
    expect(obs).toHaveLength(lines.length);
  });
});
