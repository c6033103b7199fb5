// End to end from capture bytes to every output: hostile names in Host, User-Agent, clientInfo, serverInfo,
// tool names, DNS and TLS SNI (hostile-capture.ts) are detected, kept as data (escaped) in every report format,
// and never reach a rule; the refusals are reported one per line; the server address and port still make rules,
// and so does the clean signature-list entry (mcp.linear.app) a hostile *.mcp.linear.app name matched.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../../src/pipeline/scan.js';
import { findingRecord, formatReport } from '../../src/report/formats.js';
import { findingRules } from '../../src/report/html.js';
import type { ScanReport } from '../../src/report/model.js';
import { runRules } from '../../src/cli/commands/rules.js';
import type { CliIO } from '../../src/cli/io.js';
import { buildRuleSet, subjectText, TARGETS } from '../../src/rules/index.js';
import type { Finding } from '../../src/detect/finding.js';
import {
  CLIENT, HOSTILE, IDN_MAPPED, IDN_NAME, LONG_VALID_NAME, MARKER, SERVER, SERVER_PORT, TLS_SERVER, hostileCapture,
} from './hostile-capture.js';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin', 'shadowtap.js');
const IDN_ASCII = 'xn--l1agf.smithery.ai';

/** Every hostile string, as the detector keeps it (names are lowercased by the decoders). */
const HOSTILE_NAMES = [HOSTILE.host, HOSTILE.hostControl, ...HOSTILE.dns, HOSTILE.sni, HOSTILE.longSni].map((n) => n.toLowerCase());
/** Hostile fragments that must not appear raw in HTML (they would be markup or break attributes). */
const RAW_MARKUP = ['<script>alert', '</td><script>', '<\\script>'];

let dir: string;
let pcap: string;
let report: ScanReport;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'shadowtap-hostile-'));
  pcap = join(dir, 'hostile.pcap');
  writeFileSync(pcap, hostileCapture());
  report = await analyze({ captures: [pcap] });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function mcpFinding(): Finding {
  const f = report.findings.find((x) => x.subject.ip === SERVER && x.subject.port === SERVER_PORT);
  expect(f, 'finding for the MCP server').toBeDefined();
  return f!;
}

/** RFC 4180 CSV (quoted fields may hold commas, quotes as "", CR and LF). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"' && cell === '') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\n' || (c === '\r' && text[i + 1] === '\n')) {
      if (c === '\r') i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else cell += c;
  }
  if (cell !== '' || row.length) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}

/** Control characters a terminal or a line-oriented reader would act on (everything C0 but LF, plus DEL and C1). */
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

describe('hostile names: capture → detection', () => {
  it('decodes without a crash and detects the MCP server, the TLS name and the IDN name', () => {
    expect(report.stats.frames).toBeGreaterThan(40);
    const f = mcpFinding();
    expect(f.confidence).toBe('high');
    expect(f.transport).toBe('streamable-http');
    expect(f.signals.map((s) => s.signatureId)).toEqual(expect.arrayContaining(['mcp.jsonrpc.initialize', 'mcp.http.session_header']));
    // Every hostile value reached the finding intact (not skipped, not trimmed).
    expect(f.subject.names).toEqual(expect.arrayContaining([HOSTILE.host.toLowerCase(), HOSTILE.hostControl.toLowerCase(), ...HOSTILE.dns.map((n) => n.toLowerCase())]));
    expect(f.clients).toEqual([expect.objectContaining({ ip: CLIENT, name: HOSTILE.clientName, userAgent: HOSTILE.userAgent })]);
    expect(f.server.name).toBe(HOSTILE.serverName);
    expect(Object.keys(f.tools).sort()).toEqual([...HOSTILE.tools].sort());
    expect(f.paths.sort()).toEqual(['/mcp', HOSTILE.path].sort());

    const tls = report.findings.find((x) => x.subject.ip === TLS_SERVER);
    expect(tls?.subject.names.sort()).toEqual([HOSTILE.sni, HOSTILE.longSni].map((n) => n.toLowerCase()).sort());
    const idn = report.findings.find((x) => x.subject.names.includes(IDN_NAME));
    expect(idn?.transport).toBe('dns-only');
    // Odd DNS names are counted, not dropped.
    expect(report.anomalies.find((a) => a.name === 'dns.suspicious_name')?.count).toBeGreaterThan(0);
  });
});

describe('hostile names: every report format keeps them as data', () => {
  it('json parses back to the very same strings', async () => {
    const back = JSON.parse(await formatReport(report, 'json')) as ScanReport;
    const f = back.findings.find((x) => x.subject.ip === SERVER)!;
    expect(f.clients[0]!.name).toBe(HOSTILE.clientName);
    expect(f.clients[0]!.userAgent).toBe(HOSTILE.userAgent);
    expect(f.server.name).toBe(HOSTILE.serverName);
    expect(Object.keys(f.tools).sort()).toEqual([...HOSTILE.tools].sort());
    expect(f.subject.names).toEqual(mcpFinding().subject.names);
  });

  it('ndjson: one line per finding, each parsing back to the same strings', async () => {
    const text = await formatReport(report, 'ndjson');
    const lines = text.split('\n').filter(Boolean);
    expect(lines).toHaveLength(report.findings.length);
    const recs = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const r = recs.find((x) => x.server_ip === SERVER)!;
    expect(r.client_names).toEqual([HOSTILE.clientName]);
    expect(r.server_name).toBe(HOSTILE.serverName);
    expect(r.names).toEqual(mcpFinding().subject.names);
  });

  it('csv parses back: one row per finding, hostile cells intact', async () => {
    const rows = parseCsv(await formatReport(report, 'csv'));
    const [header, ...body] = rows;
    expect(body).toHaveLength(report.findings.length);
    for (const row of body) expect(row).toHaveLength(header!.length);
    const col = (name: string) => header!.indexOf(name);
    const row = body.find((r) => r[col('server_ip')] === SERVER)!;
    expect(row[col('client_names')]).toBe(HOSTILE.clientName);
    expect(row[col('server_name')]).toBe(HOSTILE.serverName);
    expect(row[col('server_port')]).toBe(String(SERVER_PORT));
    for (const tool of HOSTILE.tools) expect(row[col('tools')]).toContain(`${tool}=1`);
    expect(row[col('names')]).toBe(mcpFinding().subject.names.join(' '));
  });

  it('html: no markup from the capture, the hostile text escaped and still shown', async () => {
    for (const html of [await formatReport(report, 'html'), await formatReport(report, 'html', { html: { rules: findingRules(report.findings) } })]) {
      const scripts = html.match(/<script\b/gi) ?? [];
      // The template's own scripts (if any) carry no capture text.
      for (const raw of RAW_MARKUP) expect(html).not.toContain(raw);
      expect(html).not.toMatch(/alert\(\d\)<\/script>/);
      expect(scripts.length).toBeLessThanOrEqual(((await formatReport({ ...report, findings: [] }, 'html')).match(/<script\b/gi) ?? []).length);
      expect(html).toContain('zzq-server&lt;/td&gt;&lt;script&gt;alert(2)&lt;/script&gt;');
      expect(html).toContain('alert(1)&lt;/script&gt;');
      expect(html).toContain('zzq_tool2&lt;script&gt;alert(3)&lt;/script&gt;');
      // Quotes are escaped too, so no value can close an attribute.
      expect(html).toContain('zzq_tool&quot;;rm -rf /;$(id)');
    }
  });

  it('table: one line per finding, no control characters from the capture reach the terminal', async () => {
    const table = await formatReport(report, 'table');
    expect(table).not.toMatch(CONTROL);
    const lines = table.split('\n');
    const rows = lines.slice(1, lines.indexOf(''));
    expect(rows).toHaveLength(report.findings.length);
    for (const r of rows) expect(r).toMatch(/^(SHADOW|approved) /);
    const mcpRow = rows.find((r) => r.includes(`${SERVER}:${SERVER_PORT}`))!;
    expect(mcpRow).toContain(MARKER); // kept as data, escaped, not dropped
    expect(mcpRow).toContain('\\u000d'); // the CR of clientInfo.name, shown escaped
    expect(table).not.toMatch(/[\u202a-\u202e\u2066-\u2069]/); // no bidi override from a name reorders the line
  });
});

describe('hostile names: no rule carries capture text', () => {
  let outDir: string;
  let stdout: string;
  let stderr: string;
  let code: number;
  const outputs = new Map<string, string>();

  beforeAll(async () => {
    outDir = join(dir, 'rules');
    let out = '';
    let err = '';
    const io: CliIO = { stdout: (t) => { out += t; }, stderr: (t) => { err += t; }, isTTY: false, color: false };
    code = await runRules({ findings: report.findings, target: ['all'], out: outDir, block: ['all'], minConfidence: 'low' }, io);
    stdout = out;
    stderr = err;
    for (const t of TARGETS) {
      const file = join(outDir, t.meta.fileName);
      if (existsSync(file)) outputs.set(t.meta.id, readFileSync(file, 'utf8'));
    }
  });

  it('renders every target (nothing fails closed)', () => {
    expect(stderr).not.toMatch(/not rendered/);
    expect(code).toBe(0);
    expect(stdout).toBe('');
    expect([...outputs.keys()].sort()).toEqual(TARGETS.map((t) => t.meta.id).sort());
  });

  it('no target output holds the marker or any hostile fragment', () => {
    for (const [id, text] of outputs) {
      expect(text.toLowerCase(), id).not.toContain(MARKER);
      expect(text, id).not.toMatch(/\$\(id\)|<script|rm -rf|drop\$|[\u0000\r\u001b\u202e]/);
      expect(text, id).not.toContain(IDN_NAME.split('.')[0]); // raw Unicode never; punycode only
    }
    // And the same through buildRuleSet + render, each target separately.
    const set = buildRuleSet(report.findings, { block: ['all'], minConfidence: 'low' });
    for (const t of TARGETS) expect(t.render(set).toLowerCase(), t.meta.id).not.toContain(MARKER);
  });

  it('every hostile name is refused and listed on stderr, one line each, escaped', () => {
    const set = buildRuleSet(report.findings, { block: ['all'], minConfidence: 'low' });
    const refusedNames = set.refusals.filter((r) => r.field === 'name' || r.field === 'domain');
    for (const name of HOSTILE_NAMES) {
      const preview = JSON.stringify(name.length > 80 ? name.slice(0, 80) + '...' : name).replace(/[^\x20-\x7e]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
      expect(refusedNames.map((r) => r.preview), name).toContain(preview);
      expect(stderr).toContain(preview);
    }
    // One line per problem: no raw control character, every line a summary line or an indented refusal.
    expect(stderr).not.toMatch(CONTROL);
    for (const line of stderr.trimEnd().split('\n')) expect(line).toMatch(/^(shadowtap rules: |  finding [0-9a-f?]+ \w+ )/);
    const refusalLines = stderr.split('\n').filter((l) => l.startsWith('  finding '));
    expect(refusalLines).toHaveLength(set.refusals.length);
    // The hostile request path is refused too; /mcp alone is fine but has no valid host name to pair with.
    expect(set.refusals.filter((r) => r.field === 'path').map((r) => r.preview)).toEqual([JSON.stringify(HOSTILE.path)]);
  });

  it('the safe parts still make rules: the server addresses and ports, and the IDN name in punycode', () => {
    const ipTargets = ['nftables', 'iptables', 'pf', 'windows-firewall', 'suricata', 'zeek-intel', 'cloudflare-network', 'cloudflare-terraform'];
    for (const id of ipTargets) {
      const text = outputs.get(id)!;
      expect(text, id).toContain(SERVER);
      expect(text, id).toContain(TLS_SERVER);
    }
    expect(outputs.get('nftables')).toMatch(new RegExp(`${SERVER.replace(/\./g, '\\.')}.*\\b${SERVER_PORT}\\b`));
    expect(outputs.get('iptables')).toMatch(new RegExp(`-d ${SERVER.replace(/\./g, '\\.')}(/32)?\\b.*--dport ${SERVER_PORT}\\b`));
    for (const id of ['rpz', 'unbound', 'dnsmasq', 'hosts', 'cloudflare-dns']) {
      expect(outputs.get(id), id).toContain(IDN_ASCII);
      expect(outputs.get(id), id).toContain(LONG_VALID_NAME);
      // Names IDNA maps to another valid name appear only in their ASCII form.
      for (const [raw, ascii] of IDN_MAPPED) {
        expect(outputs.get(id), id).toContain(ascii);
        expect(outputs.get(id), id).not.toContain(raw);
      }
    }
    const set = buildRuleSet(report.findings, { block: ['all'], minConfidence: 'low' });
    const endpoints = set.rules.filter((r) => r.subject.kind === 'endpoint').map((r) => r.key);
    expect(endpoints).toEqual(expect.arrayContaining([`endpoint|${SERVER}|${SERVER_PORT}`, `endpoint|${TLS_SERVER}|443`]));
  });

  it('a hosted name with junk in front still blocks the list entry it matched (mcp.linear.app), never the junk', () => {
    const set = buildRuleSet(report.findings, { block: ['all'], minConfidence: 'low' });
    const tls = report.findings.find((x) => x.subject.ip === TLS_SERVER)!;
    // Both findings' domain is a hostile *.mcp.linear.app name (Host header, SNI); the signature list entry is clean.
    expect([mcpFinding(), tls].map((f) => f.subject.listEntry)).toEqual(['mcp.linear.app', 'mcp.linear.app']);
    const names = set.rules.filter((r) => r.subject.kind === 'name');
    const clean = [LONG_VALID_NAME, IDN_ASCII, ...IDN_MAPPED.map(([, ascii]) => ascii)];
    expect(names.map((r) => subjectText(r.subject)).sort()).toEqual(
      [...clean.flatMap((n) => [n, `${n} and subdomains`]), 'mcp.linear.app and subdomains'].sort(),
    );
    const entry = names.find((r) => r.key === 'name|subtree|mcp.linear.app')!;
    expect(entry.because.map((b) => b.value).sort()).toEqual([mcpFinding().id, tls.id].sort());
    for (const id of ['rpz', 'unbound', 'dnsmasq', 'hosts', 'squid', 'suricata', 'zeek-intel', 'cloudflare-dns', 'cloudflare-terraform']) {
      expect(outputs.get(id), id).toMatch(/(^|[^a-z0-9-])mcp\.linear\.app\b/m);
    }
    // The hostile names stay refused, once per field they sit in; the entry adds no refusal of its own.
    expect(set.refusals.filter((r) => r.field === 'listEntry')).toEqual([]);
    expect(set.refusals.filter((r) => r.field === 'domain').map((r) => r.findingId).sort()).toEqual([mcpFinding().id, tls.id].sort());
  });
});

describe('hostile names: the built CLI', () => {
  const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  const noStack = (stderr: string) => {
    expect(stderr).not.toMatch(/\n\s+at .+:\d+:\d+\)?/);
    expect(stderr).not.toMatch(/^(Type|Range|Syntax)?Error\b/m);
    expect(stderr).not.toMatch(CONTROL);
  };

  it('scan --format json: exit 1 (findings), JSON that parses back to the hostile strings', () => {
    const r = run('scan', pcap, '--format', 'json');
    noStack(r.stderr);
    expect(r.status).toBe(1);
    const back = JSON.parse(r.stdout) as ScanReport;
    const f = back.findings.find((x) => x.subject.ip === SERVER)!;
    expect(f.clients[0]!.name).toBe(HOSTILE.clientName);
    expect(findingRecord(f).tools).toEqual(mcpFinding().tools);
  });

  it('scan (table): exit 1, every finding one line, capture text escaped', () => {
    const r = run('scan', pcap);
    noStack(r.stderr);
    expect(r.status).toBe(1);
    expect(r.stdout).not.toMatch(CONTROL);
    const lines = r.stdout.split('\n');
    expect(lines.slice(1, lines.indexOf(''))).toHaveLength(report.findings.length);
  });

  it('rules FILE -t all -o DIR: exit 0, every target written, no marker in any, refusals one per line', () => {
    const out = join(dir, 'cli-rules');
    const r = run('rules', pcap, '-t', 'all', '-o', out);
    noStack(r.stderr);
    expect(r.status).toBe(0);
    const files = readdirSync(out).sort();
    expect(files).toEqual(TARGETS.map((t) => t.meta.fileName).sort());
    for (const file of files) expect(readFileSync(join(out, file), 'utf8').toLowerCase(), file).not.toContain(MARKER);
    expect(readFileSync(join(out, TARGETS.find((t) => t.meta.id === 'nftables')!.meta.fileName), 'utf8')).toContain(SERVER);
    const lines = r.stderr.trimEnd().split('\n');
    for (const line of lines) expect(line).toMatch(/^(shadowtap rules: |  finding [0-9a-f?]+ \w+ )/);
    expect(lines.filter((l) => l.startsWith('  finding ')).length).toBeGreaterThanOrEqual(HOSTILE_NAMES.length);
  });
});
