// `shadowtap audit`: the tool-call audit trail of clear-text MCP traffic, one row per request, with data-loss hits
// and behaviour alerts. NDJSON and CSV stream as requests complete; the table is sorted by time.
import { createWriteStream, type WriteStream } from 'node:fs';
import { stringify } from 'csv-stringify/sync';
import { Anomalies } from '../../core/anomalies.js';
import { LIMITS } from '../../config/limits.js';
import { runCapture } from '../../pipeline/capture.js';
import type Database from 'better-sqlite3';
import { AuditCollector, type AuditOptions } from '../../audit/index.js';
import type { AlertsConfig, AuditRecord, BehaviourAlert, DlpConfig } from '../../audit/types.js';
import { isoTime } from '../../report/messages.js';
import { EXIT, whenDrained, type CliIO } from '../io.js';
import { Progress } from '../progress.js';

export type AuditFormat = 'table' | 'ndjson' | 'csv';
export const AUDIT_FORMATS: AuditFormat[] = ['table', 'ndjson', 'csv'];

export interface AuditCommandOptions {
  files: string[];
  format: AuditFormat;
  out?: string;
  dlp?: DlpConfig;
  alerts?: AlertsConfig;
  /** Leave notifications out of the listing. */
  requestsOnly?: boolean;
  quiet?: boolean;
  /** Inventory store, read only: the baseline of the new-server alert (unless a baseline file is configured) and of
   * tool_call_unusual, as with scan --db. Never written: no run, no learned windows. */
  db?: string;
}

const ep = (ip: string, port: number) => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);

/** One record as a flat NDJSON/CSV row with stable field names (values already masked). */
export function auditRow(r: AuditRecord): Record<string, unknown> {
  return {
    type: 'shadowtap.audit',
    time: isoTime(r.ts),
    client: ep(r.client.ip, r.client.port),
    client_name: r.client.name ?? null,
    server: ep(r.server.ip, r.server.port),
    server_name: r.server.name ?? null,
    host: r.server.host ?? null,
    from: r.from,
    kind: r.type,
    method: r.method,
    id: r.id ?? null,
    target: r.target ?? null,
    args: r.args,
    args_bytes: r.argsBytes,
    status: r.status,
    result_bytes: r.resultBytes ?? null,
    duration_ms: r.durationMs ?? null,
    error_code: r.error?.code ?? null,
    error: r.error?.message ?? null,
    dlp: r.dlp.map((h) => `${h.detector}:${h.masked}@${h.where.part}:${h.where.path}`),
    file: r.file ?? null,
    frame: r.frame,
    response_frame: r.responseFrame ?? null,
  };
}

export function alertRow(a: BehaviourAlert): Record<string, unknown> {
  return {
    type: 'shadowtap.alert', kind: a.kind, severity: a.severity, client: a.client, servers: a.servers, subject: a.subject ?? null,
    value: a.value, threshold: a.threshold, window_seconds: a.windowSeconds, first: isoTime(a.firstTs), last: isoTime(a.lastTs),
    detail: a.detail, evidence: a.evidence.map((e) => `${e.file ?? ''}#${e.frame}`),
  };
}

const CSV_COLUMNS = ['time', 'client', 'client_name', 'server', 'server_name', 'from', 'kind', 'method', 'id', 'target', 'args', 'args_bytes',
  'status', 'result_bytes', 'duration_ms', 'error_code', 'error', 'dlp', 'file', 'frame'];

function csvLine(r: AuditRecord): string {
  const row = auditRow(r);
  return stringify([CSV_COLUMNS.map((c) => {
    const v = row[c];
    return v === null || v === undefined ? '' : Array.isArray(v) ? v.join(' ') : String(v);
  })]);
}

export async function runAudit(opts: AuditCommandOptions, io: CliIO): Promise<number> {
  // Opened first: a missing or unreadable store fails before any output file is made. Imported only with --db (native module).
  const store = opts.db ? (await import('../../store/db.js')).Store.open(opts.db, { readonly: true }) : undefined;
  try {
    return await auditWith(opts, io, store && (await baselines(store.db)));
  } finally {
    store?.close();
  }
}

/** The store as the alerts' baselines, as scan --db uses it (store/scan.ts; a configured baseline file still wins). */
async function baselines(db: Database.Database): Promise<Pick<AuditOptions, 'known' | 'history'>> {
  const [{ StoreKnownServers }, { StoreCallHistory }] = await Promise.all([import('../../store/known-servers.js'), import('../../store/audit.js')]);
  return { known: new StoreKnownServers(db), history: new StoreCallHistory(db) };
}

async function auditWith(opts: AuditCommandOptions, io: CliIO, base: Pick<AuditOptions, 'known' | 'history'> | undefined): Promise<number> {
  const file: WriteStream | undefined = opts.out ? createWriteStream(opts.out) : undefined;
  const write = (t: string) => (file ? void file.write(t) : io.stdout(t));
  // Records stream out as they are found: a slow disk or reader holds the capture back rather than filling memory.
  const pace = file ? () => whenDrained(file) : io.stdoutDrain;
  const anomalies = new Anomalies();
  const table: AuditRecord[] = [];
  let tableCapped = 0;
  let listed = 0;
  if (opts.format === 'csv') write(stringify([CSV_COLUMNS]));
  const collector = new AuditCollector({
    dlp: opts.dlp,
    alerts: opts.alerts,
    ...base,
    anomalies,
    onRecord: (r) => {
      if (opts.requestsOnly && r.type === 'notification') return;
      listed++;
      if (opts.format === 'ndjson') write(`${JSON.stringify(auditRow(r))}\n`);
      else if (opts.format === 'csv') write(csvLine(r));
      else if (table.length < LIMITS.auditMaxTableRecords) table.push(r);
      else tableCapped++;
    },
  });
  const progress = new Progress(io, opts.quiet);
  for (const f of opts.files) {
    collector.setFile(f);
    await runCapture(f, {
      anomalies,
      onMessage: (m) => collector.add(m),
      pace,
      onProgress: (p) => progress.update({ file: p.file, bytes: p.bytes, records: p.frames }),
    });
  }
  const section = collector.finish();
  progress.done();
  if (opts.format === 'ndjson') for (const a of section.alerts) write(`${JSON.stringify(alertRow(a))}\n`);
  if (opts.format === 'table') write(formatAuditTable(table, section.alerts));
  if (tableCapped) anomalies.add('audit.records_cap_hit');
  if (file) await new Promise<void>((resolve, reject) => file.end((err?: Error | null) => (err ? reject(err) : resolve())));
  if (!opts.quiet) {
    const bad = anomalies.total;
    io.stderr(`shadowtap: ${listed} record(s), ${section.dlpHits} data-loss hit(s), ${section.alerts.length} behaviour alert(s)` +
      `${tableCapped ? `, ${tableCapped} record(s) beyond the table cap not shown (use --format ndjson)` : ''}${bad ? `; ${bad} anomalies` : ''}\n`);
    if (opts.format === 'csv') for (const a of section.alerts) io.stderr(`shadowtap: alert ${a.kind}: ${a.detail}\n`);
  }
  return section.dlpHits > 0 || section.alerts.length > 0 ? EXIT.findings : EXIT.clean;
}

const cut = (s: string, w: number) => (s.length > w ? `${s.slice(0, w - 1)}…` : s);

export function formatAuditTable(records: AuditRecord[], alerts: BehaviourAlert[]): string {
  const sorted = records.slice().sort((a, b) => a.ts - b.ts || a.frame - b.frame);
  const header = ['TIME', 'CLIENT', 'SERVER', 'METHOD', 'TARGET', 'ARGS', 'RESULT', 'STATUS', 'DLP'];
  const rows = sorted.map((r) => [
    isoTime(r.ts).slice(11, 23),
    r.client.name ? `${r.client.ip} (${r.client.name})` : r.client.ip,
    r.server.name ? `${ep(r.server.ip, r.server.port)} (${r.server.name})` : ep(r.server.ip, r.server.port),
    r.from === 'server' ? `${r.method} ←` : r.method,
    r.target ?? '',
    r.args,
    r.resultBytes !== undefined ? `${r.resultBytes} B` : '',
    r.error ? `error ${r.error.code}` : r.status,
    r.dlp.map((h) => `${h.detector}:${h.masked}`).join(' '),
  ]);
  const max = [12, 34, 40, 30, 28, 60, 10, 16, 80];
  const widths = header.map((h, i) => Math.min(max[i], Math.max(h.length, ...rows.map((r) => r[i].length))));
  const line = (cells: string[]) => cells.map((c, i) => cut(c, widths[i]).padEnd(widths[i])).join('  ').trimEnd();
  const out = [line(header), ...rows.map(line)];
  if (alerts.length) {
    out.push('');
    for (const a of alerts) out.push(`ALERT ${a.severity} ${a.kind}: ${a.detail}`);
  }
  return `${out.join('\n')}\n`;
}
