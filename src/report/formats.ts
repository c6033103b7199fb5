// Report formatters: (report) => string. Machine formats are stable; the table is for a terminal.
import { stringify } from 'csv-stringify/sync';
import type { Finding } from '../detect/finding.js';
import type { ScanReport } from './model.js';
import { isoTime } from './messages.js';
import type { HtmlOptions } from './html.js';

export { REPORT_FORMATS, type ReportFormat } from './model.js';
import type { ReportFormat } from './model.js';

/** The report as text. Async only for HTML, whose module (Handlebars, every rule target) loads just for it. */
export async function formatReport(report: ScanReport, format: ReportFormat, options: { color?: boolean; html?: HtmlOptions } = {}): Promise<string> {
  switch (format) {
    case 'html':
      return (await import('./html.js')).formatHtml(report, options.html);
    case 'json':
      return `${JSON.stringify(report, null, 2)}\n`;
    case 'ndjson':
      return report.findings.map((f) => `${JSON.stringify(findingRecord(f))}\n`).join('');
    case 'csv':
      return formatCsv(report.findings);
    case 'table':
      return formatTable(report, options.color ?? false);
  }
}

/** One finding as a flat, SIEM-friendly record with stable field names. */
export function findingRecord(f: Finding): Record<string, unknown> {
  return {
    type: 'shadowtap.finding',
    id: f.id,
    status: f.approved ? 'approved' : 'shadow',
    confidence: f.confidence,
    score: Number(f.score.toFixed(3)),
    severity: f.severity,
    server_ip: f.subject.ip ?? null,
    server_port: f.subject.port ?? null,
    names: f.subject.names,
    domain: f.subject.domain ?? null,
    transport: f.transport,
    clients: f.clients.map((c) => c.ip),
    client_names: [...new Set(f.clients.map((c) => c.name).filter(Boolean))],
    server_name: f.server.name ?? null,
    server_version: f.server.version ?? null,
    protocol_version: f.server.protocolVersion ?? null,
    methods: f.methods,
    tools: f.tools,
    signatures: f.signals.map((s) => s.signatureId),
    first_seen: isoTime(f.firstSeen),
    last_seen: isoTime(f.lastSeen),
    sources: f.sources,
    approved_by: f.approvedBy ?? null,
    // Audit stage (clear-text MCP content): masked data-loss hits and behaviour alerts.
    dlp: (f.dlp ?? []).map((h) => ({
      detector: h.detector, category: h.category, severity: h.severity, masked: h.masked, count: h.count,
      client: h.client, part: h.where.part, method: h.where.method ?? null, path: h.where.path, frame: h.where.frame, file: h.where.file ?? null,
    })),
    alerts: (f.alerts ?? []).map((a) => ({
      kind: a.kind, severity: a.severity, client: a.client, subject: a.subject ?? null, value: a.value, threshold: a.threshold,
      window_seconds: a.windowSeconds, first_ts: isoTime(a.firstTs), last_ts: isoTime(a.lastTs), detail: a.detail,
    })),
  };
}

/** `detector:masked@path` per hit, for one CSV cell. */
const dlpCell = (f: Finding): string => (f.dlp ?? []).map((h) => `${h.detector}:${h.masked}@${h.where.path}`).join(' ');
const alertCell = (f: Finding): string => (f.alerts ?? []).map((a) => `${a.kind}:${a.subject ?? a.client}=${a.value}/${a.threshold}`).join(' ');

const CSV_COLUMNS = [
  'id', 'status', 'confidence', 'score', 'severity', 'server_ip', 'server_port', 'names', 'transport', 'clients',
  'client_names', 'server_name', 'protocol_version', 'methods', 'tools', 'signatures', 'first_seen', 'last_seen',
  'dlp', 'alerts',
];

function formatCsv(findings: Finding[]): string {
  const rows = findings.map((f) => {
    const r = findingRecord(f);
    const cell = (v: unknown): string => {
      if (v === null || v === undefined) return '';
      if (Array.isArray(v)) return v.join(' ');
      if (typeof v === 'object') return Object.entries(v as Record<string, number>).map(([k, n]) => `${k}=${n}`).join(' ');
      return String(v);
    };
    return CSV_COLUMNS.map((c) => (c === 'dlp' ? dlpCell(f) : c === 'alerts' ? alertCell(f) : cell(r[c])));
  });
  // Names and tool names come from captures: a cell starting with = + - @ must not run as a spreadsheet formula.
  return stringify(rows, { header: true, columns: CSV_COLUMNS, escape_formulas: true });
}

/**
 * Capture text made safe for a terminal: control characters (C0, DEL, C1) and bidi controls become `\uXXXX`,
 * so a hostile name can neither break a table row nor send escape sequences to the terminal.
 */
export function printable(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const COLORS = { high: '\x1b[31m', medium: '\x1b[33m', low: '\x1b[36m', dim: '\x1b[2m', reset: '\x1b[0m', bold: '\x1b[1m' };

function topCounts(counts: Record<string, number>, n: number): string {
  const e = Object.entries(counts).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const head = e.slice(0, n).map(([k, v]) => `${k}×${v}`).join(' ');
  return e.length > n ? `${head} +${e.length - n}` : head;
}

/** One line per DLP hit and behaviour alert, under the findings table (values masked). */
function auditLines(report: ScanReport): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const f of report.findings) {
    const server = f.subject.ip ? `${f.subject.ip.includes(':') ? `[${f.subject.ip}]` : f.subject.ip}:${f.subject.port ?? ''}` : f.subject.names[0] ?? '-';
    for (const h of f.dlp ?? []) {
      out.push([h.severity, `DLP   ${h.severity.padEnd(8)} ${server}  ${h.detector} ${h.masked}${h.count > 1 ? ` ×${h.count}` : ''}  ${h.where.method ?? '?'} ${h.where.part} ${h.where.path}  frame ${h.where.frame}`]);
    }
  }
  for (const a of report.audit?.alerts ?? []) out.push([a.severity, `ALERT ${a.severity.padEnd(8)} ${a.kind}: ${a.detail}`]);
  for (const h of report.audit?.unattachedDlp ?? []) {
    out.push([h.severity, `DLP   ${h.severity.padEnd(8)} ${h.server}  ${h.detector} ${h.masked}  ${h.where.method ?? '?'} ${h.where.part} ${h.where.path}  frame ${h.where.frame}`]);
  }
  return out;
}

function formatTable(report: ScanReport, color: boolean): string {
  const paint = (c: keyof typeof COLORS, s: string) => (color ? `${COLORS[c]}${s}${COLORS.reset}` : s);
  const header = ['STATUS', 'CONF', 'SERVER', 'NAMES', 'TRANSPORT', 'CLIENTS', 'METHODS', 'TOOLS', 'EVIDENCE'];
  const rows = report.findings.map((f) => {
    const server = f.subject.ip ? `${f.subject.ip.includes(':') ? `[${f.subject.ip}]` : f.subject.ip}${f.subject.port ? `:${f.subject.port}` : ''}` : '-';
    const clients = f.clients.map((c) => (c.name ? `${c.ip} (${c.name})` : c.ip));
    const ev = f.signals[0]?.evidence[0];
    const where = ev ? (ev.source.frame !== undefined ? `frame ${ev.source.frame}` : `line ${ev.source.line}`) : '';
    const row = [
      f.approved ? 'approved' : 'SHADOW',
      f.confidence,
      server,
      f.subject.names.slice(0, 3).join(',') + (f.subject.names.length > 3 ? ',…' : '') || '-',
      f.transport,
      clients.slice(0, 2).join(', ') + (clients.length > 2 ? ` +${clients.length - 2}` : '') || '-',
      topCounts(f.methods, 3) || '-',
      topCounts(f.tools, 3) || '-',
      where,
    ];
    return row.map(printable);
  });
  const widths = header.map((h, i) => Math.min(48, Math.max(h.length, ...rows.map((r) => r[i].length))));
  const cut = (s: string, w: number) => (s.length > w ? `${s.slice(0, w - 1)}…` : s.padEnd(w));
  const lines: string[] = [];
  lines.push(paint('bold', header.map((h, i) => cut(h, widths[i])).join('  ').trimEnd()));
  for (const r of rows) {
    const conf = r[1] as 'high' | 'medium' | 'low';
    lines.push(r.map((c, i) => (i === 1 ? paint(conf, cut(c, widths[i])) : cut(c, widths[i]))).join('  ').trimEnd());
  }
  const audit = auditLines(report);
  if (audit.length) {
    lines.push('');
    for (const [sev, raw] of audit) {
      const text = printable(raw);
      lines.push(sev === 'high' || sev === 'critical' ? paint('high', text) : text);
    }
  }
  const s = report.summary;
  lines.push('');
  lines.push(
    `${s.findings} MCP server finding(s): ${s.shadow} shadow, ${s.approved} approved ` +
      `(high ${s.byConfidence.high}, medium ${s.byConfidence.medium}, low ${s.byConfidence.low}); ` +
      `${s.clients} client(s)`,
  );
  const inputs = report.inputs.map((i) => `${i.file} (${i.format}, ${i.records} ${i.kind === 'capture' ? 'frames' : 'lines'})`);
  lines.push(paint('dim', `inputs: ${inputs.join(', ')}`));
  if (s.anomalies) {
    const top = report.anomalies.slice().sort((a, b) => b.count - a.count).slice(0, 5).map((a) => `${a.name}×${a.count}`);
    lines.push(paint('dim', `anomalies: ${s.anomalies} (${top.join(', ')}${report.anomalies.length > 5 ? ', …' : ''})`));
  }
  return `${lines.join('\n')}\n`;
}
