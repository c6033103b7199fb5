// Data-loss hits and behaviour alerts in the inventory. Each run's contribution is kept per run
// (dlp_hit_runs, alert_runs: written with SET, never added to), and the totals are recomputed from those
// rows, so merging the same run twice changes nothing. Values are stored masked only (storedMask).
// Also the learned calls per window of each (client, server, tool), the baseline of tool_call_unusual.
import { resolve } from 'node:path';
import type Database from 'better-sqlite3';
import { LIMITS } from '../config/limits.js';
import type { AlertKind, BehaviourAlert, DlpCategory, DlpHit, MessagePart } from '../audit/types.js';
import type { CallHistory, CallKey, CallWindows } from '../audit/behaviour.js';
import { SEVERITY_RANK, type Finding, type Severity } from '../detect/finding.js';
import { hostPort } from '../audit/trail.js';
import type { Sighting } from './inventory.js';

const higher = (a: Severity, b: Severity): Severity => (SEVERITY_RANK[a] >= SEVERITY_RANK[b] ? a : b);

export interface DlpRow extends Sighting {
  id: number;
  /** Inventory server id ('' for an endpoint no finding was made for). */
  serverId: string;
  server: string;
  detector: string;
  category: DlpCategory;
  title: string;
  severity: Severity;
  masked: string;
  path: string;
  method: string | null;
  part: MessagePart;
  clients: string[];
  example: string;
  count: number;
  runIds: number[];
}

export interface AlertRow extends Sighting {
  id: number;
  serverId: string;
  client: string;
  kind: AlertKind;
  subject: string | null;
  windowSeconds: number;
  title: string;
  severity: Severity;
  servers: string[];
  threshold: number;
  value: number;
  detail: string;
  example: string;
  count: number;
  runIds: number[];
}

const MASK_TAIL = /…\(\d+\)$/;
const PEM_HEAD = /^-----BEGIN [A-Z0-9 ]{1,40}-----$/;

/**
 * The masked value as stored. The audit stage masks already (`ghp_…(40)`); this checks it: a secret, card
 * or PII value whose mask shows more than 4 characters (other than a PEM header) or lacks the `…(length)`
 * tail is masked again here, so a masking bug upstream cannot put a whole secret into the store. Markers
 * and custom patterns may be shown as configured (`reveal`); they are only cut to a bounded length.
 */
export function storedMask(h: Pick<DlpHit, 'category' | 'masked'>): string {
  const m = h.masked;
  if (h.category === 'secret' || h.category === 'pci' || h.category === 'pii') {
    const tail = MASK_TAIL.exec(m);
    const shown = tail ? m.slice(0, tail.index) : m;
    if (!tail || (shown.length > 4 && !PEM_HEAD.test(shown))) {
      const length = tail ? Number(/\d+/.exec(tail[0])![0]) : m.length;
      return `${[...shown].slice(0, 4).join('')}…(${length})`;
    }
  }
  const chars = [...m];
  return chars.length > LIMITS.storeMaxMaskedChars ? `${chars.slice(0, LIMITS.storeMaxMaskedChars - 1).join('')}…` : m;
}

const where = (file: string | undefined, frame: number) => `${file ? resolve(file) : '-'}#${frame}`;
const endpointOf = (f: Finding): string | undefined =>
  f.subject.ip && f.subject.port ? hostPort({ ip: f.subject.ip, port: f.subject.port }) : undefined;

interface DlpAgg {
  serverId: string; hit: DlpHit; masked: string; severity: Severity; clients: Set<string>;
  count: number; first: number; last: number; example: string; exampleTs: number;
}

interface AlertAgg {
  serverId: string; alert: BehaviourAlert; severity: Severity; servers: Set<string>;
  count: number; value: number; first: number; last: number; example: string;
}

/** Merge the hits and alerts the findings carry (plus the report's unattached ones) for run `runId`. */
export function mergeAudit(
  db: Database.Database,
  runId: number,
  findings: Finding[],
  extra: { alerts?: BehaviourAlert[]; unattachedDlp?: DlpHit[] } = {},
): void {
  // One run's hits folded by key first: two values with the same mask are one row, their counts summed.
  const dlp = new Map<string, DlpAgg>();
  const addHit = (serverId: string, h: DlpHit) => {
    const masked = storedMask(h);
    const method = h.where.method ?? '';
    const key = JSON.stringify([serverId, h.server, h.detector, masked, h.where.path, method]);
    let a = dlp.get(key);
    if (!a) {
      a = { serverId, hit: h, masked, severity: h.severity, clients: new Set(), count: 0, first: h.where.ts, last: h.where.ts,
        example: where(h.where.file, h.where.frame), exampleTs: h.where.ts };
      dlp.set(key, a);
    }
    a.severity = higher(a.severity, h.severity);
    if (a.clients.size < LIMITS.storeMaxListItems) a.clients.add(h.client);
    a.count += Math.max(1, h.count);
    a.first = Math.min(a.first, h.where.ts);
    a.last = Math.max(a.last, h.where.ts);
    if (h.where.ts < a.exampleTs) { a.example = where(h.where.file, h.where.frame); a.exampleTs = h.where.ts; }
  };
  const alerts = new Map<string, AlertAgg>();
  const addAlert = (serverId: string, al: BehaviourAlert) => {
    const key = JSON.stringify([serverId, al.client, al.kind, al.subject ?? '', al.windowSeconds]);
    let a = alerts.get(key);
    if (!a) {
      a = { serverId, alert: al, severity: al.severity, servers: new Set(), count: 0, value: al.value, first: al.firstTs, last: al.lastTs,
        example: al.evidence[0] ? where(al.evidence[0].file, al.evidence[0].frame) : '' };
      alerts.set(key, a);
    }
    a.severity = higher(a.severity, al.severity);
    for (const s of al.servers) if (a.servers.size < LIMITS.storeMaxListItems) a.servers.add(s);
    a.count++;
    a.value = Math.max(a.value, al.value);
    a.first = Math.min(a.first, al.firstTs);
    a.last = Math.max(a.last, al.lastTs);
    if (al.lastTs >= a.alert.lastTs) a.alert = al; // detail and threshold of the latest
  };

  const endpoints = new Set<string>();
  for (const f of findings) {
    const ep = endpointOf(f);
    if (ep) endpoints.add(ep);
    for (const h of f.dlp ?? []) addHit(f.id, h);
    for (const al of f.alerts ?? []) addAlert(f.id, al);
  }
  for (const h of extra.unattachedDlp ?? []) addHit('', h);
  // Alerts on endpoints without a finding in this run are kept under server id '' (found by their client).
  for (const al of extra.alerts ?? []) if (!al.servers.some((s) => endpoints.has(s))) addAlert('', al);

  if (dlp.size) {
    const upsert = db.prepare(`INSERT INTO dlp_hits (server_id, server, detector, category, title, severity, masked, path, method, part,
      clients, example, count, first_seen, last_seen, runs, first_run, last_run)
      VALUES (@server_id, @server, @detector, @category, @title, @severity, @masked, @path, @method, @part, @clients, @example, 0,
      @first, @last, 0, @run, @run)
      ON CONFLICT (server_id, server, detector, masked, path, method) DO UPDATE SET title = excluded.title, category = excluded.category`);
    const get = db.prepare('SELECT id, severity, clients, example, first_seen FROM dlp_hits WHERE server_id = ? AND server = ? AND detector = ? AND masked = ? AND path = ? AND method = ?');
    const perRun = db.prepare(`INSERT INTO dlp_hit_runs (hit_id, run_id, count, first_seen, last_seen) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (hit_id, run_id) DO UPDATE SET count = excluded.count, first_seen = excluded.first_seen, last_seen = excluded.last_seen`);
    const total = db.prepare(`UPDATE dlp_hits SET severity = @severity, clients = @clients, example = @example,
      (count, first_seen, last_seen, runs, first_run, last_run) = (SELECT sum(count), min(first_seen), max(last_seen), count(*),
      min(run_id), max(run_id) FROM dlp_hit_runs WHERE hit_id = @id) WHERE id = @id`);
    for (const a of dlp.values()) {
      const h = a.hit;
      const method = h.where.method ?? '';
      upsert.run({
        server_id: a.serverId, server: h.server, detector: h.detector, category: h.category, title: h.title, severity: a.severity,
        masked: a.masked, path: h.where.path, method, part: h.where.part, clients: '[]', example: a.example, first: a.first, last: a.last, run: runId,
      });
      const row = get.get(a.serverId, h.server, h.detector, a.masked, h.where.path, method) as
        { id: number; severity: Severity; clients: string; example: string; first_seen: number };
      perRun.run(row.id, runId, a.count, a.first, a.last);
      const clients = new Set(JSON.parse(row.clients) as string[]);
      for (const c of a.clients) if (clients.size < LIMITS.storeMaxListItems) clients.add(c);
      total.run({
        id: row.id, severity: higher(row.severity, a.severity), clients: JSON.stringify([...clients].sort()),
        example: a.first < row.first_seen || row.example === '' ? a.example : row.example,
      });
    }
  }

  if (alerts.size) {
    const upsert = db.prepare(`INSERT INTO alerts (server_id, client, kind, subject, window_seconds, title, severity, servers, threshold, value,
      detail, example, count, first_seen, last_seen, runs, first_run, last_run)
      VALUES (@server_id, @client, @kind, @subject, @window, @title, @severity, '[]', @threshold, 0, @detail, @example, 0, @first, @last, 0, @run, @run)
      ON CONFLICT (server_id, client, kind, subject, window_seconds) DO NOTHING`);
    const get = db.prepare('SELECT id, severity, servers, example, first_seen, last_seen FROM alerts WHERE server_id = ? AND client = ? AND kind = ? AND subject = ? AND window_seconds = ?');
    const perRun = db.prepare(`INSERT INTO alert_runs (alert_id, run_id, count, value, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (alert_id, run_id) DO UPDATE SET count = excluded.count, value = excluded.value, first_seen = excluded.first_seen,
      last_seen = excluded.last_seen`);
    const total = db.prepare(`UPDATE alerts SET severity = @severity, servers = @servers, example = @example, title = @title,
      threshold = @threshold, detail = @detail, (count, value, first_seen, last_seen, runs, first_run, last_run) = (SELECT sum(count),
      max(value), min(first_seen), max(last_seen), count(*), min(run_id), max(run_id) FROM alert_runs WHERE alert_id = @id) WHERE id = @id`);
    for (const a of alerts.values()) {
      const al = a.alert;
      const subject = al.subject ?? '';
      upsert.run({
        server_id: a.serverId, client: al.client, kind: al.kind, subject, window: al.windowSeconds, title: al.title, severity: a.severity,
        threshold: al.threshold, detail: al.detail, example: a.example, first: a.first, last: a.last, run: runId,
      });
      const row = get.get(a.serverId, al.client, al.kind, subject, al.windowSeconds) as
        { id: number; severity: Severity; servers: string; example: string; first_seen: number; last_seen: number };
      perRun.run(row.id, runId, a.count, a.value, a.first, a.last);
      const servers = new Set(JSON.parse(row.servers) as string[]);
      for (const s of a.servers) if (servers.size < LIMITS.storeMaxListItems) servers.add(s);
      // Detail and threshold follow the most recent alert (a config change applies from then on).
      const latest = a.last >= row.last_seen;
      total.run({
        id: row.id, severity: higher(row.severity, a.severity), servers: JSON.stringify([...servers].sort()),
        example: a.first < row.first_seen || row.example === '' ? a.example : row.example,
        ...(latest ? { title: al.title, threshold: al.threshold, detail: al.detail } : currentText(db, row.id)),
      });
    }
  }
}

/**
 * The inventory as the tool_call_unusual baseline: read while the run reads its inputs (a primary-key lookup per key
 * first seen), written by save() inside the run's commit transaction. A window a run shares with the previous one
 * (rotated captures) sums both runs' calls; the rows least recently active beyond LIMITS.auditBaselineKeys are dropped.
 */
export class StoreCallHistory implements CallHistory {
  private readonly get: Database.Statement;
  private readonly learned: Array<[CallKey, CallWindows]> = [];

  constructor(private readonly db: Database.Database) {
    this.get = db.prepare('SELECT windows FROM tool_call_windows WHERE client = ? AND server = ? AND tool = ? AND window_seconds = ?').pluck();
  }

  windows(k: CallKey): unknown[] | undefined {
    const text = this.get.get(k.client, k.server, k.tool, k.windowSeconds) as string | undefined;
    if (text === undefined) return undefined;
    try {
      const w = JSON.parse(text) as unknown;
      return Array.isArray(w) ? w : [w];
    } catch {
      return [text]; // counted by the monitor as a bad window
    }
  }

  learn(k: CallKey, windows: CallWindows): void {
    if (windows.length) this.learned.push([k, windows]);
  }

  save(runId: number, maxKeys: number = LIMITS.auditBaselineKeys): void {
    const put = this.db.prepare(`INSERT INTO tool_call_windows (client, server, tool, window_seconds, windows, last_window, last_run)
      VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (client, server, tool, window_seconds) DO UPDATE SET windows = excluded.windows,
      last_window = excluded.last_window, last_run = excluded.last_run`);
    for (const [k, w] of this.learned) put.run(k.client, k.server, k.tool, k.windowSeconds, JSON.stringify(w), w[w.length - 1][0], runId);
    if (this.learned.length) {
      this.db.prepare(`DELETE FROM tool_call_windows WHERE id IN (SELECT id FROM tool_call_windows ORDER BY last_window DESC, id DESC
        LIMIT -1 OFFSET ?)`).run(maxKeys);
    }
  }
}

function currentText(db: Database.Database, id: number): { title: string; threshold: number; detail: string } {
  return db.prepare('SELECT title, threshold, detail FROM alerts WHERE id = ?').get(id) as { title: string; threshold: number; detail: string };
}

// ---------------------------------------------------------------- queries

export interface AuditFilter {
  /** Last seen at or after (epoch seconds). */
  since?: number;
  /** Only rows on servers of this inventory status (rows under server id '' have none and are left out). */
  status?: 'shadow' | 'approved';
  serverIds?: string[];
  /** Alerts raised for this client / hits seen from it. */
  client?: string;
}

function filterSql(f: AuditFilter, clientColumn: 'client' | 'clients'): { sql: string; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  if (f.since !== undefined) { parts.push('last_seen >= ?'); params.push(f.since); }
  if (f.status) { parts.push('server_id IN (SELECT id FROM servers WHERE status = ?)'); params.push(f.status); }
  if (f.serverIds) { parts.push(`server_id IN (${f.serverIds.map(() => '?').join(',') || "''"})`); params.push(...f.serverIds); }
  if (f.client !== undefined) {
    if (clientColumn === 'client') parts.push('client = ?');
    else parts.push('EXISTS (SELECT 1 FROM json_each(clients) WHERE value = ?)');
    params.push(f.client);
  }
  return { sql: parts.length ? `WHERE ${parts.join(' AND ')}` : '', params };
}

const runIdsOf = (db: Database.Database, table: 'dlp_hit_runs' | 'alert_runs', column: 'hit_id' | 'alert_id', id: number): number[] =>
  (db.prepare(`SELECT run_id FROM ${table} WHERE ${column} = ? ORDER BY run_id`).all(id) as Array<{ run_id: number }>).map((r) => r.run_id);

export function listDlp(db: Database.Database, filter: AuditFilter = {}): DlpRow[] {
  const w = filterSql(filter, 'clients');
  const rows = db.prepare(`SELECT * FROM dlp_hits ${w.sql} ORDER BY last_seen DESC, server_id, detector, path, masked`).all(...w.params) as Array<Record<string, unknown>>;
  return rows.map((r) => ({
    id: r.id as number, serverId: r.server_id as string, server: r.server as string, detector: r.detector as string,
    category: r.category as DlpCategory, title: r.title as string, severity: r.severity as Severity, masked: r.masked as string,
    path: r.path as string, method: (r.method as string) || null, part: r.part as MessagePart, clients: JSON.parse(r.clients as string),
    example: r.example as string, count: r.count as number, firstSeen: r.first_seen as number, lastSeen: r.last_seen as number,
    runs: r.runs as number, firstRun: r.first_run as number, lastRun: r.last_run as number, runIds: runIdsOf(db, 'dlp_hit_runs', 'hit_id', r.id as number),
  }));
}

export function listAlerts(db: Database.Database, filter: AuditFilter = {}): AlertRow[] {
  const w = filterSql(filter, 'client');
  const rows = db.prepare(`SELECT * FROM alerts ${w.sql} ORDER BY last_seen DESC, server_id, client, kind, subject`).all(...w.params) as Array<Record<string, unknown>>;
  return rows.map((r) => ({
    id: r.id as number, serverId: r.server_id as string, client: r.client as string, kind: r.kind as AlertKind,
    subject: (r.subject as string) || null, windowSeconds: r.window_seconds as number, title: r.title as string, severity: r.severity as Severity,
    servers: JSON.parse(r.servers as string), threshold: r.threshold as number, value: r.value as number, detail: r.detail as string,
    example: r.example as string, count: r.count as number, firstSeen: r.first_seen as number, lastSeen: r.last_seen as number,
    runs: r.runs as number, firstRun: r.first_run as number, lastRun: r.last_run as number, runIds: runIdsOf(db, 'alert_runs', 'alert_id', r.id as number),
  }));
}

/** Distinct hits and alerts per server id (for the list columns). */
export function auditCounts(db: Database.Database): Map<string, { dlp: number; alerts: number }> {
  const out = new Map<string, { dlp: number; alerts: number }>();
  const at = (id: string) => { let c = out.get(id); if (!c) out.set(id, (c = { dlp: 0, alerts: 0 })); return c; };
  for (const r of db.prepare('SELECT server_id, count(*) AS n FROM dlp_hits GROUP BY server_id').all() as Array<{ server_id: string; n: number }>) at(r.server_id).dlp = r.n;
  for (const r of db.prepare('SELECT server_id, count(*) AS n FROM alerts GROUP BY server_id').all() as Array<{ server_id: string; n: number }>) at(r.server_id).alerts = r.n;
  return out;
}
