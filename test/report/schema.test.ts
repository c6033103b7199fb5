// The published schemas (schemas/*.schema.json) against real output: the pipeline run over every fixture capture
// and log (alone, mixed, damaged, with an approved registry, with the audit config), formatted by formatReport and
// by the CLI, plus an inventory store filled by two imports and one filled by `scan --db` over the audit captures
// (data-loss hits and behaviour alerts); every JSON report, NDJSON line and inventory record is validated with ajv,
// and the schemas must reject what the code never writes.
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv2020Module from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertKind, AuditSection, BehaviourAlert, DlpCategory, DlpHit, DlpLocation, MessagePart } from '../../src/audit/types.js';
import { main } from '../../src/cli/main.js';
import type { CliIO } from '../../src/cli/io.js';
import type { AnomalySummary, Location } from '../../src/core/anomalies.js';
import type { Confidence, Evidence, Finding, FindingClient, Severity, Signal, Transport } from '../../src/detect/finding.js';
import type { SourceRef } from '../../src/detect/observation.js';
import { analyze, type ScanOptions } from '../../src/pipeline/scan.js';
import { findingRecord, formatReport } from '../../src/report/formats.js';
import { isoTime } from '../../src/report/messages.js';
import type { InputSummary, ReportSummary, ScanReport } from '../../src/report/model.js';

// ajv and ajv-formats are CommonJS: under NodeNext the default import may be the module object.
type AjvLike = { compile(schema: object): ValidateFn };
type ValidateFn = ((data: unknown) => boolean) & { errors?: Array<{ instancePath: string; keyword: string; message?: string; params: Record<string, unknown> }> | null };
const Ajv2020 = ((Ajv2020Module as unknown as { default?: unknown }).default ?? Ajv2020Module) as new (opts: object) => AjvLike;
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: AjvLike) => void;

const ROOT = join(import.meta.dirname, '..', '..');
const FIX = join(ROOT, 'fixtures');
const reportSchema = JSON.parse(readFileSync(join(ROOT, 'schemas', 'report.schema.json'), 'utf8')) as SchemaNode & { $defs: Record<string, SchemaNode> };
const inventorySchema = JSON.parse(readFileSync(join(ROOT, 'schemas', 'inventory.schema.json'), 'utf8')) as SchemaNode & { $defs: Record<string, SchemaNode> };
const recordSchema = JSON.parse(readFileSync(join(ROOT, 'schemas', 'finding-record.schema.json'), 'utf8')) as SchemaNode & { $defs: Record<string, SchemaNode> };

interface SchemaNode {
  type?: string | string[];
  enum?: string[];
  const?: unknown;
  properties?: Record<string, SchemaNode>;
  required?: string[];
  items?: SchemaNode;
  $ref?: string;
  description?: string;
  additionalProperties?: boolean | SchemaNode;
  oneOf?: SchemaNode[];
  anyOf?: SchemaNode[];
}

// strict: unknown keywords, unknown formats and keywords without their type are schema errors, not silently ignored.
const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true, strictRequired: false });
addFormats(ajv);
const validateReport = ajv.compile(reportSchema);
const validateRecord = ajv.compile(recordSchema);
const validateInventory = ajv.compile(inventorySchema);
const inventoryDef = (name: string): ValidateFn => ajv.compile({ $ref: `https://shadowtap.dev/schemas/inventory.json#/$defs/${name}` });

function problems(validate: ValidateFn): string {
  return (validate.errors ?? [])
    .map((e) => `${e.instancePath || '/'} ${e.keyword}: ${e.message ?? ''} ${JSON.stringify(e.params)}`)
    .join('\n');
}

function files(dir: string, keep: (name: string) => boolean): string[] {
  return readdirSync(dir).filter(keep).sort().map((f) => join(dir, f));
}

const isCapture = (f: string) => /\.(pcap|pcapng)(\.gz)?$/.test(f);
const CAPTURES = [
  ...files(join(FIX, 'pcap'), isCapture),
  ...files(join(FIX, 'audit'), isCapture),
  ...files(join(FIX, 'decode'), isCapture),
  ...files(join(FIX, 'sample'), isCapture),
  ...files(join(FIX, 'logs', 'suricata'), isCapture),
];
const AUDIT_CAPTURES = files(join(FIX, 'audit'), isCapture);
/** Every log fixture, each in its own format directory (tools/ holds the configs that made them). */
const LOGS = readdirSync(join(FIX, 'logs'))
  .filter((d) => d !== 'tools' && statSync(join(FIX, 'logs', d)).isDirectory())
  .sort()
  .flatMap((d) => files(join(FIX, 'logs', d), (f) => !isCapture(f)));
const CSV_MAP = 'ts=time,src=client_ip,dst=server_ip,dport=port,host=hostname,path=url_path,method=verb,status=code';
const MIXED_CAPTURES = ['sdk-streamable-sse-stateful.pcapng', 'dns-mcp-names.pcapng', 'tls-sni-mcp-notion.pcapng', 'supergateway-stdio-to-websocket.pcapng']
  .map((f) => join(FIX, 'pcap', f));
const MIXED_LOGS = ['suricata/eve.json', 'zeek/http.log', 'zeek/dns.log', 'cloudflare/gateway_network.ndjson', 'iptables/dmesg.log']
  .map((f) => join(FIX, 'logs', f));

/** One entry per kind the registry can match on, each aimed at a fixture subject. */
const APPROVED = {
  servers: [{ ip: '10.99.1.10', port: 3000, note: 'sdk-streamable-sse-stateful' }, { ip: '10.98.1.10', port: 3000, note: 'audit-clean' }, { host: 'mcp.corp.test' }],
  domains: ['linear.app'],
  ranges: ['10.20.0.0/24'],
  portals: ['registry.smithery.ai'],
};

interface Run {
  label: string;
  report: ScanReport;
  /** The report as a consumer reads it: formatReport's JSON text parsed back. */
  json: unknown;
  ndjson: unknown[];
}

let dir: string;
const runs: Run[] = [];
const cliOutputs: Array<{ label: string; format: 'json' | 'ndjson'; text: string }> = [];
/** `shadowtap inventory …` outputs, by argv after `inventory`. */
const inventoryOutputs = new Map<string, string>();
/** The same for the store filled by `scan --db` over the audit captures (plus one log import). */
const auditOutputs = new Map<string, string>();
/** Show keys of that store: the server with data-loss hits, the one with alerts, a client with hits. */
const auditKeys = { dlpServer: '', alertServer: '', dlpClient: '' };
const AUDIT_SECRETS = join(FIX, 'audit', 'audit-secrets.pcapng');
const AUDIT_BURST = join(FIX, 'audit', 'audit-burst.pcapng');

async function run(label: string, inputs: { captures?: string[]; logs?: string[] }, options: ScanOptions = {}): Promise<void> {
  const report = await analyze(inputs, options);
  const text = await formatReport(report, 'json');
  const nd = await formatReport(report, 'ndjson');
  runs.push({ label, report, json: JSON.parse(text), ndjson: nd.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as unknown) });
}

function fakeIO(): CliIO & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, stdout: (t) => void out.push(t), stderr: (t) => void err.push(t), isTTY: false, color: false };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'shadowtap-schema-'));
  const approved = join(dir, 'approved.json');
  writeFileSync(approved, JSON.stringify(APPROVED));
  const config = JSON.parse(readFileSync(join(FIX, 'audit', 'example.config.json'), 'utf8')) as { dlp: ScanOptions['dlp']; alerts: NonNullable<ScanOptions['alerts']> };

  for (const c of CAPTURES) await run(`capture ${c}`, { captures: [c] }, { approved });
  for (const l of LOGS) await run(`log ${l}`, { logs: [l] }, { approved, logMap: l.endsWith('.csv') ? CSV_MAP : undefined });
  await run('mixed captures and logs', { captures: MIXED_CAPTURES, logs: MIXED_LOGS }, { approved });
  await run('mixed, no registry', { captures: MIXED_CAPTURES, logs: MIXED_LOGS });
  // The audit config: marker words, custom patterns (plus one the fixtures surely contain: the fixture programs'
  // clientInfo/serverInfo names), and a baseline file that does not exist yet (every server is new).
  const patterns = [...(config.dlp?.patterns ?? []), { id: 'fixture-name', regex: 'audit-fixture-[a-z]+', reveal: true }];
  await run('audit captures with the example config', { captures: AUDIT_CAPTURES }, {
    approved,
    dlp: { ...config.dlp, patterns },
    alerts: { ...config.alerts, newServer: { baseline: join(dir, 'known-servers.json'), update: false } },
  });
  // Damaged input: a capture cut mid-record and a log with garbage lines, so anomalies carry frame and line examples.
  const whole = readFileSync(join(FIX, 'pcap', 'sdk-streamable-sse-stateful.pcapng'));
  const cut = join(dir, 'cut.pcapng');
  writeFileSync(cut, whole.subarray(0, Math.floor(whole.length * 0.6) + 3));
  const damagedLog = join(dir, 'dnsmasq-damaged.log');
  const logText = readFileSync(join(FIX, 'logs', 'dnsmasq', 'dnsmasq.log'), 'utf8');
  writeFileSync(damagedLog, `${logText}\u0000\u0001 not a dnsmasq line\n${'x'.repeat(70 * 1024)}\n${logText.split('\n')[0]}\n`);
  await run('damaged capture and log', { captures: [cut], logs: [damagedLog] }, { approved });
  await run('audit switched off', { captures: AUDIT_CAPTURES.slice(0, 2) }, { audit: false });

  // The command line itself, as users and SIEM shippers call it.
  const cli: Array<[string, 'json' | 'ndjson', string[]]> = [
    ['scan --format json', 'json', ['scan', ...MIXED_CAPTURES, '--format', 'json', '--approved', approved]],
    ['scan --format ndjson', 'ndjson', ['scan', ...MIXED_CAPTURES, '--format', 'ndjson', '--approved', approved]],
    ['scan --min-confidence high --format json', 'json', ['scan', ...MIXED_CAPTURES, ...MIXED_LOGS, '--format', 'json', '--min-confidence', 'high']],
    ['import --format-out json', 'json', ['import', ...MIXED_LOGS, '--format-out', 'json', '--approved', approved]],
    ['import --format-out ndjson', 'ndjson', ['import', ...MIXED_LOGS, '--format-out', 'ndjson']],
  ];
  for (const [label, format, argv] of cli) {
    const io = fakeIO();
    const code = await main([...argv, '--quiet', '--fail-on', 'none'], io);
    expect(code, `${label}: ${io.err.join('')}`).toBe(0);
    cliOutputs.push({ label, format, text: io.out.join('') });
  }

  // The inventory store: two import runs over overlapping logs (so rows are merged and runs > 1), then every
  // JSON and NDJSON view of it.
  const db = join(dir, 'inventory.db');
  for (const logs of [MIXED_LOGS.slice(0, 3), MIXED_LOGS]) {
    const code = await main(['import', '--db', db, ...logs, '--approved', approved, '--quiet', '--fail-on', 'none', '--format-out', 'json'], fakeIO());
    expect(code).toBe(0);
  }
  const views = [
    ['export'], ['export', '--format', 'ndjson'], ['list', '--format', 'json'], ['list', '--kind', 'domains', '--format', 'json'],
    ['list', '--kind', 'clients', '--format', 'json'], ['runs', '--format', 'json'], ['show', 'mcp.linear.app', '--format', 'json'],
    ['show', '127.0.0.1', '--format', 'json'],
  ];
  for (const v of views) {
    const io = fakeIO();
    const code = await main(['inventory', ...v, '--db', db], io);
    expect(code, `inventory ${v.join(' ')}: ${io.err.join('')}`).toBe(0);
    inventoryOutputs.set(v.join(' '), io.out.join(''));
  }

  // The store `scan --db` fills: the secrets and burst captures (run 1), the secrets capture again (skipped: a run
  // that merges nothing), its gzip copy (new content hash, same hits: run_ids [1, 3]), then a log import (kind import).
  const auditDb = join(dir, 'audit-inventory.db');
  const secretsGz = join(dir, 'audit-secrets.pcapng.gz');
  writeFileSync(secretsGz, gzipSync(readFileSync(AUDIT_SECRETS)));
  const fills: string[][] = [
    ['scan', AUDIT_SECRETS, AUDIT_BURST, '--db', auditDb], ['scan', AUDIT_SECRETS, '--db', auditDb], ['scan', secretsGz, '--db', auditDb],
    ['import', MIXED_LOGS[0], '--db', auditDb, '--format-out', 'json'],
  ];
  for (const argv of fills) {
    const io = fakeIO();
    const code = await main([...argv, '--quiet', '--fail-on', 'none', ...(argv[0] === 'scan' ? ['-f', 'json'] : [])], io);
    expect(code, `${argv.join(' ')}: ${io.err.join('')}`).toBe(0);
  }
  const inventory = async (argv: string[]): Promise<string> => {
    const io = fakeIO();
    const code = await main(['inventory', ...argv, '--db', auditDb], io);
    expect(code, `inventory ${argv.join(' ')}: ${io.err.join('')}`).toBe(0);
    auditOutputs.set(argv.join(' '), io.out.join(''));
    return io.out.join('');
  };
  const servers = JSON.parse(await inventory(['list', '--format', 'json'])) as Array<{ server_ip: string | null; server_port: number | null; dlp: number; alerts: number }>;
  const endpoint = (s: (typeof servers)[number]) => `${s.server_ip}:${s.server_port}`;
  auditKeys.dlpServer = endpoint(servers.find((s) => s.dlp > 0) ?? servers[0]);
  auditKeys.alertServer = endpoint(servers.find((s) => s.alerts > 0) ?? servers[0]);
  const hits = JSON.parse(await inventory(['list', '-k', 'dlp', '--format', 'json'])) as Array<{ clients: string[] }>;
  auditKeys.dlpClient = hits[0]?.clients[0] ?? '';
  for (const v of [
    ['export'], ['export', '--format', 'ndjson'], ['list', '-k', 'alerts', '--format', 'json'], ['list', 'dlp', '--format', 'json'],
    ['list', 'alerts', '--format', 'json'], ['runs', '--format', 'json'], ['show', auditKeys.dlpServer, '--format', 'json'],
    ['show', auditKeys.alertServer, '--format', 'json'], ['show', auditKeys.dlpClient, '--format', 'json'],
  ]) await inventory(v);
}, 300_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the runs cover what the schemas describe', () => {
  it('every fixture was read, and the interesting shapes occur', () => {
    const reports = runs.map((r) => r.report);
    const findings = reports.flatMap((r) => r.findings);
    expect(runs.length).toBe(CAPTURES.length + LOGS.length + 5);
    expect(reports.flatMap((r) => r.inputs).filter((i) => i.kind === 'log').map((i) => i.format)).toContain('csv');
    expect(new Set(findings.map((f) => f.transport))).toEqual(new Set(Object.keys(TRANSPORTS)));
    // Every kind of registry match, name-only findings, DLP hits, alerts of several kinds, anomalies with examples.
    expect(new Set(findings.filter((f) => f.approved).map((f) => f.approvedBy!.split(' ')[0]))).toEqual(new Set(['server', 'domain', 'range', 'portal']));
    expect(findings.some((f) => f.subject.ip === undefined && f.subject.names.length > 0)).toBe(true);
    expect(findings.some((f) => f.subject.ip?.includes(':'))).toBe(true);
    expect(findings.some((f) => f.sources.length === 2)).toBe(true);
    const hits = findings.flatMap((f) => f.dlp ?? []);
    expect(new Set(hits.map((h) => h.category))).toEqual(new Set(['secret', 'pci', 'pii', 'marker', 'custom']));
    const alerts = reports.flatMap((r) => r.audit?.alerts ?? []);
    expect(new Set(alerts.map((a) => a.kind))).toEqual(new Set(Object.keys(ALERT_KINDS)));
    expect(reports.some((r) => r.anomalies.some((a) => a.examples.length > 0))).toBe(true);
    expect(reports.some((r) => r.audit === undefined)).toBe(true);
  });
});

describe('schemas/report.schema.json', () => {
  it('accepts every JSON report of every run', () => {
    const bad: string[] = [];
    for (const r of runs) if (!validateReport(r.json)) bad.push(`${r.label}:\n${problems(validateReport)}`);
    expect(bad).toEqual([]);
  });

  it('accepts the CLI JSON output of scan and import', () => {
    const json = cliOutputs.filter((o) => o.format === 'json');
    expect(json.length).toBe(3);
    for (const o of json) {
      const parsed = JSON.parse(o.text) as ScanReport;
      expect(parsed.findings.length, o.label).toBeGreaterThan(0);
      expect(validateReport(parsed), `${o.label}\n${problems(validateReport)}`).toBe(true);
    }
  });

  it('rejects a report with an unknown top-level key', () => {
    const report = structuredClone(runs.find((r) => r.report.findings.length > 0)!.json) as Record<string, unknown>;
    expect(validateReport(report)).toBe(true);
    report.rules = [];
    expect(validateReport(report)).toBe(false);
    expect(validateReport.errors).toContainEqual(expect.objectContaining({ instancePath: '', keyword: 'additionalProperties', params: { additionalProperty: 'rules' } }));
  });

  it('rejects a finding with a bad confidence, and other shapes the code never makes', () => {
    const shadowWithDlp = (f: Finding) => !f.approved && (f.dlp ?? []).length > 0;
    const base = runs.find((r) => r.report.findings.some((f) => f.approved) && r.report.findings.some(shadowWithDlp))!.json as ScanReport;
    expect(validateReport(base)).toBe(true);
    const i = base.findings.findIndex(shadowWithDlp);
    const a = base.findings.findIndex((f) => f.approved);
    const cases: Array<[string, (r: ScanReport) => void, string]> = [
      ['confidence', (r) => void ((r.findings[i] as { confidence: string }).confidence = 'certain'), `/findings/${i}/confidence`],
      ['severity', (r) => void ((r.findings[i] as { severity: string }).severity = 'urgent'), `/findings/${i}/severity`],
      ['transport', (r) => void ((r.findings[i] as { transport: string }).transport = 'stdio'), `/findings/${i}/transport`],
      ['score above 1', (r) => void (r.findings[i].score = 1.5), `/findings/${i}/score`],
      ['id not hex', (r) => void (r.findings[i].id = 'XYZ'), `/findings/${i}/id`],
      ['unknown finding key', (r) => void ((r.findings[i] as unknown as Record<string, unknown>).rule = 'x'), `/findings/${i}`],
      ['approved without approvedBy', (r) => void delete r.findings[a].approvedBy, `/findings/${a}`],
      ['approvedBy on a shadow finding', (r) => void (r.findings[i].approvedBy = 'server 10.0.0.1'), `/findings/${i}`],
      ['whole secret instead of mask, as an extra key', (r) => void ((r.findings[i].dlp![0] as unknown as Record<string, unknown>).value = 'AKIA...'), `/findings/${i}/dlp/0`],
      ['dlp part', (r) => void ((r.findings[i].dlp![0].where as { part: string }).part = 'body'), `/findings/${i}/dlp/0/where/part`],
      ['client ip', (r) => void (r.findings[i].clients[0].ip = 'not-an-ip'), `/findings/${i}/clients/0/ip`],
      ['stats value', (r) => void ((r.stats as Record<string, unknown>).frames = 'many'), '/stats/frames'],
      ['summary key missing', (r) => void delete (r.summary as Partial<ReportSummary>).byConfidence, '/summary'],
    ];
    for (const [label, mutate, path] of cases) {
      const r = structuredClone(base);
      mutate(r);
      expect(validateReport(r), label).toBe(false);
      expect(validateReport.errors!.map((e) => e.instancePath), label).toContain(path);
    }
  });
});

describe('schemas/finding-record.schema.json', () => {
  it('accepts every NDJSON line of every run, one line per finding, in report order', () => {
    const bad: string[] = [];
    let lines = 0;
    for (const r of runs) {
      expect(r.ndjson.map((l) => (l as { id: string }).id), r.label).toEqual(r.report.findings.map((f) => f.id));
      r.ndjson.forEach((line, n) => {
        lines++;
        if (!validateRecord(line)) bad.push(`${r.label} line ${n + 1}:\n${problems(validateRecord)}`);
      });
    }
    expect(bad).toEqual([]);
    expect(lines).toBeGreaterThan(50);
  });

  it('accepts the CLI NDJSON output, and the live-capture form with `event`', () => {
    const nd = cliOutputs.filter((o) => o.format === 'ndjson');
    expect(nd.length).toBe(2);
    for (const o of nd) {
      const lines = o.text.split('\n').filter(Boolean);
      expect(lines.length, o.label).toBeGreaterThan(0);
      for (const l of lines) expect(validateRecord(JSON.parse(l)), `${o.label}: ${l}\n${problems(validateRecord)}`).toBe(true);
    }
    // `shadowtap capture --format ndjson` prints findingRecord() plus `event` (src/cli/commands/capture.ts).
    const f = runs.flatMap((r) => r.report.findings)[0];
    expect(validateRecord({ ...findingRecord(f), event: 'new' })).toBe(true);
    expect(validateRecord({ ...findingRecord(f), event: 'gone' })).toBe(false);
  });

  it('rejects a record with a bad confidence, an unknown key, or inconsistent nulls', () => {
    const f = runs.flatMap((r) => r.report.findings).find((x) => x.approved && x.subject.ip !== undefined)!;
    const good = JSON.parse(JSON.stringify(findingRecord(f))) as Record<string, unknown>;
    expect(validateRecord(good), problems(validateRecord)).toBe(true);
    const cases: Array<[string, (r: Record<string, unknown>) => void, string]> = [
      ['confidence', (r) => void (r.confidence = 'certain'), '/confidence'],
      ['unknown key', (r) => void (r.extra = 1), ''],
      ['missing key', (r) => void delete r.domain, ''],
      ['status', (r) => void (r.status = 'blocked'), '/status'],
      ['approved without approved_by', (r) => void (r.approved_by = null), '/approved_by'],
      ['ip without port', (r) => void (r.server_port = null), '/server_port'],
      ['time not ISO', (r) => void (r.first_seen = 1795599793.5), '/first_seen'],
      ['time without microseconds', (r) => void (r.last_seen = '2026-11-25T08:20:01Z'), '/last_seen'],
      ['no signatures', (r) => void (r.signatures = []), '/signatures'],
      ['client not an address', (r) => void (r.clients = ['laptop']), '/clients/0'],
    ];
    for (const [label, mutate, path] of cases) {
      const r = structuredClone(good);
      mutate(r);
      expect(validateRecord(r), label).toBe(false);
      expect(validateRecord.errors!.map((e) => e.instancePath), label).toContain(path);
    }
  });
});

// ---------- the schemas against the TypeScript types ----------
// Each list below is checked against a TypeScript type by `satisfies` (a missing or extra name fails typechecking),
// and against the schema at run time, so a field added to the code but not to the schema is caught either way.

const TRANSPORTS = { 'streamable-http': 1, 'legacy-sse': 1, websocket: 1, 'ndjson-tcp': 1, http: 1, tls: 1, 'dns-only': 1, 'conn-only': 1 } satisfies Record<Transport, 1>;
const CONFIDENCES = { low: 1, medium: 1, high: 1 } satisfies Record<Confidence, 1>;
const SEVERITIES = { info: 1, low: 1, medium: 1, high: 1, critical: 1 } satisfies Record<Severity, 1>;
const DLP_CATEGORIES = { secret: 1, pci: 1, pii: 1, marker: 1, custom: 1 } satisfies Record<DlpCategory, 1>;
const PARTS = { request: 1, response: 1, error: 1, notification: 1 } satisfies Record<MessagePart, 1>;
const ALERT_KINDS = { tool_call_burst: 1, tool_call_unusual: 1, resource_enumeration: 1, large_result: 1, many_servers: 1, new_server: 1 } satisfies Record<AlertKind, 1>;
const SOURCE_KINDS = { pcap: 1, log: 1 } satisfies Record<SourceRef['kind'], 1>;
const INPUT_KINDS = { capture: 1, log: 1 } satisfies Record<InputSummary['kind'], 1>;

const REPORT_KEYS = { tool: 1, inputs: 1, summary: 1, findings: 1, anomalies: 1, stats: 1, audit: 1 } satisfies Record<keyof ScanReport, 1>;
const INPUT_KEYS = { file: 1, kind: 1, format: 1, bytes: 1, records: 1, observations: 1 } satisfies Record<keyof InputSummary, 1>;
const SUMMARY_KEYS = { findings: 1, shadow: 1, approved: 1, byConfidence: 1, clients: 1, names: 1, anomalies: 1 } satisfies Record<keyof ReportSummary, 1>;
const FINDING_KEYS = {
  id: 1, subject: 1, transport: 1, clients: 1, server: 1, paths: 1, methods: 1, tools: 1, signals: 1, confidence: 1, score: 1,
  severity: 1, firstSeen: 1, lastSeen: 1, sources: 1, approved: 1, approvedBy: 1, dlp: 1, alerts: 1,
} satisfies Record<keyof Finding, 1>;
const SUBJECT_KEYS = { ip: 1, port: 1, names: 1, domain: 1, listEntry: 1 } satisfies Record<keyof Finding['subject'], 1>;
const SERVER_KEYS = { name: 1, version: 1, protocolVersion: 1 } satisfies Record<keyof Finding['server'], 1>;
const CLIENT_KEYS = { ip: 1, name: 1, version: 1, userAgent: 1 } satisfies Record<keyof FindingClient, 1>;
const SIGNAL_KEYS = { signatureId: 1, title: 1, confidence: 1, severity: 1, count: 1, evidence: 1 } satisfies Record<keyof Signal, 1>;
const EVIDENCE_KEYS = { source: 1, ts: 1, detail: 1 } satisfies Record<keyof Evidence, 1>;
const SOURCE_KEYS = { kind: 1, file: 1, frame: 1, line: 1, format: 1 } satisfies Record<keyof SourceRef, 1>;
const DLP_KEYS = { detector: 1, title: 1, category: 1, severity: 1, masked: 1, count: 1, server: 1, client: 1, where: 1 } satisfies Record<keyof DlpHit, 1>;
const WHERE_KEYS = { file: 1, frame: 1, ts: 1, flow: 1, part: 1, method: 1, id: 1, path: 1 } satisfies Record<keyof DlpLocation, 1>;
const ALERT_KEYS = {
  kind: 1, title: 1, severity: 1, client: 1, servers: 1, subject: 1, value: 1, threshold: 1, windowSeconds: 1, firstTs: 1, lastTs: 1,
  detail: 1, evidence: 1,
} satisfies Record<keyof BehaviourAlert, 1>;
const AUDIT_KEYS = { records: 1, requests: 1, notifications: 1, errors: 1, unanswered: 1, dlpHits: 1, alerts: 1, unattachedDlp: 1 } satisfies Record<keyof AuditSection, 1>;
const ANOMALY_KEYS = { name: 1, count: 1, examples: 1 } satisfies Record<keyof AnomalySummary, 1>;
const LOCATION_KEYS = { file: 1, frame: 1, line: 1, flow: 1, detail: 1 } satisfies Record<keyof Location, 1>;

const sorted = (o: object): string[] => Object.keys(o).sort();
const defs = reportSchema.$defs;
const props = (n: SchemaNode | undefined): string[] => sorted(n?.properties ?? {});

/** Optional in TypeScript ⇔ not required in the schema: the keys a value always has. */
function requiredOf(sample: object[], keys: object): string[] {
  return sorted(keys).filter((k) => sample.length > 0 && sample.every((x) => k in x));
}

describe('the schemas match the TypeScript types', () => {
  it('enums', () => {
    expect(defs.transport.enum!.slice().sort()).toEqual(sorted(TRANSPORTS));
    expect(defs.confidence.enum!.slice().sort()).toEqual(sorted(CONFIDENCES));
    expect(defs.severity.enum!.slice().sort()).toEqual(sorted(SEVERITIES));
    expect(defs.dlpHit.properties!.category.enum!.slice().sort()).toEqual(sorted(DLP_CATEGORIES));
    expect(defs.dlpLocation.properties!.part.enum!.slice().sort()).toEqual(sorted(PARTS));
    expect(defs.alert.properties!.kind.enum!.slice().sort()).toEqual(sorted(ALERT_KINDS));
    expect(defs.sourceRef.properties!.kind.enum!.slice().sort()).toEqual(sorted(SOURCE_KINDS));
    expect(defs.finding.properties!.sources.items!.enum!.slice().sort()).toEqual(sorted(SOURCE_KINDS));
    expect(defs.input.properties!.kind.enum!.slice().sort()).toEqual(sorted(INPUT_KINDS));
    // The NDJSON schema is self-contained (a SIEM loads one file): its enums must agree with the report's.
    const rp = recordSchema.properties!;
    expect(rp.transport.enum).toEqual(defs.transport.enum);
    expect(rp.confidence.enum).toEqual(defs.confidence.enum);
    expect(recordSchema.$defs.severity.enum).toEqual(defs.severity.enum);
    expect(rp.dlp.items!.properties!.category.enum).toEqual(defs.dlpHit.properties!.category.enum);
    expect(rp.dlp.items!.properties!.part.enum).toEqual(defs.dlpLocation.properties!.part.enum);
    expect(rp.alerts.items!.properties!.kind.enum).toEqual(defs.alert.properties!.kind.enum);
  });

  it('property names', () => {
    expect(sorted(reportSchema.properties!)).toEqual(sorted(REPORT_KEYS));
    const pairs: Array<[string, string[], object]> = [
      ['input', props(defs.input), INPUT_KEYS],
      ['summary', props(defs.summary), SUMMARY_KEYS],
      ['finding', props(defs.finding), FINDING_KEYS],
      ['finding.subject', props(defs.finding.properties!.subject), SUBJECT_KEYS],
      ['finding.server', props(defs.finding.properties!.server), SERVER_KEYS],
      ['client', props(defs.client), CLIENT_KEYS],
      ['signal', props(defs.signal), SIGNAL_KEYS],
      ['evidence', props(defs.evidence), EVIDENCE_KEYS],
      ['sourceRef', props(defs.sourceRef), SOURCE_KEYS],
      ['dlpHit', props(defs.dlpHit), DLP_KEYS],
      ['dlpLocation', props(defs.dlpLocation), WHERE_KEYS],
      ['alert', props(defs.alert), ALERT_KEYS],
      ['auditSection', props(defs.auditSection), AUDIT_KEYS],
      ['anomaly', props(defs.anomaly), ANOMALY_KEYS],
      ['location', props(defs.location), LOCATION_KEYS],
    ];
    for (const [name, schemaKeys, tsKeys] of pairs) expect(schemaKeys, name).toEqual(sorted(tsKeys));
  });

  it('the NDJSON record schema lists exactly the keys findingRecord() writes', () => {
    const f = runs.flatMap((r) => r.report.findings).find((x) => (x.dlp ?? []).length > 0 && (x.alerts ?? []).length > 0)!;
    expect(f, 'a finding with both DLP hits and alerts').toBeDefined();
    const rec = findingRecord(f) as { dlp: object[]; alerts: object[] };
    const rp = recordSchema.properties!;
    expect(sorted(rec)).toEqual(recordSchema.required!.slice().sort());
    expect(props(recordSchema).filter((k) => k !== 'event')).toEqual(sorted(rec));
    expect(props(rp.dlp.items)).toEqual(sorted(rec.dlp[0]));
    expect(rp.dlp.items!.required!.slice().sort()).toEqual(sorted(rec.dlp[0]));
    expect(props(rp.alerts.items)).toEqual(sorted(rec.alerts[0]));
    expect(rp.alerts.items!.required!.slice().sort()).toEqual(sorted(rec.alerts[0]));
  });

  it('required keys are the ones real values always carry, and every property has a description', () => {
    // A schema that marks a key required which the code leaves out would reject real output (caught above);
    // this catches the other way: keys the code always writes but the schema lets go missing.
    const reports = runs.map((r) => r.json as ScanReport);
    const findings = reports.flatMap((r) => r.findings);
    const check = (name: string, node: SchemaNode, sample: object[], keys: object, optional: string[]) => {
      const always = requiredOf(sample, keys).filter((k) => !optional.includes(k));
      expect((node.required ?? []).slice().sort(), name).toEqual(always);
    };
    check('report', reportSchema, reports, REPORT_KEYS, []);
    check('finding', defs.finding, findings, FINDING_KEYS, []);
    // Optional in TypeScript even where every fixture has them.
    check('subject', defs.finding.properties!.subject, findings.map((f) => f.subject), SUBJECT_KEYS, ['ip', 'port', 'domain']);
    check('signal', defs.signal, findings.flatMap((f) => f.signals), SIGNAL_KEYS, []);
    const hits = findings.flatMap((f) => f.dlp ?? []);
    check('dlpHit', defs.dlpHit, hits, DLP_KEYS, []);
    check('dlpLocation', defs.dlpLocation, hits.map((h) => h.where), WHERE_KEYS, ['file', 'method', 'id']);
    const alerts = reports.flatMap((r) => r.audit?.alerts ?? []);
    check('alert', defs.alert, alerts, ALERT_KEYS, ['subject']);
    check('auditSection', defs.auditSection, reports.flatMap((r) => (r.audit ? [r.audit] : [])), AUDIT_KEYS, []);

    const undocumented: string[] = [];
    const walk = (n: SchemaNode, path: string, within: Record<string, SchemaNode>) => {
      for (const [k, p] of Object.entries(n.properties ?? {})) {
        const target = p.$ref ? within[p.$ref.replace('#/$defs/', '')] : p;
        if (!p.description && !target?.description) undocumented.push(`${path}.${k}`);
        walk(p, `${path}.${k}`, within);
        if (p.items) walk(p.items, `${path}.${k}[]`, within);
      }
    };
    for (const [name, schema] of [['report', reportSchema], ['record', recordSchema], ['inventory', inventorySchema]] as const) {
      walk(schema, name, schema.$defs);
      for (const [k, d] of Object.entries(schema.$defs)) walk(d, `${name}.$defs.${k}`, schema.$defs);
    }
    expect(undocumented).toEqual([]);
  });
});

describe('anomaly examples', () => {
  it('damaged input yields anomalies with frame and line locations, and they validate', () => {
    const damaged = runs.find((r) => r.label === 'damaged capture and log')!;
    const examples = damaged.report.anomalies.flatMap((a) => a.examples);
    expect(examples.some((e) => e.frame !== undefined)).toBe(true);
    expect(examples.some((e) => e.line !== undefined)).toBe(true);
    expect(validateReport(damaged.json), problems(validateReport)).toBe(true);
  });
});

describe('NDJSON times (isoTime) against the schema\'s isoTime', () => {
  const iso = recordSchema.$defs.isoTime as SchemaNode & { pattern: string };
  const validateIso = ajv.compile(iso);
  const secondsArb = fc.integer({ min: 0, max: 4_102_444_800 }); // 1970 .. 2100

  it('microsecond times (pcap, pcapng default, logs) format to six digits that read back as the same instant', () => {
    fc.assert(fc.property(secondsArb, fc.integer({ min: 0, max: 999_999 }), (sec, us) => {
      const text = isoTime(sec + us / 1e6);
      expect(validateIso(text), text).toBe(true);
      expect(text.slice(text.indexOf('.') + 1, -1)).toBe(String(us).padStart(6, '0'));
      expect(Date.parse(text)).toBe(sec * 1000 + Math.floor(us / 1000));
    }), { numRuns: 2000 });
  });

  // Regression: a nanosecond time whose sub-millisecond part rounds up to 1000 µs once printed seven digits.
  it('nanosecond times also format to six digits', () => {
    fc.assert(fc.property(secondsArb, fc.integer({ min: 0, max: 999_999_999 }), (sec, ns) => {
      expect(validateIso(isoTime(sec + ns / 1e9))).toBe(true);
    }), { numRuns: 20_000, examples: [[1795599793, 123_999_700]] });
  });
});

describe('schemas/inventory.schema.json', () => {
  type Rec = Record<string, unknown>;
  const parsed = (key: string) => JSON.parse(inventoryOutputs.get(key)!) as unknown;
  const audited = (key: string) => JSON.parse(auditOutputs.get(key)!) as unknown;
  const ndjson = (text: string) => text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Rec);
  type Export = Record<'servers' | 'domains' | 'clients' | 'dlp' | 'alerts' | 'runs', Rec[]>;
  /** Fields only `inventory show` adds to server and client records. */
  const SHOW_ONLY = ['behaviour_alerts', 'dlp_hits', 'seen_in_runs'];

  it('accepts `inventory export` (JSON) of a store filled by two import runs', () => {
    const doc = parsed('export') as Export;
    expect(validateInventory(doc), problems(validateInventory)).toBe(true);
    expect(doc.runs.map((r) => [r.id, r.kind])).toEqual([[1, 'import'], [2, 'import']]);
    expect(doc.servers.some((s) => (s.runs as number) > 1)).toBe(true);
    expect(doc.servers.some((s) => s.status === 'approved')).toBe(true);
    expect(doc.domains.length).toBeGreaterThan(0);
    expect(doc.clients.length).toBeGreaterThan(0);
    // Logs carry no MCP content: no hits, no alerts, and every server counts none.
    expect([doc.dlp, doc.alerts]).toEqual([[], []]);
    expect(doc.servers.every((s) => s.dlp === 0 && s.alerts === 0)).toBe(true);
  });

  it('accepts `inventory export` (JSON) of a store filled by scan --db: data-loss hits and behaviour alerts', () => {
    const doc = audited('export') as Export;
    expect(validateInventory(doc), problems(validateInventory)).toBe(true);
    expect(doc.runs.map((r) => [r.id, r.kind, r.files])).toEqual([[1, 'scan', 2], [2, 'scan', 0], [3, 'scan', 1], [4, 'import', 1]]);
    expect(doc.dlp.length).toBeGreaterThan(0);
    expect(doc.alerts.length).toBeGreaterThan(0);
    // The gzip copy is new content with the same hits: merged into the same rows, seen by runs 1 and 3.
    const secrets = doc.dlp.filter((h) => String(h.detector).startsWith('secret.'));
    expect(secrets.length).toBeGreaterThan(0);
    for (const h of secrets) expect([h.runs, h.run_ids, h.first_run, h.last_run], JSON.stringify(h)).toEqual([2, [1, 3], 1, 3]);
    expect(doc.dlp.map((h) => h.masked)).toContain('ghp_…(40)');
    // A server's dlp / alerts counts are the rows stored under its id.
    for (const s of doc.servers) {
      expect(s.dlp, String(s.id)).toBe(doc.dlp.filter((h) => h.server_id === s.id).length);
      expect(s.alerts, String(s.id)).toBe(doc.alerts.filter((a) => a.server_id === s.id).length);
    }
    expect(doc.servers.some((s) => (s.dlp as number) > 0)).toBe(true);
    expect(doc.servers.some((s) => (s.alerts as number) > 0)).toBe(true);
  });

  it('accepts every `inventory export --format ndjson` line and every list/show/runs item', () => {
    const line = inventoryDef('ndjsonRecord');
    const lines = ndjson(inventoryOutputs.get('export --format ndjson')!);
    expect(new Set(lines.map((l) => l.type))).toEqual(new Set(['shadowtap.inventory.server', 'shadowtap.inventory.domain', 'shadowtap.inventory.client']));
    for (const l of lines) expect(line(l), `${JSON.stringify(l)}\n${problems(line)}`).toBe(true);
    const lists: Array<[string, string]> = [
      ['list --format json', 'serverRecord'], ['list --kind domains --format json', 'domainRecord'], ['list --kind clients --format json', 'clientRecord'],
      ['runs --format json', 'runRecord'], ['show mcp.linear.app --format json', 'entityRecord'], ['show 127.0.0.1 --format json', 'entityRecord'],
    ];
    for (const [key, def] of lists) {
      const items = parsed(key) as Rec[];
      expect(items.length, key).toBeGreaterThan(0);
      const v = inventoryDef(def);
      for (const item of items) expect(v(item), `${key}: ${problems(v)}`).toBe(true);
    }
    const shown = parsed('show 127.0.0.1 --format json') as Rec[];
    expect(shown.every((r) => Array.isArray(r.seen_in_runs))).toBe(true);
    // Servers and clients shown carry their hits and alerts (none from logs); domains do not.
    for (const r of [...shown, ...(parsed('show mcp.linear.app --format json') as Rec[])]) {
      const keys = SHOW_ONLY.filter((k) => k in r);
      expect(keys, String(r.type)).toEqual(r.type === 'shadowtap.inventory.domain' ? ['seen_in_runs'] : SHOW_ONLY);
    }
  });

  it('accepts the scan --db store\'s NDJSON lines (hits and alerts included), its dlp and alert lists, and its shows', () => {
    const doc = audited('export') as Export;
    const line = inventoryDef('ndjsonRecord');
    const lines = ndjson(auditOutputs.get('export --format ndjson')!);
    for (const l of lines) expect(line(l), `${JSON.stringify(l)}\n${problems(line)}`).toBe(true);
    // The lines are the export's servers, domains, clients, hits and alerts, in that order (runs are left out).
    expect(lines).toEqual([...doc.servers, ...doc.domains, ...doc.clients, ...doc.dlp, ...doc.alerts]);
    expect(lines.filter((l) => l.type === 'shadowtap.inventory.dlp').length).toBe(doc.dlp.length);
    expect(lines.filter((l) => l.type === 'shadowtap.inventory.alert').length).toBe(doc.alerts.length);
    // A hit or alert line is not an entity (a show item).
    const entity = inventoryDef('entityRecord');
    expect(entity(doc.dlp[0])).toBe(false);
    expect(entity(doc.alerts[0])).toBe(false);

    // `list -k dlp`, `list dlp`, `list -k alerts`, `list alerts`: the same rows as the export, each valid.
    const dlpV = inventoryDef('dlpRecord');
    const alertV = inventoryDef('alertRecord');
    for (const [key, v, want] of [
      ['list -k dlp --format json', dlpV, doc.dlp], ['list dlp --format json', dlpV, doc.dlp],
      ['list -k alerts --format json', alertV, doc.alerts], ['list alerts --format json', alertV, doc.alerts],
    ] as const) {
      const items = audited(key) as Rec[];
      expect(items, key).toEqual(want);
      for (const item of items) expect(v(item), `${key}: ${problems(v)}`).toBe(true);
    }
    const runsV = inventoryDef('runRecord');
    for (const r of audited('runs --format json') as Rec[]) expect(runsV(r), problems(runsV)).toBe(true);

    // show <server with hits>, <server with alerts>, <client with hits>: the rows of that server or client.
    const entityOk = (key: string): Rec[] => {
      const items = audited(key) as Rec[];
      expect(items.length, key).toBeGreaterThan(0);
      for (const item of items) expect(entity(item), `${key}: ${problems(entity)}`).toBe(true);
      return items;
    };
    const dlpServer = entityOk(`show ${auditKeys.dlpServer} --format json`).find((r) => r.type === 'shadowtap.inventory.server')!;
    expect((dlpServer.dlp_hits as Rec[]).length).toBe(dlpServer.dlp);
    expect((dlpServer.dlp_hits as Rec[]).length).toBeGreaterThan(0);
    expect(dlpServer.dlp_hits).toEqual(doc.dlp.filter((h) => h.server_id === dlpServer.id));
    const alertServer = entityOk(`show ${auditKeys.alertServer} --format json`).find((r) => r.type === 'shadowtap.inventory.server')!;
    expect((alertServer.behaviour_alerts as Rec[]).length).toBe(alertServer.alerts);
    expect((alertServer.behaviour_alerts as Rec[]).length).toBeGreaterThan(0);
    expect(alertServer.behaviour_alerts).toEqual(doc.alerts.filter((a) => a.server_id === alertServer.id));
    const client = entityOk(`show ${auditKeys.dlpClient} --format json`).find((r) => r.type === 'shadowtap.inventory.client')!;
    expect(client.dlp_hits).toEqual(doc.dlp.filter((h) => (h.clients as string[]).includes(auditKeys.dlpClient)));
    expect(client.behaviour_alerts).toEqual(doc.alerts.filter((a) => a.client === auditKeys.dlpClient));
  });

  it('lists exactly the keys the record builders write, all required; rejects unknown keys and bad values', () => {
    const doc = parsed('export') as Export;
    const audit = audited('export') as Export;
    const shownServer = (audited(`show ${auditKeys.dlpServer} --format json`) as Rec[]).find((r) => r.type === 'shadowtap.inventory.server')!;
    const shownClient = (audited(`show ${auditKeys.dlpClient} --format json`) as Rec[]).find((r) => r.type === 'shadowtap.inventory.client')!;
    const pairs: Array<[string, Rec]> = [
      ['serverRecord', doc.servers[0]], ['domainRecord', doc.domains[0]], ['clientRecord', doc.clients[0]], ['runRecord', doc.runs[0]],
      ['serverRecord', audit.servers[0]], ['runRecord', audit.runs[0]], ['dlpRecord', audit.dlp[0]], ['alertRecord', audit.alerts[0]],
    ];
    for (const [def, sample] of pairs) {
      const node = inventorySchema.$defs[def];
      expect(props(node).filter((k) => !SHOW_ONLY.includes(k)), def).toEqual(sorted(sample));
      expect(node.required!.slice().sort(), def).toEqual(sorted(sample));
      const v = inventoryDef(def);
      expect(v(sample), `${def}: ${problems(v)}`).toBe(true);
      expect(v({ ...sample, extra: 1 }), def).toBe(false);
    }
    // What show adds to servers and clients is exactly what the schema lists as show-only, and comes as a set.
    for (const [def, shown, listed] of [['serverRecord', shownServer, audit.servers.find((s) => s.id === shownServer.id)!], ['clientRecord', shownClient, audit.clients.find((c) => c.ip === shownClient.ip)!]] as const) {
      expect(sorted(shown).filter((k) => !(k in listed)), def).toEqual(SHOW_ONLY);
      expect(props(inventorySchema.$defs[def]).filter((k) => SHOW_ONLY.includes(k)), def).toEqual(SHOW_ONLY);
      const v = inventoryDef(def);
      expect(v(shown), problems(v)).toBe(true);
      // The three come together: one left out is a shape the code never writes.
      for (const k of SHOW_ONLY) expect(v(Object.fromEntries(Object.entries(shown).filter(([x]) => x !== k))), `${def} without ${k}`).toBe(false);
    }
    // The hit and alert enums agree with the report schema's (the same TypeScript types).
    const dlpProps = inventorySchema.$defs.dlpRecord.properties!;
    const alertProps = inventorySchema.$defs.alertRecord.properties!;
    expect(dlpProps.category.enum).toEqual(defs.dlpHit.properties!.category.enum);
    expect(dlpProps.part.enum).toEqual(defs.dlpLocation.properties!.part.enum);
    expect(alertProps.kind.enum).toEqual(defs.alert.properties!.kind.enum);
    expect(inventorySchema.$defs.severity.enum).toEqual(defs.severity.enum);
    expect(inventorySchema.$defs.serverRecord.properties!.severity.enum).toEqual(defs.severity.enum);

    const server = doc.servers[0];
    const v = inventoryDef('serverRecord');
    expect(v({ ...server, confidence: 'certain' })).toBe(false);
    expect(v({ ...server, first_seen: 1795599793 })).toBe(false);
    expect(v({ ...server, status: 'approved', approved_by: null })).toBe(false);
    expect(v({ ...server, dlp: -1 })).toBe(false);
    expect(v({ ...server, alerts: 1.5 })).toBe(false);
    expect(validateInventory({ ...doc, findings: [] })).toBe(false);
    const { dlp: _dlp, ...noDlp } = doc;
    expect(validateInventory(noDlp)).toBe(false);
    expect(inventoryDef('runRecord')({ ...doc.runs[0], kind: 'capture' })).toBe(false);

    const hit = audit.dlp[0];
    const dv = inventoryDef('dlpRecord');
    expect(dv({ ...hit, category: 'password' })).toBe(false);
    expect(dv({ ...hit, server_id: '' })).toBe(false); // the store's '' is written as null
    expect(dv({ ...hit, server_id: null })).toBe(true);
    expect(dv({ ...hit, method: '' })).toBe(false); // unknown method is null, never ''
    expect(dv({ ...hit, run_ids: [] })).toBe(false);
    expect(dv({ ...hit, server: 'mcp.example.com' })).toBe(false);
    expect(dv({ ...hit, path: 'params.arguments' })).toBe(false);
    expect(dv({ ...hit, example: '/tmp/x.pcapng' })).toBe(false);
    const alert = audit.alerts[0];
    const av = inventoryDef('alertRecord');
    expect(av({ ...alert, kind: 'port_scan' })).toBe(false);
    expect(av({ ...alert, subject: '' })).toBe(false); // no subject is null, never ''
    expect(av({ ...alert, subject: null })).toBe(true);
    expect(av({ ...alert, example: '' })).toBe(true); // an alert without evidence
    expect(av({ ...alert, servers: [] })).toBe(false);
    expect(av({ ...alert, client: 'laptop-7' })).toBe(false);
    expect(av({ ...alert, window_seconds: -60 })).toBe(false);
  });
});
