// End to end on captures made with the real MCP SDK (fixtures/audit/PROVENANCE.md): planted fake secrets are
// found at the right JSON path and appear only masked in every output; bursts raise alerts; the same traffic
// without secrets or bursts raises nothing.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../../src/pipeline/scan.js';
import { formatReport } from '../../src/report/formats.js';
import type { ScanReport } from '../../src/report/model.js';
import { main } from '../../src/cli/main.js';
import { loadConfig } from '../../src/cli/config.js';
import type { CliIO } from '../../src/cli/io.js';
import { FAKE } from '../../fixtures/audit/planted.mjs';

const FX = (n: string) => join('fixtures/audit', n);
const DLP = { markers: ['CONFIDENTIAL'] };

/** Every planted value, whole and by its distinctive middle, that must never reach an output. */
const RAW: string[] = [
  FAKE.awsKeyId, FAKE.awsSecret, FAKE.github, FAKE.slack, FAKE.stripe, FAKE.openai, FAKE.google, FAKE.jwt,
  FAKE.privateKey.split('\n')[1], FAKE.card, FAKE.card.replace(/ /g, ''), ...FAKE.emails, ...FAKE.phones,
].flatMap((v: string) => [v, v.slice(4, Math.min(v.length, 20))]);

function expectNoRaw(text: string) {
  for (const r of RAW) expect(text, `raw value ${r.slice(0, 6)}… in output`).not.toContain(r);
}

const hitRows = (r: ScanReport) =>
  r.findings.flatMap((f) => (f.dlp ?? []).map((h) => `${h.detector} ${h.where.part} ${h.where.method} ${h.where.path}`)).sort();

const EXPECTED_HITS = [
  'marker response resources/read $.result.contents[0].text',
  'pci.card_number request tools/call $.params.arguments.body',
  'pii.email_bulk request tools/call $.params.arguments.to',
  'pii.phone_bulk request tools/call $.params.arguments.body',
  'secret.aws_access_key_id request tools/call $.params.arguments.api_key',
  'secret.aws_secret_access_key request tools/call $.params.arguments.body',
  'secret.github_token response tools/call $.result.content[0].text',
  'secret.google_api_key response tools/call $.result.content[0].text',
  'secret.jwt request prompts/get $.params.arguments.code',
  'secret.jwt response prompts/get $.result.messages[0].content.text',
  'secret.openai_style_key response tools/call $.result.content[0].text',
  'secret.private_key response tools/call $.result.content[0].text',
  'secret.slack_token request sampling/createMessage $.params.messages[0].content.text',
  'secret.slack_token request tools/call $.params.arguments.text',
  'secret.stripe_key response tools/call $.result.content[0].text',
];

describe('DLP on SDK-made captures', () => {
  let secrets: ScanReport;
  let legacy: ScanReport;
  beforeAll(async () => {
    secrets = await analyze({ captures: [FX('audit-secrets.pcapng')] }, { dlp: DLP });
    legacy = await analyze({ captures: [FX('audit-legacy-secrets.pcapng')] }, { dlp: DLP });
  });

  it('finds every planted secret at its JSON path (Streamable HTTP)', () => {
    expect(secrets.findings).toHaveLength(1);
    expect(hitRows(secrets)).toEqual(EXPECTED_HITS);
    const f = secrets.findings[0];
    expect(f.severity).toBe('critical');
    const emails = f.dlp!.find((h) => h.detector === 'pii.email_bulk')!;
    expect(emails.count).toBe(FAKE.emails.length);
    expect(f.dlp!.find((h) => h.detector === 'secret.github_token')!.masked).toBe(`ghp_…(${FAKE.github.length})`);
    expect(f.dlp!.find((h) => h.detector === 'secret.private_key')!.masked).toMatch(/^-----BEGIN PRIVATE KEY-----…\(\d+\)$/);
    expect(secrets.audit).toMatchObject({ requests: 18, unanswered: 0, alerts: [] });
  });

  it('legacy HTTP+SSE: responses on the event stream pair with their requests, so hits name the same methods', () => {
    expect(hitRows(legacy)).toEqual(EXPECTED_HITS);
    expect(legacy.audit).toMatchObject({ requests: 18, unanswered: 0 });
    expect(legacy.anomalies.find((a) => a.name === 'audit.unmatched_response')).toBeUndefined();
  });

  it('masks every secret in json, ndjson, csv, html and table output', async () => {
    for (const format of ['json', 'ndjson', 'csv', 'html', 'table'] as const) {
      const text = await formatReport(secrets, format);
      expectNoRaw(text);
      expect(text, format).toContain(`ghp_…(${FAKE.github.length})`);
      expect(text, format).toContain('AKIA…(20)');
    }
    const nd = JSON.parse((await formatReport(secrets, 'ndjson')).trim()) as { dlp: Array<{ detector: string; path: string }> };
    expect(nd.dlp.map((h) => h.detector)).toContain('pci.card_number');
    const html = await formatReport(secrets, 'html');
    expect(html).toContain('Data-loss checks (15)');
    expect(html).toContain('$.params.arguments.api_key');
  });

  it('the same traffic without secrets raises nothing (both transports)', async () => {
    for (const file of ['audit-clean.pcapng', 'audit-legacy-clean.pcapng']) {
      const r = await analyze({ captures: [FX(file)] }, { dlp: DLP });
      const plain = await analyze({ captures: [FX(file)] }, { audit: false });
      expect(hitRows(r), file).toEqual([]);
      expect(r.audit!.dlpHits).toBe(0);
      expect(r.audit!.alerts).toEqual([]);
      expect(r.audit!.requests).toBe(11);
      expect(r.findings.map((f) => f.severity)).toEqual(plain.findings.map((f) => f.severity));
    }
  });
});

describe('behaviour alerts on SDK-made captures', () => {
  it('a burst of calls, many resource reads and a large result raise their alerts', async () => {
    const r = await analyze({ captures: [FX('audit-burst.pcapng')] }, { dlp: DLP });
    const alerts = r.audit!.alerts.map((a) => [a.kind, a.subject, a.value]);
    expect(alerts).toEqual([
      ['tool_call_burst', 'search', 41], // 40 burst calls plus the ordinary one
      ['resource_enumeration', 'doc:', 30],
      ['large_result', 'dump', expect.any(Number)],
    ]);
    expect(r.audit!.alerts[2].value).toBeGreaterThan(300 * 1024);
    expect(r.findings[0].alerts).toHaveLength(3);
    expect(hitRows(r)).toEqual([]);
    const html = await formatReport(r, 'html');
    expect(html).toContain('id="alerts"');
    expect(html).toContain('called tool &quot;search&quot; on 10.98.3.10:3000 41 times within 60s');
    expect(await formatReport(r, 'csv')).toContain('tool_call_burst:search=41/30');
  });

  it('thresholds come from the config: raised ones silence the burst', async () => {
    const r = await analyze({ captures: [FX('audit-burst.pcapng')] }, {
      alerts: { toolCallBurst: { maxCalls: 100 }, resourceEnumeration: { maxDistinct: 50 }, largeResult: { maxBytes: 1 << 20 } },
    });
    expect(r.audit!.alerts).toEqual([]);
  });

  it('one client reaching six servers raises many_servers on each of their findings', async () => {
    const r = await analyze({ captures: [FX('audit-many-servers.pcapng')] });
    expect(r.audit!.alerts.map((a) => [a.kind, a.value, a.servers.length])).toEqual([['many_servers', 6, 6]]);
    expect(r.findings.filter((f) => f.alerts?.some((a) => a.kind === 'many_servers'))).toHaveLength(6);
  });

  it('clean captures raise no alert', async () => {
    const r = await analyze({ captures: [FX('audit-clean.pcapng'), FX('audit-secrets.pcapng')] });
    expect(r.audit!.alerts).toEqual([]);
  });

  it('a client calling a tool far above its own steady pace raises tool_call_unusual; the steady pace alone nothing', async () => {
    for (const file of ['audit-steady.pcapng', 'audit-unusual.pcapng', 'audit-clean.pcapng', 'audit-legacy-clean.pcapng']) {
      const alone = await analyze({ captures: [FX(file)] });
      expect(alone.audit!.alerts, file).toEqual([]);
    }
    const r = await analyze({ captures: [FX('audit-steady.pcapng'), FX('audit-unusual.pcapng')] });
    expect(r.audit!.alerts.map((a) => [a.kind, a.client, a.subject, a.value, a.threshold])).toEqual([
      ['tool_call_unusual', '10.98.7.20', 'search', 20, 15], // 23 calls within 60 s: below the fixed burst threshold of 30
    ]);
    expect(r.audit!.alerts[0].detail).toContain('it usually calls it 3 times (median of its 9 earlier busy windows; threshold 15)');
    expect(r.findings[0].alerts!.map((a) => a.kind)).toEqual(['tool_call_unusual']);
    expect(r.findings[0].severity).toBe('high'); // a medium alert does not lower it
    expect(await formatReport(r, 'csv')).toContain('tool_call_unusual:search=20/15');
    expect(await formatReport(r, 'html')).toContain('Tool called far more often than this client usually does');
    // The thresholds come from the config: a larger factor silences it.
    const lax = await analyze({ captures: [FX('audit-steady.pcapng'), FX('audit-unusual.pcapng')] }, { alerts: { toolCallUnusual: { factor: 7 } } });
    expect(lax.audit!.alerts).toEqual([]);
  });
});

describe('shadowtap audit', () => {
  function io() {
    const o = { out: '', err: '' };
    const cli: CliIO = { stdout: (t) => void (o.out += t), stderr: (t) => void (o.err += t), isTTY: false, color: false };
    return { o, cli };
  }
  const dir = mkdtempSync(join(tmpdir(), 'shadowtap-audit-'));
  const config = join(dir, 'shadowtap.config.json');
  writeFileSync(config, JSON.stringify({ dlp: { markers: ['CONFIDENTIAL'] }, alerts: { toolCallBurst: { maxCalls: 30 } } }));

  it('lists every request as NDJSON with masked secrets, and exits 1 on hits', async () => {
    const { o, cli } = io();
    const code = await main(['audit', FX('audit-secrets.pcapng'), '--format', 'ndjson', '--config', config], cli);
    expect(code).toBe(1);
    expectNoRaw(o.out);
    const rows = o.out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows.filter((r) => r.kind === 'request')).toHaveLength(18);
    const envRead = rows.find((r) => r.target === 'read_file' && String(r.args).includes('.env'))!;
    expect(envRead).toMatchObject({ method: 'tools/call', status: 'ok', client_name: 'audit-fixture-client', server_name: 'audit-fixture-server' });
    expect(envRead.result_bytes).toBeGreaterThan(400);
    expect((envRead.dlp as string[]).some((d) => d.startsWith('secret.github_token:ghp_…(40)@response:$.result.content[0].text'))).toBe(true);
    const missing = rows.find((r) => r.target === 'read_file' && String(r.args).includes('missing.txt'))!;
    expect(missing.status).toBe('tool-error');
    const sampling = rows.filter((r) => r.method === 'sampling/createMessage');
    expect(sampling.map((r) => [r.from, r.status])).toEqual([['server', 'ok'], ['server', 'ok']]);
    const email = rows.find((r) => r.target === 'send_email')!;
    expect(String(email.args)).toContain('user…(18)');
    expect(o.err).toContain(`15 data-loss hit(s)`);
  });

  it('table and CSV, and a clean capture exits 0', async () => {
    const t = io();
    expect(await main(['audit', FX('audit-clean.pcapng'), '--config', config], t.cli)).toBe(0);
    expect(t.o.out.split('\n')[0]).toMatch(/^TIME\s+CLIENT\s+SERVER\s+METHOD\s+TARGET\s+ARGS\s+RESULT\s+STATUS\s+DLP$/);
    expect(t.o.out).toContain('tools/call');
    expect(t.o.out).toContain('sampling/createMessage ←');
    const c = io();
    const out = join(dir, 'audit.csv');
    expect(await main(['audit', FX('audit-burst.pcapng'), '-f', 'csv', '-o', out, '--requests-only'], c.cli)).toBe(1);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('time,client,client_name,server,server_name,from,kind,method,id,target,args,args_bytes,status,result_bytes,duration_ms,error_code,error,dlp,file,frame');
    expect(lines).toHaveLength(1 + 82);
    expect(c.o.err).toContain('alert tool_call_burst');
    const u = io();
    expect(await main(['audit', FX('audit-steady.pcapng'), FX('audit-unusual.pcapng'), '--config', config], u.cli)).toBe(1);
    expect(u.o.out).toMatch(/^ALERT medium tool_call_unusual: 10\.98\.7\.20 called tool "search" on 10\.98\.7\.10:3000 up to 20 times/m);
  });

  it('a bad user pattern in the config is a usage error', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ dlp: { patterns: [{ id: 'x', regex: '(' }] } }));
    const { o, cli } = io();
    expect(await main(['audit', FX('audit-clean.pcapng'), '--config', bad], cli)).toBe(2);
    expect(o.err).toMatch(/dlp pattern "x": bad regex/);
    const unknown = join(dir, 'unknown.json');
    writeFileSync(unknown, JSON.stringify({ alerts: { toolCallBurts: {} } }));
    const u = io();
    expect(await main(['audit', FX('audit-clean.pcapng'), '--config', unknown], u.cli)).toBe(2);
    expect(u.o.err).toMatch(/toolCallBurts/);
    for (const bad of [{ factor: 1 }, { minWindows: 0 }, { minCalls: 1.5 }, { windowSeconds: 0 }, { median: 3 }]) {
      writeFileSync(unknown, JSON.stringify({ alerts: { toolCallUnusual: bad } }));
      const b = io();
      expect(await main(['audit', FX('audit-clean.pcapng'), '--config', unknown], b.cli), JSON.stringify(bad)).toBe(2);
      expect(b.o.err).toMatch(/toolCallUnusual/);
    }
  });
});

describe('config', () => {
  it('the example config validates, resolves the baseline path, and its allow list and disables apply', async () => {
    const cfg = await loadConfig(FX('example.config.json'));
    expect(cfg.alerts?.newServer?.baseline).toBe(join(process.cwd(), 'fixtures/audit/known-servers.json'));
    const r = await analyze({ captures: [FX('audit-secrets.pcapng')] }, { dlp: cfg.dlp, alerts: { ...cfg.alerts, newServer: undefined } });
    const found = hitRows(r);
    expect(found.some((h) => h.startsWith('secret.aws_access_key_id'))).toBe(false); // allow-listed
    expect(found.some((h) => h.startsWith('pii.phone_bulk'))).toBe(false); // disabled
    expect(found).toContain('marker response resources/read $.result.contents[0].text');
  });
  it('a new-server baseline raises new_server for servers not in it and records them when asked', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shadowtap-known-'));
    const baseline = join(dir, 'known.json');
    writeFileSync(baseline, JSON.stringify({ servers: { '10.98.1.10:3000': 1_700_000_000 } }));
    const r = await analyze({ captures: [FX('audit-clean.pcapng'), FX('audit-secrets.pcapng')] }, { alerts: { newServer: { baseline, update: true } } });
    expect(r.audit!.alerts.map((a) => [a.kind, a.servers[0]])).toEqual([['new_server', '10.98.2.10:3000']]);
    const saved = JSON.parse(readFileSync(baseline, 'utf8')) as { servers: Record<string, number> };
    expect(Object.keys(saved.servers).sort()).toEqual(['10.98.1.10:3000', '10.98.2.10:3000']);
    const again = await analyze({ captures: [FX('audit-secrets.pcapng')] }, { alerts: { newServer: { baseline } } });
    // Seen before in the baseline, but first seen on the capture's own day: still "first seen today".
    expect(again.audit!.alerts.map((a) => a.kind)).toEqual(['new_server']);
  });
});
