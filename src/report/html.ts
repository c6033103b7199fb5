// The analyst's report: one self-contained HTML file (no network fetches), rendered with Handlebars
// (HTML escaping on: every value from a capture or log is text, never markup).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Handlebars from 'handlebars';
import type { Finding } from '../detect/finding.js';
import { PACKAGE_ROOT } from '../version.js';
import type { ScanReport } from './model.js';
import { isoTime } from './messages.js';

export interface HtmlOptions {
  /** Rendered block rules per finding id (target title → text). */
  rules?: Record<string, Array<{ target: string; text: string }>>;
  title?: string;
  templateDir?: string;
}

const TIMELINE = { width: 900, rowHeight: 22, labelWidth: 230, pad: 8 };

export function formatHtml(report: ScanReport, options: HtmlOptions = {}): string {
  const hb = Handlebars.create();
  hb.registerHelper('iso', (ts: number) => (typeof ts === 'number' && ts > 0 ? isoTime(ts) : ''));
  hb.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  hb.registerHelper('add', (a: number | string, b: number | string) => Number(a) + Number(b));
  const file = join(options.templateDir ?? join(PACKAGE_ROOT, 'templates'), 'report.html.hbs');
  const template = hb.compile(readFileSync(file, 'utf8'), { strict: false });
  const findings = report.findings.map((f) => view(f, options.rules?.[f.id] ?? []));
  return template({
    title: options.title ?? 'shadowtap report',
    report,
    summary: report.summary,
    findings,
    timeline: timeline(report.findings),
    inputs: report.inputs,
    anomalies: report.anomalies.map((a) => ({
      ...a,
      where: a.examples.map(describeLocation).join('; '),
    })),
    stats: Object.entries(report.stats).map(([k, v]) => ({ k, v })),
    generated: report.tool,
  });
}

function describeLocation(l: { file?: string; frame?: number; line?: number; flow?: string; detail?: string }): string {
  const parts = [l.file, l.frame !== undefined ? `frame ${l.frame}` : undefined, l.line !== undefined ? `line ${l.line}` : undefined, l.flow ? `flow ${l.flow}` : undefined, l.detail];
  return parts.filter(Boolean).join(' ');
}

const counts = (o: Record<string, number>) =>
  Object.entries(o).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([name, count]) => ({ name, count }));

function endpoint(f: Finding): string {
  if (!f.subject.ip) return f.subject.names[0] ?? f.subject.domain ?? '-';
  const ip = f.subject.ip.includes(':') ? `[${f.subject.ip}]` : f.subject.ip;
  return f.subject.port ? `${ip}:${f.subject.port}` : ip;
}

function view(f: Finding, rules: Array<{ target: string; text: string }>) {
  return {
    ...f,
    endpoint: endpoint(f),
    status: f.approved ? 'approved' : 'shadow',
    scorePct: Math.round(f.score * 100),
    methodList: counts(f.methods),
    toolList: counts(f.tools),
    methodTotal: Object.values(f.methods).reduce((a, b) => a + b, 0),
    toolTotal: Object.values(f.tools).reduce((a, b) => a + b, 0),
    signals: f.signals.map((s) => ({
      ...s,
      evidence: s.evidence.map((e) => ({
        ...e,
        where: e.source.kind === 'pcap' ? `${e.source.file} frame ${e.source.frame}` : `${e.source.file} line ${e.source.line}`,
      })),
    })),
    rules,
    search: [endpoint(f), ...f.subject.names, f.transport, ...f.clients.map((c) => `${c.ip} ${c.name ?? ''}`), ...Object.keys(f.tools), ...Object.keys(f.methods)].join(' ').toLowerCase(),
  };
}

/** An inline SVG: one row per finding, a bar from first to last seen, a tick per piece of evidence. */
function timeline(findings: Finding[]) {
  const { width, rowHeight, labelWidth, pad } = TIMELINE;
  const times = findings.flatMap((f) => [f.firstSeen, f.lastSeen]).filter((t) => t > 0);
  if (times.length === 0) return undefined;
  const t0 = Math.min(...times);
  const t1 = Math.max(...times);
  const span = Math.max(t1 - t0, 1e-3);
  const plot = width - labelWidth - 2 * pad;
  const x = (t: number) => labelWidth + pad + ((t - t0) / span) * plot;
  const rows = findings.map((f, i) => {
    const y = pad + i * rowHeight;
    const ticks = f.signals.flatMap((s) => s.evidence.map((e) => e.ts)).filter((t) => t > 0);
    return {
      y,
      textY: y + rowHeight * 0.65,
      barY: y + 4,
      barH: rowHeight - 8,
      label: `${endpoint(f)} ${f.subject.names[0] ?? ''}`.trim().slice(0, 34),
      x1: x(f.firstSeen).toFixed(1),
      w: Math.max(x(f.lastSeen) - x(f.firstSeen), 2).toFixed(1),
      cls: f.approved ? 'approved' : f.confidence,
      ticks: ticks.map((t) => ({ x: x(t).toFixed(1) })),
      title: `${endpoint(f)}: ${isoTime(f.firstSeen)} → ${isoTime(f.lastSeen)}`,
    };
  });
  return {
    width,
    height: pad * 2 + findings.length * rowHeight + 18,
    rows,
    axisY: pad + findings.length * rowHeight + 14,
    start: isoTime(t0),
    end: isoTime(t1),
    startX: labelWidth + pad,
    endX: width - pad,
  };
}
