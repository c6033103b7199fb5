// Log importers: golden fixtures → projected observation fields, detection, and the robustness
// cases (malformed, truncated, too long, CRLF, gzip, stdin, reordered columns, mixed directories).
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { Anomalies } from '../../src/core/anomalies.js';
import type { Observation } from '../../src/detect/observation.js';
import { LIMITS } from '../../src/config/limits.js';
import { LOG_FORMATS, LogFormatError, detectFormat, importLogs } from '../../src/sources/logs/index.js';

const FIX = join(import.meta.dirname, '../../fixtures/logs');

async function run(inputs: string[], opts: { format?: string; map?: string; stdin?: AsyncIterable<Buffer> } = {}) {
  const anomalies = new Anomalies();
  const obs: Observation[] = [];
  const stats = await importLogs(inputs, { ...opts, anomalies, onObservation: (o) => obs.push(o) });
  return { obs, stats, anomalies };
}

/** Short projection used by the golden assertions: kind, line and the named fields. */
function project(o: Observation, names: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = { kind: o.kind, line: o.source.line };
  for (const n of names) if (o.fields[n] !== undefined) out[n] = o.fields[n];
  return out;
}

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'shadowtap-logs-'));
}

describe('golden: program-made fixtures', () => {
  it('dnsmasq 2.90 log-queries: queries name the client, answers carry addresses and rcodes', async () => {
    const { obs, stats, anomalies } = await run([join(FIX, 'dnsmasq/dnsmasq.log')]);
    expect(stats.files[0].format).toBe('dnsmasq');
    expect(anomalies.total).toBe(0);
    const q = obs.filter((o) => o.fields['dns.query.type'] !== undefined);
    expect(q.map((o) => `${o.fields['dns.query.name']}/${o.fields['dns.query.type']}`)).toEqual([
      'mcp.linear.app/A', 'mcp.linear.app/AAAA', 'registry.smithery.ai/A', 'dev.mcp.internal/A', 'mcp.linear.app/A',
      'example.org/A', 'mcp.example.com/A',
    ]);
    expect(q.every((o) => o.client?.ip === '127.0.0.1' && o.source.format === 'dnsmasq')).toBe(true);
    const nx = obs.find((o) => o.fields['dns.rcode'] === 'NXDOMAIN')!;
    expect(nx.fields['dns.query.name']).toBe('registry.smithery.ai');
    expect(nx.fields['log.action']).toBe('config');
    const aaaa = obs.find((o) => (o.fields['dns.answer.address'] as string[] | undefined)?.includes('2001:db8::10'));
    expect(aaaa?.fields['dns.query.name']).toBe('mcp.linear.app');
    // syslog-style time without a year: the year comes from the file's mtime
    expect(new Date(obs[0].ts * 1000).getUTCMonth()).toBe(10);
  });

  it('Pi-hole blocking lines keep the reason', async () => {
    const { obs } = await run([join(FIX, 'dnsmasq/pihole.log')]);
    const blocked = obs.filter((o) => /blocked|denied/.test(String(o.fields['log.action'])));
    expect(blocked.map((o) => [o.fields['dns.query.name'], o.fields['log.action'], o.client?.ip])).toEqual([
      ['registry.smithery.ai', 'gravity blocked', '192.168.1.21'],
      ['mcp.linear.app', 'exactly denied', '192.168.1.20'],
    ]);
  });

  it('Unbound 1.17 log-queries/log-replies', async () => {
    const { obs, stats } = await run([join(FIX, 'unbound/unbound.log')]);
    expect(stats.files[0].format).toBe('unbound');
    expect(stats.files[0].badLines).toBe(0);
    const replies = obs.filter((o) => o.fields['dns.rcode'] !== undefined);
    expect(replies.map((o) => project(o, ['dns.query.name', 'dns.query.type', 'dns.rcode']))).toContainEqual({
      kind: 'dns', line: 14, 'dns.query.name': 'registry.smithery.ai', 'dns.query.type': 'A', 'dns.rcode': 'NXDOMAIN',
    });
    expect(obs).toHaveLength(12);
  });

  it('BIND 9.18 query log with RPZ rewrite', async () => {
    const { obs } = await run([join(FIX, 'bind/query.log')]);
    expect(obs[0].fields).toEqual({ 'dns.query.name': 'mcp.corp.test', 'dns.query.type': 'A' });
    expect(obs[0].client).toEqual({ ip: '127.0.0.1', port: 51748 });
    expect(obs[0].server?.ip).toBe('127.0.0.1');
    expect(obs[0].ts).toBeCloseTo(Date.UTC(2026, 10, 25, 9, 38, 34, 507) / 1000, 3);
    const rpz = obs.find((o) => String(o.fields['log.action']).startsWith('rpz'))!;
    expect(rpz.fields).toMatchObject({ 'dns.query.name': 'registry.smithery.ai', 'log.action': 'rpz NXDOMAIN', 'dns.rcode': 'NXDOMAIN' });
  });

  it('kernel LOG lines (iptables, ip6tables, nftables) from dmesg', async () => {
    const { obs, stats } = await run([join(FIX, 'iptables/dmesg.log')]);
    expect(stats.files[0].format).toBe('netfilter');
    const blocked = obs.filter((o) => o.fields['conn.action'] === 'block');
    expect(blocked.map((o) => project(o, ['conn.proto', 'conn.dst_ip', 'conn.dst_port', 'log.rule']))).toEqual([
      { kind: 'conn', line: 8, 'conn.proto': 'tcp', 'conn.dst_ip': '127.0.0.1', 'conn.dst_port': 6274, 'log.rule': 'SHADOWMCP DROP' },
      { kind: 'conn', line: 9, 'conn.proto': 'tcp', 'conn.dst_ip': '127.0.0.1', 'conn.dst_port': 6274, 'log.rule': 'SHADOWMCP DROP' },
      // the kernel writes IPv6 addresses unabbreviated; they come out in RFC 5952 form
      { kind: 'conn', line: 10, 'conn.proto': 'tcp', 'conn.dst_ip': '::1', 'conn.dst_port': 6277, 'log.rule': 'MCP6 REJECT' },
    ]);
    const nft = obs.find((o) => o.fields['log.rule'] === 'nft-mcp-accept')!;
    expect(nft.fields['conn.action']).toBe('allow');
    expect(nft.fields['conn.dst_port']).toBe(8811);
    const udp = obs[0];
    expect(udp.fields['conn.proto']).toBe('udp');
    expect(udp.fields['conn.dst_port']).toBe(5353);
  });

  it('kernel LOG lines behind RFC 3164, RFC 5424 and journal prefixes', async () => {
    const a = await run([join(FIX, 'iptables/kern-rfc3164.log')]);
    expect(a.obs).toHaveLength(4);
    expect(a.stats.files[0].badLines).toBe(0); // the `link up` kernel line is not a LOG line
    expect(a.obs[0].ts).toBe(Date.UTC(new Date(a.obs[0].ts * 1000).getUTCFullYear(), 10, 25, 9, 38, 43) / 1000);
    const b = await run([join(FIX, 'iptables/journal-short-iso.log')]);
    expect(b.obs[0].ts).toBe(Date.UTC(2026, 10, 25, 9, 38, 43) / 1000);
    const c = await run([join(FIX, 'iptables/rfc5424.log')]);
    expect(c.obs[0].ts).toBeCloseTo(Date.UTC(2026, 10, 25, 9, 38, 43, 205) / 1000, 3);
    expect(c.obs[0].fields['conn.dst_port']).toBe(8811);
  });

  it('Suricata 7.0.10 EVE: dns v2, http with headers, tls, flow, alert', async () => {
    const { obs, stats } = await run([join(FIX, 'suricata/eve.json')]);
    expect(stats.files[0].format).toBe('suricata');
    expect(stats.files[0].badLines).toBe(0);
    const post = obs.find((o) => o.kind === 'http.request' && o.fields['http.request.method'] === 'POST' && o.fields['http.request.header.mcp-session-id'])!;
    expect(post.fields).toMatchObject({
      'http.request.host': 'mcp.example.com', 'http.request.path': '/mcp', 'http.request.content_type': 'application/json',
      'http.request.header.mcp-session-id': '4f1c2a',
    });
    expect(post.server?.port).toBe(8765);
    const sse = obs.find((o) => o.kind === 'http.request' && o.fields['http.request.path'] === '/sse')!;
    expect(sse.fields['http.request.query']).toBe('session=1');
    const tls = obs.find((o) => o.kind === 'tls.client_hello' && !o.fields['log.rule'])!;
    expect(tls.fields).toEqual({ 'tls.sni': 'mcp.example.com', 'tls.version': '1.3' });
    const answer = obs.find((o) => o.kind === 'dns' && o.fields['dns.query.name'] === 'tools.mcp.corp.test' && o.fields['dns.rcode'])!;
    expect(answer.fields['dns.answer.address']).toEqual(['10.20.0.6']);
    expect(answer.client?.port).not.toBe(53); // answers keep the flow's client side
    const alerts = obs.filter((o) => o.kind === 'conn' && o.fields['log.rule']);
    expect(new Set(alerts.map((o) => o.fields['log.rule']))).toEqual(new Set([
      'SHADOW-MCP POST to /mcp', 'SHADOW-MCP query for hosted MCP name', 'SHADOW-MCP TLS SNI mcp.*',
    ]));
    const flow8811 = obs.find((o) => o.kind === 'conn' && o.fields['conn.dst_port'] === 8811)!;
    expect(flow8811.fields['conn.proto']).toBe('tcp');
  });
});

describe('golden: documented-format fixtures', () => {
  it('Suricata 8 dns v3 layout (queries[]/answers[])', async () => {
    const { obs } = await run([join(FIX, 'suricata/eve-v3.json')]);
    expect(obs.map((o) => project(o, ['dns.query.name', 'dns.rcode', 'dns.answer.address', 'dns.answer.name', 'conn.action']))).toEqual([
      { kind: 'dns', line: 1, 'dns.query.name': 'mcp.example.com' },
      { kind: 'dns', line: 2, 'dns.query.name': 'mcp.example.com', 'dns.rcode': 'NOERROR', 'dns.answer.address': ['203.0.113.10'], 'dns.answer.name': ['edge.example.net'] },
      { kind: 'conn', line: 3, 'conn.action': 'block' },
      { kind: 'dns', line: 3, 'dns.query.name': 'registry.smithery.ai' },
    ]);
  });

  it('Zeek TSV conn/dns/http/ssl', async () => {
    const { obs, stats } = await run([join(FIX, 'zeek')]);
    const byFile = Object.fromEntries(stats.files.map((f) => [f.file.split('/').pop(), f.observations]));
    expect(byFile).toEqual({ 'conn.log': 2, 'dns.json.log': 2, 'dns.log': 3, 'http.json.log': 3, 'http.log': 4, 'ssl.log': 1 });
    const dns = obs.filter((o) => o.source.format === 'zeek.dns' && o.source.file.endsWith('dns.log'));
    expect(dns[1].fields).toEqual({
      'dns.query.name': 'registry.smithery.ai', 'dns.query.type': 'AAAA', 'dns.rcode': 'NOERROR',
      'dns.answer.address': ['2001:db8::7'], 'dns.answer.name': ['smithery.example.net'],
    });
    const sse = obs.find((o) => o.kind === 'http.request' && o.fields['http.request.path'] === '/sse')!;
    expect(sse.fields['http.request.host']).toBe('mcp.corp.test'); // lowercased, port removed
    expect(sse.fields['http.request.query']).toBe('x=1\ty'); // \x09 escape decoded
    const resp = obs.find((o) => o.kind === 'http.response' && o.fields['http.request.path'] === '/sse')!;
    expect(resp.fields['http.response.content_type']).toBe('text/event-stream');
    const ssl = obs.find((o) => o.kind === 'tls.client_hello')!;
    expect(ssl.fields).toEqual({ 'tls.sni': 'mcp.example.com', 'tls.version': '1.3' });
    expect(ssl.client).toEqual({ ip: '10.1.2.3', port: 53122 });
    const conn = obs.find((o) => o.kind === 'conn' && o.fields['conn.dst_port'] === 6274 && o.source.file.endsWith('conn.log'))!;
    expect(conn.ts).toBe(1763629443.25);
  });

  it('Zeek JSON with ISO timestamps agrees with TSV', async () => {
    const { obs } = await run([join(FIX, 'zeek/http.json.log')]);
    expect(obs[0].fields).toMatchObject({ 'http.request.method': 'POST', 'http.request.host': 'mcp.corp.test', 'http.request.path': '/mcp' });
    expect(obs[0].ts).toBe(Date.UTC(2026, 10, 25, 8, 24, 3, 500) / 1000);
    expect(obs[2].source.format).toBe('zeek.conn');
  });

  it('Cloudflare Gateway dns/http/network with RFC 3339 and Unix s/ms/ns times', async () => {
    const { obs, anomalies } = await run([join(FIX, 'cloudflare')]);
    expect(anomalies.total).toBe(0);
    const dns = obs.filter((o) => o.source.format === 'cloudflare.gateway_dns');
    expect(dns.map((o) => [o.fields['dns.query.name'], o.fields['dns.query.type'], o.fields['log.action']])).toEqual([
      ['mcp.example.com', 'A', 'allowedOnNoPolicyMatch'],
      ['registry.smithery.ai', 'AAAA', 'blockedByQueryName'],
      ['mcp.linear.app', 'HTTPS', 'allowedOnNoPolicyMatch'],
    ]);
    expect(dns[1].ts).toBe(1795598042.123); // ms
    expect(dns[2].ts).toBe(1795598043); // ns
    const http = obs.find((o) => o.source.format === 'cloudflare.gateway_http' && o.kind === 'http.request' && o.fields['log.action'] === 'block')!;
    expect(http.fields).toMatchObject({ 'http.request.host': 'mcp.notion.com', 'http.request.path': '/sse', 'http.request.method': 'GET' });
    expect(http.ts).toBe(Date.UTC(2026, 10, 20, 8, 14, 5, 250) / 1000); // +01:00 offset applied
    const status = obs.find((o) => o.kind === 'http.response' && o.fields['http.response.status'] === 200)!;
    expect(status.fields['http.request.path']).toBe('/mcp');
    const net = obs.find((o) => o.kind === 'conn' && o.fields['conn.dst_port'] === 6274)!;
    expect(net.fields).toMatchObject({ 'conn.action': 'block', 'log.rule': 'Block MCP dev ports (Network)', 'conn.proto': 'tcp' });
    expect(obs.find((o) => o.kind === 'tls.client_hello')?.fields['tls.sni']).toBe('mcp.example.com');
  });

  it('Windows DNS debug log: client queries and answers, forwarder traffic skipped', async () => {
    const { obs, stats } = await run([join(FIX, 'windows-dns/dns.log')]);
    expect(stats.files[0].badLines).toBe(0);
    expect(obs.map((o) => [o.fields['dns.query.name'], o.fields['dns.rcode'] ?? '-', o.client?.ip])).toEqual([
      ['mcp.example.com', '-', '10.1.2.3'],
      ['mcp.example.com', 'NOERROR', '10.1.2.3'],
      ['registry.smithery.ai', '-', '2001:db8::23'],
      ['registry.smithery.ai', 'NXDOMAIN', '2001:db8::23'],
    ]);
    expect(obs[2].ts).toBe(Date.UTC(2026, 10, 25, 13, 5, 17) / 1000); // 1:05:17 PM
  });

  it('pfSense/OPNsense filterlog: IPv4 TCP/UDP/ICMP, IPv6 (reversed proto order), RFC 5424', async () => {
    const { obs } = await run([join(FIX, 'filterlog')]);
    expect(obs.map((o) => project(o, ['conn.proto', 'conn.src_ip', 'conn.dst_ip', 'conn.dst_port', 'conn.action']))).toEqual([
      { kind: 'conn', line: 1, 'conn.proto': 'tcp', 'conn.src_ip': '10.1.2.3', 'conn.dst_ip': '10.20.0.5', 'conn.dst_port': 6274, 'conn.action': 'block' },
      { kind: 'conn', line: 2, 'conn.proto': 'udp', 'conn.src_ip': '10.1.2.3', 'conn.dst_ip': '10.1.0.53', 'conn.dst_port': 53, 'conn.action': 'allow' },
      { kind: 'conn', line: 3, 'conn.proto': 'tcp', 'conn.src_ip': '2001:db8::23', 'conn.dst_ip': '2001:db8:20::5', 'conn.dst_port': 6277, 'conn.action': 'block' },
      { kind: 'conn', line: 4, 'conn.proto': 'icmp', 'conn.src_ip': '10.1.2.3', 'conn.dst_ip': '10.20.0.5', 'conn.action': 'allow' },
      { kind: 'conn', line: 1, 'conn.proto': 'tcp', 'conn.src_ip': '192.168.1.10', 'conn.dst_ip': '203.0.113.10', 'conn.dst_port': 8811, 'conn.action': 'allow' },
    ]);
  });

  it('AWS VPC flow logs: default v2, custom v5 header with pkt-* addresses, NODATA skipped', async () => {
    const { obs, stats } = await run([join(FIX, 'vpc')]);
    expect(stats.badLines).toBe(0);
    expect(obs.map((o) => `${o.fields['conn.src_ip']}>${o.fields['conn.dst_ip']}:${o.fields['conn.dst_port']} ${o.fields['conn.action']}`)).toEqual([
      '10.1.2.3>10.20.0.5:6277 allow', '2001:db8::23>2001:db8:20::5:8811 block',
      '10.1.2.3>10.20.0.5:6274 block', '10.1.2.3>203.0.113.10:443 allow',
    ]);
  });

  it('generic CSV with --map', async () => {
    const map = 'ts=time,src=client_ip,dst=server_ip,dport=port,host=hostname,path=url_path,method=verb,status=code';
    const { obs } = await run([join(FIX, 'csv/proxy.csv')], { map });
    const req = obs.find((o) => o.kind === 'http.request')!;
    expect(req.fields).toEqual({ 'http.request.host': 'mcp.example.com', 'http.request.path': '/mcp', 'http.request.method': 'POST' });
    expect(req.ts).toBe(Date.UTC(2026, 10, 25, 8, 20, 1) / 1000);
    expect(obs.find((o) => o.kind === 'http.response')?.fields['http.response.status']).toBe(200);
    const conns = obs.filter((o) => o.kind === 'conn');
    expect(conns.map((o) => o.fields['conn.dst_port'])).toEqual([443, 6274]);
    await expect(run([join(FIX, 'csv/proxy.csv')], { map: 'bogus=x' })).rejects.toThrow(/unknown key "bogus"/);
  });
});

describe('detection', () => {
  const expected: Record<string, string> = {
    'dnsmasq/dnsmasq.log': 'dnsmasq', 'dnsmasq/pihole.log': 'dnsmasq', 'unbound/unbound.log': 'unbound',
    'bind/query.log': 'bind', 'iptables/dmesg.log': 'netfilter', 'iptables/kern-rfc3164.log': 'netfilter',
    'iptables/journal-short-iso.log': 'netfilter', 'iptables/rfc5424.log': 'netfilter', 'suricata/eve.json': 'suricata',
    'suricata/eve-v3.json': 'suricata', 'zeek/conn.log': 'zeek', 'zeek/dns.log': 'zeek', 'zeek/http.log': 'zeek',
    'zeek/ssl.log': 'zeek', 'zeek/dns.json.log': 'zeek', 'zeek/http.json.log': 'zeek',
    'cloudflare/gateway_dns.ndjson': 'cloudflare', 'cloudflare/gateway_http.ndjson': 'cloudflare',
    'cloudflare/gateway_network.ndjson': 'cloudflare', 'windows-dns/dns.log': 'windows-dns',
    'filterlog/filter.log': 'filterlog', 'filterlog/opnsense-rfc5424.log': 'filterlog',
    'vpc/default-v2.log': 'aws-vpc', 'vpc/custom-v5.log': 'aws-vpc',
    'dnsmasq/cname.log': 'dnsmasq', 'dnsmasq/cname-extra.log': 'dnsmasq', 'iptables/journal.json': 'netfilter',
    'windows-dns/dns-details.log': 'windows-dns', 'windows-dns/dns-details-lf.log': 'windows-dns',
    'windows-dns/dns-dmy.log': 'windows-dns',
  };
  for (const [file, id] of Object.entries(expected)) {
    it(`${file} → ${id}, and no other format claims it`, () => {
      const sample = readFileSync(join(FIX, file), 'utf8').split('\n').filter((l) => l.trim()).slice(0, 20);
      expect(detectFormat(sample)?.id).toBe(id);
      const claimants = LOG_FORMATS.filter((f) => f.sniff(sample)).map((f) => f.id);
      expect(claimants).toEqual([id]);
    });
  }

  it('an unrecognised file is one LogFormatError naming the file and what was tried', async () => {
    const dir = tmp();
    const f = join(dir, 'notes.txt');
    writeFileSync(f, 'hello world\nthis is not a log\n');
    await expect(run([f])).rejects.toThrow(LogFormatError);
    await expect(run([f])).rejects.toThrow(`${f}: not a recognised log format (tried: suricata, zeek`);
  });

  it('--format forces a parser; an unknown --format is a LogFormatError', async () => {
    const { stats } = await run([join(FIX, 'bind/query.log')], { format: 'bind' });
    expect(stats.files[0].observations).toBe(7);
    const forcedWrong = await run([join(FIX, 'bind/query.log')], { format: 'zeek' });
    expect(forcedWrong.stats.files[0].badLines).toBe(7);
    await expect(run([join(FIX, 'bind/query.log')], { format: 'nope' })).rejects.toThrow(/unknown log format "nope"/);
  });
});

describe('robustness', () => {
  it('malformed, truncated and bad-value lines are counted with file and line; the rest is kept', async () => {
    const dir = tmp();
    const f = join(dir, 'eve.json');
    const good = readFileSync(join(FIX, 'suricata/eve-v3.json'), 'utf8').split('\n')[0];
    writeFileSync(f, [
      good,
      good.slice(0, 80), // truncated JSON
      good.replace('"2026-11-25T08:14:53.918225+0000"', '"yesterday"'),
      good.replace('"src_ip":"127.0.0.1"', '"src_ip":"300.1.2.3"'),
      good.replace('"event_type":"dns"', '"event_type":"dns","brand_new_key":[1,2,3]'), // unknown keys ignored
      good,
    ].join('\n'));
    const { obs, stats, anomalies } = await run([f]);
    expect(stats.files[0]).toMatchObject({ format: 'suricata', lines: 6, observations: 3, badLines: 3 });
    expect(obs.map((o) => o.source.line)).toEqual([1, 5, 6]);
    const s = Object.fromEntries(anomalies.summary().map((a) => [a.name, a]));
    expect(s['log.unparsed_line'].examples).toEqual([{ file: f, line: 2 }]);
    expect(s['log.bad_timestamp'].examples).toEqual([{ file: f, line: 3 }]);
    expect(s['log.bad_address'].examples).toEqual([{ file: f, line: 4 }]);
  });

  it('a line over the cap is log.line_too_long and the next line still parses', async () => {
    const dir = tmp();
    const f = join(dir, 'unbound.log');
    const line = 'Nov 25 09:38:20 unbound[26241:0] info: 127.0.0.1 mcp.linear.app. A IN';
    writeFileSync(f, `${line}\n${line} ${'x'.repeat(LIMITS.logMaxLineBytes + 10)}\n${line}\n`);
    const { obs, anomalies, stats } = await run([f]);
    expect(obs.map((o) => o.source.line)).toEqual([1, 3]);
    expect(anomalies.summary()).toEqual([{ name: 'log.line_too_long', count: 1, examples: [{ file: f, line: 2 }] }]);
    expect(stats.files[0].lines).toBe(3);
  });

  it('a line spanning several read chunks is dropped whole, counted once', async () => {
    const dir = tmp();
    const f = join(dir, 'eve.json');
    const line = readFileSync(join(FIX, 'suricata/eve-v3.json'), 'utf8').split('\n')[0];
    writeFileSync(f, `${line}\n{"x":"${'y'.repeat(LIMITS.logMaxLineBytes * 3)}"}\n${line}\n${line}`);
    const { obs, anomalies, stats } = await run([f]);
    expect(obs.map((o) => o.source.line)).toEqual([1, 3, 4]); // last line has no newline
    expect(anomalies.summary()).toEqual([{ name: 'log.line_too_long', count: 1, examples: [{ file: f, line: 2 }] }]);
    expect(stats.files[0]).toMatchObject({ lines: 4, badLines: 1 });
  });

  it('reordered Zeek columns give the same observations', async () => {
    const src = readFileSync(join(FIX, 'zeek/dns.log'), 'utf8').split('\n');
    const fieldsLine = src.findIndex((l) => l.startsWith('#fields'));
    const names = src[fieldsLine].split('\t').slice(1);
    const order = names.map((_, i) => i).reverse();
    const reorder = (l: string) => order.map((i) => l.split('\t')[i]).join('\t');
    const out = src.map((l, i) => {
      if (i === fieldsLine) return `#fields\t${order.map((k) => names[k]).join('\t')}`;
      if (l.startsWith('#types')) return `#types\t${order.map((k) => l.split('\t')[k + 1]).join('\t')}`;
      if (l.startsWith('#') || l === '') return l;
      return reorder(l);
    });
    const dir = tmp();
    writeFileSync(join(dir, 'dns.log'), out.join('\n'));
    const a = await run([join(FIX, 'zeek/dns.log')]);
    const b = await run([join(dir, 'dns.log')]);
    expect(b.obs.map((o) => o.fields)).toEqual(a.obs.map((o) => o.fields));
    expect(b.obs.length).toBe(3);
  });

  it('CRLF files and .gz files give the same observations', async () => {
    const dir = tmp();
    for (const name of ['bind/query.log', 'zeek/http.log', 'windows-dns/dns.log']) {
      const text = readFileSync(join(FIX, name), 'utf8');
      const crlf = join(dir, name.replace('/', '-') + '.crlf');
      writeFileSync(crlf, text.replace(/\n/g, '\r\n'));
      const gz = join(dir, name.replace('/', '-') + '.gz');
      writeFileSync(gz, gzipSync(text));
      const a = await run([join(FIX, name)]);
      const b = await run([crlf]);
      const c = await run([gz]);
      expect(a.obs.length).toBeGreaterThan(0);
      expect(b.obs.map((o) => o.fields)).toEqual(a.obs.map((o) => o.fields));
      expect(c.obs.map((o) => o.fields)).toEqual(a.obs.map((o) => o.fields));
      expect(b.stats.badLines + c.stats.badLines).toBe(0);
    }
  });

  it('a truncated .gz keeps what was decoded and counts log.gzip_error', async () => {
    const dir = tmp();
    const gz = gzipSync(readFileSync(join(FIX, 'suricata/eve.json')));
    const f = join(dir, 'eve.json.gz');
    writeFileSync(f, gz.subarray(0, Math.floor(gz.length * 0.7)));
    const { obs, anomalies } = await run([f]);
    expect(obs.length).toBeGreaterThan(10);
    expect(anomalies.count('log.gzip_error')).toBe(1);
  });

  it('stdin (`-`) is read like a file', async () => {
    const text = readFileSync(join(FIX, 'unbound/unbound.log'));
    const { obs, stats } = await run(['-'], { stdin: Readable.from([text.subarray(0, 100), text.subarray(100)]) });
    expect(stats.files[0]).toMatchObject({ file: '-', format: 'unbound' });
    expect(obs).toHaveLength(12);
    expect(obs[0].source.file).toBe('-');
  });

  it('a mixed directory: each file detected on its own, sorted recursively, non-logs skipped and counted', async () => {
    const dir = tmp();
    mkdirSync(join(dir, 'b'));
    copyFileSync(join(FIX, 'bind/query.log'), join(dir, 'b/query.log'));
    copyFileSync(join(FIX, 'vpc/default-v2.log'), join(dir, 'a-vpc.log'));
    writeFileSync(join(dir, 'c-eve.json.gz'), gzipSync(readFileSync(join(FIX, 'suricata/eve-v3.json'))));
    writeFileSync(join(dir, 'README.md'), '# notes\n');
    writeFileSync(join(dir, '.hidden'), 'x\n');
    const { stats, anomalies } = await run([dir]);
    expect(stats.files.map((f) => [f.file.slice(dir.length + 1), f.format])).toEqual([
      ['README.md', 'unrecognised'], ['a-vpc.log', 'aws-vpc'], ['b/query.log', 'bind'], ['c-eve.json.gz', 'suricata'],
    ]);
    expect(anomalies.count('log.unrecognised_file')).toBe(1);
    const globbed = await run([join(dir, '*.log'), join(dir, '**/*.log')]);
    expect(globbed.stats.files.map((f) => f.format)).toEqual(['aws-vpc', 'aws-vpc', 'bind']);
  });

  it('progress reports bytes and lines per file', async () => {
    const seen: Array<{ bytes: number; totalBytes?: number; lines: number }> = [];
    const anomalies = new Anomalies();
    await importLogs([join(FIX, 'suricata/eve.json')], { anomalies, onObservation: () => {}, onProgress: (p) => seen.push(p) });
    const last = seen[seen.length - 1];
    expect(last.bytes).toBe(last.totalBytes);
    expect(last.lines).toBe(readFileSync(join(FIX, 'suricata/eve.json'), 'utf8').trim().split('\n').length);
  });

  it('a missing input is a LogFormatError', async () => {
    await expect(run([join(FIX, 'does-not-exist.log')])).rejects.toThrow(/no such file/);
    expect(readdirSync(FIX).length).toBeGreaterThan(5);
  });
});
