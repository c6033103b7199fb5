// `shadowtap inventory list|show|export|runs`: the running inventory kept by `import --db`.
import { writeFile } from 'node:fs/promises';
import { stringify } from 'csv-stringify/sync';
import { Store } from '../../store/db.js';
import {
  listClients, listDomains, listRuns, listServers, showEntity,
  type ClientRow, type DomainRow, type ListFilter, type RunRow, type ServerRow, type Status,
} from '../../store/inventory.js';
import { listAlerts, listDlp, type AlertRow, type AuditFilter, type DlpRow } from '../../store/audit.js';
import { EXIT, UsageError, type CliIO } from '../io.js';

export type InventoryKind = 'servers' | 'domains' | 'clients' | 'runs' | 'dlp' | 'alerts';
export type InventoryFormat = 'table' | 'json' | 'csv' | 'ndjson';

export interface InventoryCommandOptions {
  action: 'list' | 'show' | 'export' | 'runs';
  db: string;
  /** show: a server id, ip or ip:port, a name, or a client ip. list, export: the kind (`inventory list domains`). */
  key?: string;
  kind?: InventoryKind;
  format?: InventoryFormat;
  /** Only what was seen at or after this time: ISO date/time, epoch seconds, or an age (90m, 24h, 7d). */
  since?: string;
  status?: Status;
  out?: string;
}

/** Kinds `list` and `export` take, as `--kind` or as the word after the action; singular forms are accepted too. */
export const LIST_KINDS = ['servers', 'domains', 'clients', 'dlp', 'alerts'] as const;
const KIND_WORDS = new Map<string, InventoryKind>([
  ['servers', 'servers'], ['server', 'servers'], ['domains', 'domains'], ['domain', 'domains'], ['clients', 'clients'], ['client', 'clients'],
  ['dlp', 'dlp'], ['alerts', 'alerts'], ['alert', 'alerts'],
]);

/**
 * The kind `list`/`export` shows: the positional word (`inventory list domains`) or `--kind`. Without one, `list`
 * lists servers and `export` exports every kind (undefined).
 * An unknown word is a usage error rather than a silent server list; so is a word that contradicts `--kind`.
 */
export function resolveListKind(action: 'list' | 'export', word: string | undefined, kind: InventoryKind | undefined): InventoryKind | undefined {
  if (word === undefined) return kind ?? (action === 'list' ? 'servers' : undefined);
  const w = word.toLowerCase();
  const named = KIND_WORDS.get(w);
  if (!named) {
    const runs = w === 'runs' || w === 'run' ? ' (for runs: inventory runs)' : '';
    // Quoted when it holds spaces or control characters, so the error stays one readable line.
    const shown = /^[\x21-\x7e]+$/.test(word) ? word : JSON.stringify(word);
    throw new UsageError(`inventory ${action} ${shown}: not a kind; use one of ${LIST_KINDS.join(', ')}${runs}`);
  }
  if (kind && kind !== named) throw new UsageError(`inventory ${action} ${word} --kind ${kind}: two different kinds; give one`);
  return named;
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** `--since` → epoch seconds. */
export function parseSince(text: string, nowMs = Date.now()): number {
  const t = text.trim();
  const age = /^(\d+(?:\.\d+)?)([smhdw])$/.exec(t);
  if (age) return nowMs / 1000 - Number(age[1]) * UNITS[age[2]];
  if (/^\d+(?:\.\d+)?$/.test(t)) return Number(t);
  const ms = Date.parse(t);
  if (Number.isNaN(ms)) throw new UsageError(`--since ${text}: not a time (use 2025-01-31, 2025-01-31T08:00:00Z, epoch seconds, or an age like 24h or 7d)`);
  return ms / 1000;
}

const iso = (ts: number): string => new Date(ts * 1000).toISOString();

/** Stable snake_case records, one shape for json, ndjson and csv. */
export function serverRecord(s: ServerRow): Record<string, unknown> {
  return {
    type: 'shadowtap.inventory.server', id: s.id, status: s.status, confidence: s.confidence, score: Number(s.score.toFixed(3)),
    severity: s.severity, server_ip: s.ip, server_port: s.port, names: s.names, domain: s.domain, transport: s.transport,
    server_name: s.serverName, server_version: s.serverVersion, protocol_version: s.protocolVersion, approved_by: s.approvedBy,
    first_seen: iso(s.firstSeen), last_seen: iso(s.lastSeen), hits: s.hits, runs: s.runs, first_run: s.firstRun, last_run: s.lastRun,
    clients: s.clients, methods: s.methods, tools: s.tools, paths: s.paths, signatures: s.signatures, sources: s.sources,
    dlp: s.dlp, alerts: s.alerts,
  };
}

/** One data-loss hit: the value masked (as the audit stage masked it, checked again by the store). */
export function dlpRecord(h: DlpRow): Record<string, unknown> {
  return {
    type: 'shadowtap.inventory.dlp', server_id: h.serverId || null, server: h.server, detector: h.detector, category: h.category,
    title: h.title, severity: h.severity, masked: h.masked, path: h.path, method: h.method, part: h.part, clients: h.clients,
    count: h.count, first_seen: iso(h.firstSeen), last_seen: iso(h.lastSeen), runs: h.runs, first_run: h.firstRun, last_run: h.lastRun,
    run_ids: h.runIds, example: h.example,
  };
}

export function alertRecord(a: AlertRow): Record<string, unknown> {
  return {
    type: 'shadowtap.inventory.alert', server_id: a.serverId || null, client: a.client, kind: a.kind, subject: a.subject, title: a.title,
    severity: a.severity, servers: a.servers, window_seconds: a.windowSeconds, value: a.value, threshold: a.threshold, detail: a.detail,
    count: a.count, first_seen: iso(a.firstSeen), last_seen: iso(a.lastSeen), runs: a.runs, first_run: a.firstRun, last_run: a.lastRun,
    run_ids: a.runIds, example: a.example,
  };
}

export function domainRecord(d: DomainRow): Record<string, unknown> {
  return {
    type: 'shadowtap.inventory.domain', name: d.name, status: d.status, first_seen: iso(d.firstSeen), last_seen: iso(d.lastSeen),
    hits: d.hits, runs: d.runs, first_run: d.firstRun, last_run: d.lastRun, servers: d.servers, clients: d.clients, sources: d.sources,
  };
}

export function clientRecord(c: ClientRow): Record<string, unknown> {
  return {
    type: 'shadowtap.inventory.client', ip: c.ip, status: c.status, client_names: c.names, first_seen: iso(c.firstSeen),
    last_seen: iso(c.lastSeen), hits: c.hits, runs: c.runs, first_run: c.firstRun, last_run: c.lastRun, servers: c.servers, sources: c.sources,
  };
}

export function runRecord(r: RunRow): Record<string, unknown> {
  return {
    type: 'shadowtap.inventory.run', id: r.id, started_at: iso(r.startedAt), finished_at: iso(r.finishedAt), tool_version: r.toolVersion,
    host: r.host, pid: r.pid, inputs: r.inputs, files: r.files, bytes: r.bytes, lines: r.lines, observations: r.observations,
    findings: r.findings, new_findings: r.newFindings, new_shadow: r.newShadow, attempts: r.attempts, kind: r.kind,
    state: r.state, commits: r.commits, resumed_by: r.resumedBy,
  };
}

function records(store: Store, kind: InventoryKind, filter: ListFilter): Array<Record<string, unknown>> {
  switch (kind) {
    case 'servers': return listServers(store.db, filter).map(serverRecord);
    case 'domains': return listDomains(store.db, filter).map(domainRecord);
    case 'clients': return listClients(store.db, filter).map(clientRecord);
    case 'runs': return listRuns(store.db).map(runRecord);
    case 'dlp': return listDlp(store.db, filter as AuditFilter).map(dlpRecord);
    case 'alerts': return listAlerts(store.db, filter as AuditFilter).map(alertRecord);
  }
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (Array.isArray(v)) return v.join(' ');
  if (typeof v === 'object') return Object.entries(v as Record<string, number>).map(([k, n]) => `${k}=${n}`).join(' ');
  return String(v);
}

function csv(rows: Array<Record<string, unknown>>, kind: InventoryKind): string {
  const columns = rows.length ? Object.keys(rows[0]).filter((k) => k !== 'type') : COLUMNS[kind];
  return stringify(rows.map((r) => columns.map((c) => cell(r[c]))), { header: true, columns });
}

const COLUMNS: Record<InventoryKind, string[]> = {
  servers: Object.keys(serverRecord({ names: [], clients: [], methods: {}, tools: {}, paths: [], signatures: [], sources: [], score: 0, firstSeen: 0, lastSeen: 0 } as unknown as ServerRow)).filter((k) => k !== 'type'),
  domains: ['name', 'status', 'first_seen', 'last_seen', 'hits', 'runs', 'first_run', 'last_run', 'servers', 'clients', 'sources'],
  clients: ['ip', 'status', 'client_names', 'first_seen', 'last_seen', 'hits', 'runs', 'first_run', 'last_run', 'servers', 'sources'],
  runs: ['id', 'started_at', 'finished_at', 'tool_version', 'host', 'pid', 'inputs', 'files', 'bytes', 'lines', 'observations', 'findings', 'new_findings', 'new_shadow', 'attempts', 'kind', 'state', 'commits', 'resumed_by'],
  dlp: Object.keys(dlpRecord({ clients: [], runIds: [], firstSeen: 0, lastSeen: 0 } as unknown as DlpRow)).filter((k) => k !== 'type'),
  alerts: Object.keys(alertRecord({ servers: [], runIds: [], firstSeen: 0, lastSeen: 0 } as unknown as AlertRow)).filter((k) => k !== 'type'),
};

/** The CSV of every kind: one header, `type` first, then each kind's columns in LIST_KINDS order (empty where a kind has none). */
const ALL_COLUMNS = ['type', ...new Set(LIST_KINDS.flatMap((k) => COLUMNS[k]))];

const TABLE_COLUMNS: Record<InventoryKind, Array<[string, string]>> = {
  servers: [['STATUS', 'status'], ['CONF', 'confidence'], ['SERVER', 'server'], ['NAMES', 'names'], ['TRANSPORT', 'transport'],
    ['CLIENTS', 'clients'], ['HITS', 'hits'], ['DLP', 'dlp'], ['ALERTS', 'alerts'], ['RUNS', 'runs'], ['FIRST SEEN', 'first_seen'], ['LAST SEEN', 'last_seen'], ['ID', 'id']],
  domains: [['STATUS', 'status'], ['NAME', 'name'], ['SERVERS', 'servers'], ['CLIENTS', 'clients'], ['HITS', 'hits'], ['RUNS', 'runs'],
    ['FIRST SEEN', 'first_seen'], ['LAST SEEN', 'last_seen']],
  clients: [['STATUS', 'status'], ['CLIENT', 'ip'], ['SOFTWARE', 'client_names'], ['SERVERS', 'servers'], ['HITS', 'hits'], ['RUNS', 'runs'],
    ['FIRST SEEN', 'first_seen'], ['LAST SEEN', 'last_seen']],
  runs: [['RUN', 'id'], ['FINISHED', 'finished_at'], ['FILES', 'files'], ['BYTES', 'bytes'], ['LINES', 'lines'], ['FINDINGS', 'findings'],
    ['NEW', 'new_findings'], ['NEW SHADOW', 'new_shadow'], ['ATTEMPTS', 'attempts'], ['KIND', 'kind'], ['STATE', 'state'], ['RESUMED BY', 'resumed_by'], ['HOST', 'host']],
  dlp: [['SEVERITY', 'severity'], ['DETECTOR', 'detector'], ['MASKED', 'masked'], ['SERVER', 'server'], ['METHOD', 'method'], ['PATH', 'path'],
    ['CLIENTS', 'clients'], ['COUNT', 'count'], ['RUNS', 'runs'], ['LAST SEEN', 'last_seen']],
  alerts: [['SEVERITY', 'severity'], ['KIND', 'kind'], ['CLIENT', 'client'], ['SERVERS', 'servers'], ['SUBJECT', 'subject'], ['VALUE', 'value'],
    ['WINDOW', 'window_seconds'], ['COUNT', 'count'], ['RUNS', 'runs'], ['LAST SEEN', 'last_seen']],
};

function table(rows: Array<Record<string, unknown>>, kind: InventoryKind): string {
  const cols = TABLE_COLUMNS[kind];
  const text = (r: Record<string, unknown>, key: string): string => {
    if (key === 'server' && 'server_ip' in r) {
      const ip = r.server_ip as string | null;
      if (!ip) return '-';
      return `${ip.includes(':') ? `[${ip}]` : ip}${r.server_port ? `:${r.server_port}` : ''}`;
    }
    if (key === 'status') return r.status === 'shadow' ? 'SHADOW' : 'approved';
    if (key === 'dlp' || key === 'alerts') return String(r[key] ?? 0);
    if ((key === 'clients' || key === 'servers') && Array.isArray(r[key])) {
      const a = r[key] as string[];
      return a.length > 2 ? `${a.slice(0, 2).join(',')} +${a.length - 2}` : a.join(',') || '-';
    }
    if (key === 'first_seen' || key === 'last_seen' || key === 'finished_at') return String(r[key]).replace('T', ' ').replace(/\.\d+Z$/, 'Z');
    return cell(r[key]) || '-';
  };
  const body = rows.map((r) => cols.map(([, k]) => text(r, k)));
  const widths = cols.map(([h], i) => Math.min(48, Math.max(h.length, ...body.map((b) => b[i].length))));
  const cut = (s: string, w: number) => (s.length > w ? `${s.slice(0, w - 1)}…` : s.padEnd(w));
  const lines = [cols.map(([h], i) => cut(h, widths[i])).join('  ').trimEnd()];
  for (const b of body) lines.push(b.map((c, i) => cut(c, widths[i])).join('  ').trimEnd());
  lines.push('', `${rows.length} ${kind}`);
  return `${lines.join('\n')}\n`;
}

function detailLines(title: string, lines: string[]): string {
  return lines.length ? `${title}:\n${lines.map((l) => `  ${l}`).join('\n')}` : `${title}: none`;
}

const runList = (ids: unknown): string => (ids as number[]).map((i) => `#${i}`).join(',');

function dlpLine(h: Record<string, unknown>): string {
  return `${String(h.severity).toUpperCase()} ${h.detector} ${h.masked} at ${h.method ?? '-'} ${h.path} (${h.part}) ×${h.count}` +
    ` clients ${cell(h.clients) || '-'}, ${String(h.first_seen)} .. ${String(h.last_seen)}, runs ${runList(h.run_ids)}`;
}

function alertLine(a: Record<string, unknown>): string {
  return `${String(a.severity).toUpperCase()} ${a.kind}${a.subject ? ` ${a.subject}` : ''} client ${a.client} ×${a.count}: ${a.detail}` +
    `, ${String(a.first_seen)} .. ${String(a.last_seen)}, runs ${runList(a.run_ids)}`;
}

function render(rows: Array<Record<string, unknown>>, kind: InventoryKind, format: InventoryFormat): string {
  switch (format) {
    case 'json': return `${JSON.stringify(rows, null, 2)}\n`;
    case 'ndjson': return rows.map((r) => `${JSON.stringify(r)}\n`).join('');
    case 'csv': return csv(rows, kind);
    case 'table': return table(rows, kind);
  }
}

/**
 * `export` without a kind: servers, domains, clients, dlp and alerts, each record with its `type`. JSON is the
 * schema's document, which also holds the runs; the other formats leave runs to `inventory runs`.
 */
function exportAll(store: Store, filter: ListFilter, format: InventoryFormat): string {
  const all = LIST_KINDS.map((k) => [k, records(store, k, filter)] as const);
  switch (format) {
    case 'json': return `${JSON.stringify({ ...Object.fromEntries(all), runs: records(store, 'runs', filter) }, null, 2)}\n`;
    case 'ndjson': return all.map(([k, rows]) => render(rows, k, 'ndjson')).join('');
    case 'csv': return stringify(all.flatMap(([, rows]) => rows.map((r) => ALL_COLUMNS.map((c) => cell(r[c])))), { header: true, columns: ALL_COLUMNS });
    case 'table': return all.map(([k, rows]) => table(rows, k)).join('\n');
  }
}

export async function runInventory(o: InventoryCommandOptions, io: CliIO): Promise<number> {
  const filter: ListFilter = { since: o.since !== undefined ? parseSince(o.since) : undefined, status: o.status };
  // Checked before the store is opened: a mistyped kind is reported as such, whatever the store.
  if (o.action === 'runs' && o.key !== undefined) throw new UsageError(`inventory runs ${o.key}: runs takes no argument`);
  const listKind = o.action === 'list' || o.action === 'export' ? resolveListKind(o.action, o.key, o.kind) : undefined;
  const store = Store.open(o.db, { mustExist: true });
  let text: string;
  try {
    const format = o.format ?? (o.action === 'export' ? 'json' : 'table');
    if (o.action === 'export' && !listKind) {
      text = exportAll(store, filter, format);
    } else if (o.action !== 'show') {
      // `export KIND` is `list KIND` in every format (JSON by default): the same records as `list`, so one schema item each.
      const kind = o.action === 'runs' ? 'runs' : listKind!;
      text = render(records(store, kind, filter), kind, format);
    } else {
      if (!o.key) throw new UsageError('inventory show needs a key: a server id, ip, ip:port, name or client ip');
      const found = showEntity(store.db, o.key);
      if (found.length === 0) throw new UsageError(`nothing in the inventory matches ${o.key}`);
      const recs = found.map((f) => {
        const base = f.kind === 'server' ? serverRecord(f.row as ServerRow) : f.kind === 'domain' ? domainRecord(f.row as DomainRow) : clientRecord(f.row as ClientRow);
        return {
          ...base, seen_in_runs: f.runs.map((r) => ({ run: r.run, hits: r.hits })),
          ...(f.kind !== 'domain' && { dlp_hits: f.dlp.map(dlpRecord), behaviour_alerts: f.alerts.map(alertRecord) }),
        };
      });
      if (format === 'json') text = `${JSON.stringify(recs, null, 2)}\n`;
      else if (format === 'ndjson') text = recs.map((r) => `${JSON.stringify(r)}\n`).join('');
      else {
        text = recs.map((r) => {
          const w = Math.max(...Object.keys(r).map((k) => k.length));
          return Object.entries(r).map(([k, v]) => {
            if (k === 'dlp_hits') return detailLines('data-loss hits', (v as Array<Record<string, unknown>>).map(dlpLine));
            if (k === 'behaviour_alerts') return detailLines('behaviour alerts', (v as Array<Record<string, unknown>>).map(alertLine));
            return `${k.padEnd(w)}  ${k === 'seen_in_runs' ? (v as Array<{ run: number; hits: number }>).map((x) => `#${x.run}×${x.hits}`).join(' ') : cell(v)}`;
          }).join('\n');
        }).join('\n\n') + '\n';
      }
    }
  } finally {
    store.close();
  }
  if (o.out) await writeFile(o.out, text);
  else io.stdout(text);
  return EXIT.clean;
}
