// The analyst's report: one self-contained HTML file (no network fetches), rendered with Handlebars
// (HTML escaping on: every value from a capture or log is text, never markup). The view model is built
// here so the template only lays it out; the timeline is an inline SVG computed here too.
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import Handlebars from 'handlebars';
import { LIMITS } from '../config/limits.js';
import { CONFIDENCE_RANK, type Confidence, type Evidence, type Finding } from '../detect/finding.js';
import { buildRuleSet, findTarget } from '../rules/index.js';
import { PACKAGE_ROOT } from '../version.js';
import type { ScanReport } from './model.js';
import { isoTime } from './messages.js';

/** One rendered rule excerpt for one finding. */
export interface FindingRule {
  /** Target id (`nftables`, `suricata` ...). */
  target: string;
  /** The lines of the target's output that concern this finding. */
  text: string;
  title?: string;
  /** Offline check for the full file, when the target has one. */
  validator?: string;
}

export interface HtmlOptions {
  /** Rendered block rules per finding id (see findingRules). */
  rules?: Record<string, FindingRule[]>;
  title?: string;
  templateDir?: string;
}


export function formatHtml(report: ScanReport, options: HtmlOptions = {}): string {
  const hb = Handlebars.create();
  const file = join(options.templateDir ?? join(PACKAGE_ROOT, 'templates'), 'report.html.hbs');
  const template = hb.compile(readFileSync(file, 'utf8'), { strict: false });
  const rulesGiven = options.rules !== undefined;
  // Shadow before approved, then the most certain first: the order a reader acts in.
  const ordered = report.findings.slice().sort(
    (a, b) =>
      Number(a.approved) - Number(b.approved) ||
      CONFIDENCE_RANK[b.confidence] - CONFIDENCE_RANK[a.confidence] ||
      b.score - a.score ||
      a.firstSeen - b.firstSeen,
  );
  const findings = ordered.map((f) => view(f, options.rules?.[f.id], rulesGiven));
  const shadow = report.findings.filter((f) => !f.approved);
  const shadowByConf = { high: 0, medium: 0, low: 0 };
  for (const f of shadow) shadowByConf[f.confidence]++;
  const registries = [...new Set(report.findings.map((f) => f.subject.domain).filter((d): d is string => !!d))].sort();
  const shadowClients = new Set(shadow.flatMap((f) => f.clients.map((c) => c.ip)));
  const toolCalls = shadow.reduce((t, f) => t + sum(f.tools), 0);
  const topTools = counts(mergeCounts(shadow.map((f) => f.tools))).slice(0, 8);
  const maxTool = Math.max(1, ...topTools.map((t) => t.count));
  const transports = [...new Set(report.findings.map((f) => f.transport))].sort();
  const times = report.findings.flatMap((f) => [f.firstSeen, f.lastSeen]).filter(validTs);
  const span = times.length ? spanText(Math.min(...times), Math.max(...times)) : undefined;

  return template({
    title: options.title ?? 'Shadow MCP report',
    summary: report.summary,
    cards: {
      shadow: report.summary.shadow,
      shadowByConf,
      approved: report.summary.approved,
      clients: report.summary.clients,
      shadowClients: shadowClients.size,
      registries: registries.length,
      registryList: registries.slice(0, 4),
      registryMore: Math.max(0, registries.length - 4),
      toolCalls,
      anomalies: report.summary.anomalies,
    },
    headline: headline(report, shadowClients.size, toolCalls),
    span,
    topTools: topTools.map((t) => ({ ...t, pct: Math.round((t.count / maxTool) * 100) })),
    transports,
    findings,
    timeline: timeline(ordered),
    inputs: report.inputs.map((i) => ({ ...i, name: basename(i.file), unit: i.kind === 'capture' ? 'frames' : 'lines', size: humanBytes(i.bytes) })),
    anomalies: report.anomalies.map((a) => ({ ...a, where: a.examples.map(describeLocation) })),
    stats: Object.entries(report.stats).map(([k, v]) => ({ k, v })),
    generated: report.tool,
    rulesGiven,
    inputsLabel: plural(report.inputs.length, 'input'),
    audit: report.audit,
  });
}

function headline(report: ScanReport, shadowClients: number, toolCalls: number): string {
  const s = report.summary;
  if (s.findings === 0) return 'No MCP traffic was found in the inputs of this run.';
  const parts: string[] = [];
  if (s.shadow > 0) {
    parts.push(
      `${plural(s.shadow, 'unapproved MCP server')} ${s.shadow === 1 ? 'was' : 'were'} seen, used by ${plural(shadowClients, 'client')}` +
        (toolCalls > 0 ? ` with ${plural(toolCalls, 'tool call')} in clear text.` : '.'),
    );
  } else parts.push('No unapproved MCP server was seen.');
  if (s.approved > 0) parts.push(`${plural(s.approved, 'approved server')} ${s.approved === 1 ? 'was' : 'were'} also in use.`);
  return parts.join(' ');
}

/** `2026-11-25 09:28:43 to 09:42:57 UTC`, the date repeated only when it changes. */
function spanText(t0: number, t1: number, ms = false): string {
  const n = ms ? 23 : 19;
  const a = isoTime(t0).slice(0, n).replace('T', ' ');
  const b = isoTime(t1).slice(0, n).replace('T', ' ');
  return `${a} to ${a.slice(0, 10) === b.slice(0, 10) ? b.slice(11) : b} UTC`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function describeLocation(l: { file?: string; frame?: number; line?: number; flow?: string; detail?: string }): string {
  const parts = [
    l.file ? basename(l.file) : undefined,
    l.frame !== undefined ? `frame ${l.frame}` : undefined,
    l.line !== undefined ? `line ${l.line}` : undefined,
    l.flow ? `flow ${l.flow}` : undefined,
    l.detail,
  ];
  return parts.filter(Boolean).join(' ');
}

const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);

function mergeCounts(list: Array<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const o of list) for (const [k, v] of Object.entries(o)) out[k] = (out[k] ?? 0) + v;
  return out;
}

const counts = (o: Record<string, number>) =>
  Object.entries(o).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([name, count]) => ({ name, count }));

const validTs = (t: number) => typeof t === 'number' && Number.isFinite(t) && t > 0;

function endpoint(f: Finding): string {
  if (!f.subject.ip) return f.subject.names[0] ?? f.subject.domain ?? '-';
  const ip = f.subject.ip.includes(':') ? `[${f.subject.ip}]` : f.subject.ip;
  return f.subject.port ? `${ip}:${f.subject.port}` : ip;
}

/** Names other than the one already shown as the endpoint. */
function otherNames(f: Finding): string[] {
  const shown = endpoint(f);
  return f.subject.names.filter((n) => n !== shown);
}

function where(e: Evidence): { file: string; path: string; at: string; frame?: number; line?: number } {
  const s = e.source;
  const at = s.frame !== undefined ? `frame ${s.frame}` : s.line !== undefined ? `line ${s.line}` : '';
  return { file: basename(s.file), path: s.file, at, frame: s.frame, line: s.line };
}

function view(f: Finding, rules: FindingRule[] | undefined, rulesGiven: boolean) {
  const methodList = counts(f.methods);
  const toolList = counts(f.tools);
  const maxM = Math.max(1, ...methodList.map((m) => m.count));
  const maxT = Math.max(1, ...toolList.map((m) => m.count));
  const first = validTs(f.firstSeen) ? isoTime(f.firstSeen) : '';
  // The input file is named on each piece of evidence only when the evidence comes from several files.
  const multiFile = new Set(f.signals.flatMap((s) => s.evidence.map((e) => e.source.file))).size > 1;
  const files = [...new Set(f.signals.flatMap((s) => s.evidence.map((e) => basename(e.source.file))))];
  return {
    id: f.id,
    subject: f.subject,
    transport: f.transport,
    clients: f.clients,
    server: f.server,
    paths: f.paths,
    confidence: f.confidence,
    severity: f.severity,
    sources: f.sources,
    approvedBy: f.approvedBy,
    endpoint: endpoint(f),
    names: otherNames(f),
    status: f.approved ? 'approved' : 'shadow',
    scorePct: Math.round(f.score * 100),
    methodList: methodList.map((m) => ({ ...m, pct: Math.round((m.count / maxM) * 100) })),
    toolList: toolList.map((m) => ({ ...m, pct: Math.round((m.count / maxT) * 100) })),
    methodTotal: sum(f.methods),
    toolTotal: sum(f.tools),
    activity: activity(f),
    evidenceFiles: files,
    active: validTs(f.firstSeen) && validTs(f.lastSeen) ? spanText(f.firstSeen, f.lastSeen, true) : '',
    firstSeen: first,
    lastSeen: validTs(f.lastSeen) ? isoTime(f.lastSeen) : '',
    firstShort: first ? first.slice(0, 19).replace('T', ' ') : '',
    duration: validTs(f.firstSeen) && validTs(f.lastSeen) ? humanDuration(f.lastSeen - f.firstSeen) : '',
    signals: f.signals.map((s) => ({
      signatureId: s.signatureId,
      title: s.title,
      confidence: s.confidence,
      count: s.count,
      more: Math.max(0, s.count - s.evidence.length),
      evidence: s.evidence.map((e) => ({ ...where(e), showFile: multiFile, detail: e.detail, time: validTs(e.ts) ? isoTime(e.ts).slice(11, 23) : '' })),
    })),
    dlp: f.dlp ?? [],
    alerts: f.alerts ?? [],
    rules: rules ?? [],
    // Findings left without rules by the cap (or refused values) say how to get them.
    rulesMissing: rulesGiven && !f.approved && (rules ?? []).length === 0,
    search: [endpoint(f), f.id, ...f.subject.names, f.subject.domain ?? '', f.transport, f.server.name ?? '', ...f.clients.map((c) => `${c.ip} ${c.name ?? ''} ${c.userAgent ?? ''}`), ...Object.keys(f.tools), ...Object.keys(f.methods), ...f.paths]
      .join(' ')
      .toLowerCase(),
  };
}

/** What was seen of a server, in words: message counts when MCP was in clear text, else how it was seen. */
function activity(f: Finding): string {
  const m = sum(f.methods);
  const t = sum(f.tools);
  if (m > 0 || t > 0) return `${plural(m, 'MCP message')} · ${plural(t, 'tool call')}`;
  switch (f.transport) {
    case 'dns-only':
      return 'name looked up in DNS';
    case 'tls':
      return 'TLS connection, content encrypted';
    case 'conn-only':
      return 'connections only';
    default:
      return 'no MCP message in clear text';
  }
}

// ---- timeline ----------------------------------------------------------------------------------

const TL = { width: 1100, labelWidth: 250, countWidth: 90, rowHeight: 24, top: 30, breakWidth: 34, maxSegments: 8 };

interface Segment {
  t0: number;
  t1: number;
  x0: number;
  x1: number;
}

/**
 * One row per server, time running left to right. Captures and logs often hold bursts hours apart, so
 * long quiet gaps are cut out of the axis (drawn as a break with the time skipped): each burst stays
 * wide enough to read instead of collapsing into a hairline.
 */
function timeline(findings: Finding[]) {
  const drawn = findings
    .filter((f) => validTs(f.firstSeen))
    .sort((a, b) => a.firstSeen - b.firstSeen)
    .slice(0, LIMITS.htmlTimelineMaxRows);
  const notDrawn = findings.length - drawn.length;
  if (drawn.length === 0) return undefined;
  const pointsOf = (f: Finding) =>
    [f.firstSeen, f.lastSeen, ...f.signals.flatMap((s) => s.evidence.map((e) => e.ts))].filter(validTs);
  const all = [...new Set(drawn.flatMap(pointsOf))].sort((a, b) => a - b);
  const segments = cutSegments(all);
  const plotX0 = TL.labelWidth;
  const plotX1 = TL.width - TL.countWidth;
  layoutSegments(segments, plotX0, plotX1);
  const x = (t: number): number => {
    for (const s of segments) {
      if (t <= s.t1 || s === segments[segments.length - 1]) {
        if (s.t1 === s.t0) return (s.x0 + s.x1) / 2;
        const pad = Math.min(8, (s.x1 - s.x0) * 0.06);
        return s.x0 + pad + ((Math.min(Math.max(t, s.t0), s.t1) - s.t0) / (s.t1 - s.t0)) * (s.x1 - s.x0 - 2 * pad);
      }
    }
    return plotX0;
  };

  const rows = drawn.map((f, i) => {
    const y = TL.top + i * TL.rowHeight;
    const pts = pointsOf(f);
    const bars = segments
      .map((s) => pts.filter((t) => t >= s.t0 && t <= s.t1))
      .filter((p) => p.length > 0)
      .map((p) => {
        const a = x(Math.min(...p));
        const b = x(Math.max(...p));
        return { x: (Math.min(a, b) - 3).toFixed(1), w: Math.max(Math.abs(b - a) + 6, 6).toFixed(1) };
      });
    const dots = [...new Set(f.signals.flatMap((s) => s.evidence.map((e) => e.ts)).filter(validTs))].map((t) => ({ x: x(t).toFixed(1) }));
    const label = `${endpoint(f)}${otherNames(f)[0] ? `  ${otherNames(f)[0]}` : ''}`;
    const methods = sum(f.methods);
    const tools = sum(f.tools);
    return {
      id: f.id,
      y,
      mid: y + TL.rowHeight / 2,
      textY: y + TL.rowHeight / 2 + 4,
      barY: y + 6,
      barH: TL.rowHeight - 12,
      stripe: i % 2 === 1,
      label: label.length > 34 ? `${label.slice(0, 33)}…` : label,
      spanX1: x(f.firstSeen).toFixed(1),
      spanX2: x(f.lastSeen).toFixed(1),
      bars,
      dots,
      cls: f.approved ? 'approved' : f.confidence,
      count: tools > 0 ? plural(tools, 'tool call') : methods > 0 ? plural(methods, 'message') : f.transport,
      title: `${endpoint(f)} (${f.approved ? 'approved' : 'shadow'}, ${f.confidence}): ${isoTime(f.firstSeen)} → ${isoTime(f.lastSeen)}`,
    };
  });
  const bottom = TL.top + drawn.length * TL.rowHeight;
  const axis = segments.flatMap((s, i) => {
    const fine = s.t1 - s.t0 < 10;
    const single = segments.length === 1;
    const labels = [{ x: (single ? x(s.t0) : s.x0).toFixed(1), text: clock(s.t0, fine), anchor: single ? 'middle' : 'start' }];
    if (s.t1 > s.t0 && s.x1 - s.x0 > 170) labels.push({ x: (single ? x(s.t1) : s.x1).toFixed(1), text: clock(s.t1, fine), anchor: single ? 'middle' : 'end' });
    if (segments.length === 1 && s.t1 > s.t0) {
      for (const k of [0.25, 0.5, 0.75]) {
        const t = s.t0 + (s.t1 - s.t0) * k;
        labels.push({ x: x(t).toFixed(1), text: clock(t, fine), anchor: 'middle' });
      }
    }
    return labels.map((l) => ({ ...l, seg: i }));
  });
  const grid = segments.length === 1 ? axis.map((a) => ({ x: a.x })) : segments.flatMap((s) => [{ x: s.x0.toFixed(1) }, { x: s.x1.toFixed(1) }]);
  const breaks = segments.slice(1).map((s, i) => {
    const prev = segments[i]!;
    const cx = (prev.x1 + s.x0) / 2;
    return { x: (prev.x1 + 2).toFixed(1), w: (s.x0 - prev.x1 - 4).toFixed(1), cx: cx.toFixed(1), gap: `+${humanDuration(s.t0 - prev.t1)}` };
  });
  const first = all[0]!;
  return {
    width: TL.width,
    height: bottom + 40,
    rows,
    bottom,
    axisY: bottom + 16,
    breakLabelY: TL.top - 10,
    plotX0,
    plotX1,
    countX: TL.width - 4,
    axis,
    grid,
    breaks,
    top: TL.top,
    plotH: bottom - TL.top,
    day: `${isoTime(first).slice(0, 10)} UTC`,
    notDrawn,
    cut: breaks.length > 0,
  };
}

/** Splits sorted instants where the quiet gap is long, both absolutely and against the whole span. */
function cutSegments(points: number[]): Segment[] {
  const span = points[points.length - 1]! - points[0]!;
  const minGap = Math.max(5, span * 0.02);
  const gaps: Array<{ i: number; gap: number }> = [];
  for (let i = 1; i < points.length; i++) {
    const gap = points[i]! - points[i - 1]!;
    if (gap > minGap) gaps.push({ i, gap });
  }
  // Keep only the widest gaps when there are too many bursts to show each.
  const kept = gaps.sort((a, b) => b.gap - a.gap).slice(0, TL.maxSegments - 1).map((g) => g.i).sort((a, b) => a - b);
  const segments: Segment[] = [];
  let start = 0;
  for (const i of [...kept, points.length]) {
    segments.push({ t0: points[start]!, t1: points[i - 1]!, x0: 0, x1: 0 });
    start = i;
  }
  return segments;
}

/** Width per segment grows with the square root of its duration, with a floor, so a one-second burst stays readable next to an hour. */
function layoutSegments(segments: Segment[], x0: number, x1: number): void {
  const avail = x1 - x0 - (segments.length - 1) * TL.breakWidth;
  const total = segments.reduce((t, s) => t + (s.t1 - s.t0), 0);
  const floor = total > 0 ? total / (segments.length * 2) : 1;
  const weights = segments.map((s) => Math.sqrt(Math.max(s.t1 - s.t0, floor)));
  const wsum = weights.reduce((a, b) => a + b, 0);
  let x = x0;
  segments.forEach((s, i) => {
    s.x0 = x;
    s.x1 = x + (avail * weights[i]!) / wsum;
    x = s.x1 + TL.breakWidth;
  });
}

function clock(t: number, fine: boolean): string {
  const iso = isoTime(t);
  return fine ? iso.slice(11, 23) : iso.slice(11, 19);
}

export function humanDuration(seconds: number): string {
  const s = Math.max(0, seconds);
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 86400) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86400).toFixed(1)} d`;
}

function humanBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

// ---- rules per finding ---------------------------------------------------------------------------

/**
 * The generated rules for each non-approved finding, each rule set built from that finding alone, shown
 * as the lines of a few representative targets that concern it. Values the rule validators refuse are
 * simply absent; a target that fails to render is left out (rendering fails closed).
 */
export function findingRules(findings: readonly Finding[], max = LIMITS.htmlRulesMaxFindings): Record<string, FindingRule[]> {
  const out: Record<string, FindingRule[]> = {};
  let done = 0;
  for (const f of findings) {
    if (f.approved) continue;
    if (done++ >= max) break;
    const set = buildRuleSet([f], { minConfidence: 'low' });
    const blocks = set.rules.filter((r) => r.action === 'block');
    if (blocks.length === 0) continue;
    const kinds = new Set(blocks.map((r) => r.subject.kind));
    const byAddress = kinds.has('endpoint') || kinds.has('port');
    const byName = kinds.has('name') || kinds.has('http');
    const ids = [
      ...(byAddress ? ['nftables'] : []),
      ...(byName ? ['unbound'] : []),
      byAddress ? 'cloudflare-network' : 'cloudflare-dns',
      'suricata',
    ];
    const tokens = [f.id, f.subject.ip, ...f.subject.names, f.subject.domain].filter((t): t is string => !!t && t.length >= 3);
    const list: FindingRule[] = [];
    for (const id of ids) {
      const target = findTarget(id);
      if (!target) continue;
      let text: string;
      try {
        text = target.render(set);
      } catch {
        continue;
      }
      const excerpt = text.trimStart().startsWith('{') ? jsonExcerpt(text, tokens) : lineExcerpt(text, tokens);
      if (!excerpt) continue;
      list.push({ target: id, title: target.meta.title, text: excerpt, validator: target.meta.validator });
    }
    if (list.length > 0) out[f.id] = list;
  }
  return out;
}

/**
 * Lines that name the finding or its subject, with the blocks that enclose them (`set x {`, `server:`)
 * and their closing braces, so an excerpt still reads as the target's syntax.
 */
function lineExcerpt(text: string, tokens: string[]): string {
  const lines = text.split('\n');
  const indent = (l: string) => /^[\t ]*/.exec(l)![0].replace(/\t/g, '  ').length;
  const keep = new Set<number>();
  const seen = new Set<string>();
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (!line || !tokens.some((t) => line.includes(t))) continue;
    if (seen.has(line)) continue; // the same comment repeated over several rules
    seen.add(line);
    keep.add(i);
    let level = indent(lines[i]!);
    for (let j = i - 1; j >= 0 && level > 0; j--) {
      const t = lines[j]!.trimEnd();
      if (!t.trim() || indent(t) >= level || !(t.endsWith('{') || t.endsWith(':'))) continue;
      keep.add(j);
      level = indent(t);
      if (t.endsWith('{')) {
        const close = lines.findIndex((c, k) => k > i && c.trim() === '}' && indent(c) === level);
        if (close > 0) keep.add(close);
      }
    }
  }
  const kept = [...keep].sort((a, b) => a - b).map((i) => lines[i]!.replace(/\t/g, '  ').trimEnd());
  const min = Math.min(...kept.map(indent));
  return kept.map((l) => l.slice(min)).join('\n');
}

/** JSON targets (Cloudflare API bodies): the rule bodies and lists that concern the finding, indented. */
function jsonExcerpt(text: string, tokens: string[]): string {
  let doc: { rules?: Array<{ body?: unknown }>; lists?: unknown[] };
  try {
    doc = JSON.parse(text) as typeof doc;
  } catch {
    return lineExcerpt(text, tokens);
  }
  const parts = [...(doc.lists ?? []), ...(doc.rules ?? []).map((r) => r.body ?? r)]
    // Arrays of plain values stay on one line.
    .map((x) => JSON.stringify(x, null, 2).replace(/\[\n\s+([^\n\[\]{}]*)\n\s*\]/g, (_m, v: string) => `[${v.trim()}]`))
    .filter((j) => tokens.some((t) => j.includes(t)));
  return parts.join('\n');
}
