// The running inventory: every MCP server, domain and client ever seen, merged run by run.
// mergeFindings() runs inside the import's write transaction, so a run is merged whole or not at all.
import { resolve } from 'node:path';
import type Database from 'better-sqlite3';
import { LIMITS } from '../config/limits.js';
import { CONFIDENCE_RANK, SEVERITY_RANK, type Confidence, type Finding, type Severity, type Transport } from '../detect/finding.js';
import type { BehaviourAlert, DlpHit } from '../audit/types.js';
import { listAlerts, listDlp, mergeAudit, type AlertRow, type DlpRow } from './audit.js';

/** Most specific first (as the detector ranks transport hints). */
const TRANSPORT_RANK: Transport[] = ['websocket', 'legacy-sse', 'streamable-http', 'ndjson-tcp', 'http', 'tls', 'conn-only', 'dns-only'];

export type Status = 'shadow' | 'approved';
export type EntityKind = 'server' | 'domain' | 'client';

/** When, and in which inventory runs, an entry was seen (times in epoch seconds). */
export interface Sighting {
  firstSeen: number;
  lastSeen: number;
  runs: number;
  firstRun: number;
  lastRun: number;
}

export interface ServerRow extends Sighting {
  id: string;
  ip: string | null;
  port: number | null;
  names: string[];
  domain: string | null;
  transport: Transport;
  serverName: string | null;
  serverVersion: string | null;
  protocolVersion: string | null;
  status: Status;
  approvedBy: string | null;
  confidence: Confidence;
  score: number;
  severity: Severity;
  hits: number;
  clients: string[];
  methods: Record<string, number>;
  tools: Record<string, number>;
  paths: string[];
  signatures: string[];
  sources: string[];
  /** Distinct data-loss hits (detector, masked value, path, method) and behaviour alerts stored for this server. */
  dlp: number;
  alerts: number;
}

export interface DomainRow extends Sighting {
  name: string;
  status: Status;
  hits: number;
  servers: string[];
  clients: string[];
  sources: string[];
}

export interface ClientRow extends Sighting {
  ip: string;
  names: string[];
  status: Status;
  hits: number;
  servers: string[];
  sources: string[];
}

export interface RunRow {
  id: number;
  startedAt: number;
  finishedAt: number;
  toolVersion: string;
  host: string;
  pid: number;
  inputs: string[];
  files: number;
  bytes: number;
  lines: number;
  observations: number;
  findings: number;
  newFindings: number;
  newShadow: number;
  attempts: number;
  /** import (logs, by cursor) or scan (captures, by content hash). */
  kind: 'import' | 'scan';
  /** running (an import that has committed some files), complete, or interrupted (taken over by run `resumedBy`). */
  state: 'running' | 'complete' | 'interrupted';
  /** Transactions committed: one per log file of an import, and the last one. */
  commits: number;
  resumedBy: number | null;
}

export interface MergeResult {
  /** Findings whose server id was not in the inventory before this run. */
  newIds: Set<string>;
}

// ---------------------------------------------------------------- merge

const cap = LIMITS.storeMaxListItems;

function union(a: string[], b: Iterable<string>): string[] {
  const out = new Set(a);
  for (const x of b) if (out.size < cap || out.has(x)) out.add(x);
  return [...out].sort();
}

function addCounts(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) {
    if (k in out) out[k] += v;
    else if (Object.keys(out).length < LIMITS.detectMaxMethods) out[k] = v;
  }
  return Object.fromEntries(Object.entries(out).sort(([x], [y]) => x.localeCompare(y)));
}

/** Matched observations behind a finding (at least 1). */
export function findingHits(f: Finding): number {
  return Math.max(1, f.signals.reduce((t, s) => t + s.count, 0));
}

/** Input kinds and the files evidence came from (`log:/var/log/zeek/dns.log`). */
function findingSources(f: Finding): string[] {
  const out = new Set<string>();
  for (const s of f.signals) for (const e of s.evidence) out.add(`${e.source.kind}:${e.source.file === '-' ? '-' : resolve(e.source.file)}`);
  if (out.size === 0) for (const k of f.sources) out.add(k);
  return [...out];
}

const parse = <T>(s: string): T => JSON.parse(s) as T;

interface Agg {
  status: Status;
  firstSeen: number;
  lastSeen: number;
  hits: number;
  servers: Set<string>;
  clients: Set<string>;
  names: Set<string>;
  sources: Set<string>;
}

function aggregate(map: Map<string, Agg>, key: string, f: Finding, hits: number, sources: string[]): Agg {
  let a = map.get(key);
  if (!a) {
    a = { status: 'approved', firstSeen: f.firstSeen, lastSeen: f.lastSeen, hits: 0, servers: new Set(), clients: new Set(), names: new Set(), sources: new Set() };
    map.set(key, a);
  }
  if (!f.approved) a.status = 'shadow';
  a.firstSeen = Math.min(a.firstSeen, f.firstSeen);
  a.lastSeen = Math.max(a.lastSeen, f.lastSeen);
  a.hits += hits;
  a.servers.add(f.id);
  for (const s of sources) a.sources.add(s);
  return a;
}

/** What the report's audit section holds beyond the findings: alerts and hits on endpoints without a finding. */
export interface MergeAuditExtra {
  alerts?: BehaviourAlert[];
  unattachedDlp?: DlpHit[];
}

/**
 * Merge one run's findings, with the data-loss hits and behaviour alerts they carry (and `audit`'s
 * unattached ones); the caller holds the write transaction and has inserted run `runId`.
 */
export function mergeFindings(db: Database.Database, runId: number, findings: Finding[], audit?: MergeAuditExtra): MergeResult {
  const newIds = new Set<string>();
  const getServer = db.prepare('SELECT * FROM servers WHERE id = ?');
  const insertServer = db.prepare(`INSERT INTO servers (id, ip, port, names, domain, transport, server_name, server_version, protocol_version,
    status, approved_by, confidence, score, severity, first_seen, last_seen, hits, runs, first_run, last_run, clients, methods, tools, paths,
    signatures, sources) VALUES (@id, @ip, @port, @names, @domain, @transport, @server_name, @server_version, @protocol_version, @status,
    @approved_by, @confidence, @score, @severity, @first_seen, @last_seen, @hits, 1, @run, @run, @clients, @methods, @tools, @paths,
    @signatures, @sources)`);
  const updateServer = db.prepare(`UPDATE servers SET names = @names, domain = @domain, transport = @transport, server_name = @server_name,
    server_version = @server_version, protocol_version = @protocol_version, status = @status, approved_by = @approved_by,
    confidence = @confidence, score = @score, severity = @severity, first_seen = @first_seen, last_seen = @last_seen, hits = @hits,
    runs = runs + 1, last_run = @run, clients = @clients, methods = @methods, tools = @tools, paths = @paths, signatures = @signatures,
    sources = @sources WHERE id = @id`);
  const sighting = db.prepare(`INSERT INTO sightings (entity, key, run_id, hits) VALUES (?, ?, ?, ?)
    ON CONFLICT(entity, key, run_id) DO UPDATE SET hits = hits + excluded.hits`);

  const domains = new Map<string, Agg>();
  const clients = new Map<string, Agg>();
  for (const f of findings) {
    const hits = findingHits(f);
    const sources = findingSources(f);
    const old = getServer.get(f.id) as Record<string, unknown> | undefined;
    const clientIps = f.clients.map((c) => c.ip);
    const status: Status = f.approved ? 'approved' : 'shadow';
    if (!old) {
      newIds.add(f.id);
      insertServer.run({
        id: f.id, ip: f.subject.ip ?? null, port: f.subject.port ?? null, names: JSON.stringify(union([], f.subject.names)),
        domain: f.subject.domain ?? null, transport: f.transport, server_name: f.server.name ?? null, server_version: f.server.version ?? null,
        protocol_version: f.server.protocolVersion ?? null, status, approved_by: f.approvedBy ?? null, confidence: f.confidence,
        score: f.score, severity: f.severity, first_seen: f.firstSeen, last_seen: f.lastSeen, hits, run: runId,
        clients: JSON.stringify(union([], clientIps)), methods: JSON.stringify(addCounts({}, f.methods)), tools: JSON.stringify(addCounts({}, f.tools)),
        paths: JSON.stringify(union([], f.paths)), signatures: JSON.stringify(union([], f.signals.map((s) => s.signatureId))),
        sources: JSON.stringify(union([], sources)),
      });
    } else {
      const oldTransport = old.transport as Transport;
      const oldConf = old.confidence as Confidence;
      const oldSev = old.severity as Severity;
      updateServer.run({
        id: f.id, names: JSON.stringify(union(parse(old.names as string), f.subject.names)),
        domain: f.subject.domain ?? (old.domain as string | null),
        transport: TRANSPORT_RANK.indexOf(f.transport) < TRANSPORT_RANK.indexOf(oldTransport) ? f.transport : oldTransport,
        server_name: f.server.name ?? old.server_name, server_version: f.server.version ?? old.server_version,
        protocol_version: f.server.protocolVersion ?? old.protocol_version, status,
        approved_by: f.approved ? (f.approvedBy ?? null) : null,
        confidence: CONFIDENCE_RANK[f.confidence] > CONFIDENCE_RANK[oldConf] ? f.confidence : oldConf,
        score: Math.max(f.score, old.score as number),
        severity: SEVERITY_RANK[f.severity] > SEVERITY_RANK[oldSev] ? f.severity : oldSev,
        first_seen: Math.min(f.firstSeen, old.first_seen as number), last_seen: Math.max(f.lastSeen, old.last_seen as number),
        hits: (old.hits as number) + hits, run: runId,
        clients: JSON.stringify(union(parse(old.clients as string), clientIps)),
        methods: JSON.stringify(addCounts(parse(old.methods as string), f.methods)),
        tools: JSON.stringify(addCounts(parse(old.tools as string), f.tools)),
        paths: JSON.stringify(union(parse(old.paths as string), f.paths)),
        signatures: JSON.stringify(union(parse(old.signatures as string), f.signals.map((s) => s.signatureId))),
        sources: JSON.stringify(union(parse(old.sources as string), sources)),
      });
    }
    sighting.run('server', f.id, runId, hits);

    const names = new Set(f.subject.names);
    if (f.subject.domain) names.add(f.subject.domain);
    for (const n of names) {
      const a = aggregate(domains, n, f, hits, sources);
      for (const ip of clientIps) a.clients.add(ip);
    }
    for (const c of f.clients) {
      const a = aggregate(clients, c.ip, f, 1, sources);
      if (c.name) a.names.add(c.name);
    }
  }

  const getDomain = db.prepare('SELECT * FROM domains WHERE name = ?');
  const insertDomain = db.prepare(`INSERT INTO domains (name, status, first_seen, last_seen, hits, runs, first_run, last_run, servers, clients, sources)
    VALUES (@key, @status, @first_seen, @last_seen, @hits, 1, @run, @run, @servers, @clients, @sources)`);
  const updateDomain = db.prepare(`UPDATE domains SET status = @status, first_seen = @first_seen, last_seen = @last_seen, hits = @hits,
    runs = runs + 1, last_run = @run, servers = @servers, clients = @clients, sources = @sources WHERE name = @key`);
  for (const [key, a] of domains) {
    const old = getDomain.get(key) as Record<string, unknown> | undefined;
    const row = {
      key, status: a.status, run: runId,
      first_seen: old ? Math.min(a.firstSeen, old.first_seen as number) : a.firstSeen,
      last_seen: old ? Math.max(a.lastSeen, old.last_seen as number) : a.lastSeen,
      hits: (old ? (old.hits as number) : 0) + a.hits,
      servers: JSON.stringify(union(old ? parse(old.servers as string) : [], a.servers)),
      clients: JSON.stringify(union(old ? parse(old.clients as string) : [], a.clients)),
      sources: JSON.stringify(union(old ? parse(old.sources as string) : [], a.sources)),
    };
    (old ? updateDomain : insertDomain).run(row);
    sighting.run('domain', key, runId, a.hits);
  }

  const getClient = db.prepare('SELECT * FROM clients WHERE ip = ?');
  const insertClient = db.prepare(`INSERT INTO clients (ip, names, status, first_seen, last_seen, hits, runs, first_run, last_run, servers, sources)
    VALUES (@key, @names, @status, @first_seen, @last_seen, @hits, 1, @run, @run, @servers, @sources)`);
  const updateClient = db.prepare(`UPDATE clients SET names = @names, status = @status, first_seen = @first_seen, last_seen = @last_seen,
    hits = @hits, runs = runs + 1, last_run = @run, servers = @servers, sources = @sources WHERE ip = @key`);
  for (const [key, a] of clients) {
    const old = getClient.get(key) as Record<string, unknown> | undefined;
    const row = {
      key, run: runId,
      // A client that ever used a shadow server stays listed as shadow.
      status: old?.status === 'shadow' ? 'shadow' : a.status,
      names: JSON.stringify(union(old ? parse(old.names as string) : [], a.names)),
      first_seen: old ? Math.min(a.firstSeen, old.first_seen as number) : a.firstSeen,
      last_seen: old ? Math.max(a.lastSeen, old.last_seen as number) : a.lastSeen,
      hits: (old ? (old.hits as number) : 0) + a.hits,
      servers: JSON.stringify(union(old ? parse(old.servers as string) : [], a.servers)),
      sources: JSON.stringify(union(old ? parse(old.sources as string) : [], a.sources)),
    };
    (old ? updateClient : insertClient).run(row);
    sighting.run('client', key, runId, a.hits);
  }
  mergeAudit(db, runId, findings, audit);
  return { newIds };
}

// ---------------------------------------------------------------- queries

export interface ListFilter {
  /** Traffic last seen at or after this time (epoch seconds). */
  since?: number;
  status?: Status;
}

function where(filter: ListFilter): { sql: string; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  if (filter.since !== undefined) { parts.push('last_seen >= ?'); params.push(filter.since); }
  if (filter.status) { parts.push('status = ?'); params.push(filter.status); }
  return { sql: parts.length ? `WHERE ${parts.join(' AND ')}` : '', params };
}

function toServer(r: Record<string, unknown>): ServerRow {
  return {
    id: r.id as string, ip: r.ip as string | null, port: r.port as number | null, names: parse(r.names as string),
    domain: r.domain as string | null, transport: r.transport as Transport, serverName: r.server_name as string | null,
    serverVersion: r.server_version as string | null, protocolVersion: r.protocol_version as string | null, status: r.status as Status,
    approvedBy: r.approved_by as string | null, confidence: r.confidence as Confidence, score: r.score as number, severity: r.severity as Severity,
    firstSeen: r.first_seen as number, lastSeen: r.last_seen as number, hits: r.hits as number, runs: r.runs as number,
    firstRun: r.first_run as number, lastRun: r.last_run as number, clients: parse(r.clients as string), methods: parse(r.methods as string),
    tools: parse(r.tools as string), paths: parse(r.paths as string), signatures: parse(r.signatures as string), sources: parse(r.sources as string),
    dlp: (r.dlp_count as number | undefined) ?? 0, alerts: (r.alert_count as number | undefined) ?? 0,
  };
}

function toDomain(r: Record<string, unknown>): DomainRow {
  return {
    name: r.name as string, status: r.status as Status, firstSeen: r.first_seen as number, lastSeen: r.last_seen as number,
    hits: r.hits as number, runs: r.runs as number, firstRun: r.first_run as number, lastRun: r.last_run as number,
    servers: parse(r.servers as string), clients: parse(r.clients as string), sources: parse(r.sources as string),
  };
}

function toClient(r: Record<string, unknown>): ClientRow {
  return {
    ip: r.ip as string, names: parse(r.names as string), status: r.status as Status, firstSeen: r.first_seen as number,
    lastSeen: r.last_seen as number, hits: r.hits as number, runs: r.runs as number, firstRun: r.first_run as number,
    lastRun: r.last_run as number, servers: parse(r.servers as string), sources: parse(r.sources as string),
  };
}

function toRun(r: Record<string, unknown>): RunRow {
  return {
    id: r.id as number, startedAt: r.started_at as number, finishedAt: r.finished_at as number, toolVersion: r.tool_version as string,
    host: r.host as string, pid: r.pid as number, inputs: parse(r.inputs as string), files: r.files as number, bytes: r.bytes as number,
    lines: r.lines as number, observations: r.observations as number, findings: r.findings as number, newFindings: r.new_findings as number,
    newShadow: r.new_shadow as number, attempts: r.attempts as number, kind: (r.kind as 'import' | 'scan' | undefined) ?? 'import',
    state: r.state as RunRow['state'], commits: r.commits as number, resumedBy: r.resumed_by as number | null,
  };
}

/** Server columns plus the counts of its stored hits and alerts. */
const SERVER_SELECT = `SELECT s.*, (SELECT count(*) FROM dlp_hits WHERE server_id = s.id) AS dlp_count,
  (SELECT count(*) FROM alerts WHERE server_id = s.id) AS alert_count FROM servers s`;

export function listServers(db: Database.Database, filter: ListFilter = {}): ServerRow[] {
  const w = where(filter);
  return (db.prepare(`${SERVER_SELECT} ${w.sql} ORDER BY last_seen DESC, id`).all(...w.params) as Array<Record<string, unknown>>).map(toServer);
}

export function listDomains(db: Database.Database, filter: ListFilter = {}): DomainRow[] {
  const w = where(filter);
  return (db.prepare(`SELECT * FROM domains ${w.sql} ORDER BY last_seen DESC, name`).all(...w.params) as Array<Record<string, unknown>>).map(toDomain);
}

export function listClients(db: Database.Database, filter: ListFilter = {}): ClientRow[] {
  const w = where(filter);
  return (db.prepare(`SELECT * FROM clients ${w.sql} ORDER BY last_seen DESC, ip`).all(...w.params) as Array<Record<string, unknown>>).map(toClient);
}

export function listRuns(db: Database.Database): RunRow[] {
  return (db.prepare('SELECT * FROM runs ORDER BY id').all() as Array<Record<string, unknown>>).map(toRun);
}

export interface Shown {
  kind: EntityKind;
  row: ServerRow | DomainRow | ClientRow;
  runs: Array<{ run: number; hits: number }>;
  /** Server: its hits and alerts. Client: the hits seen from it and the alerts raised for it. Domain: none. */
  dlp: DlpRow[];
  alerts: AlertRow[];
}

/** Everything matching a key: a server id, ip or ip:port, a domain name, a client ip. */
export function showEntity(db: Database.Database, key: string): Shown[] {
  const out: Shown[] = [];
  const runs = (entity: EntityKind, k: string) =>
    (db.prepare('SELECT run_id AS run, hits FROM sightings WHERE entity = ? AND key = ? ORDER BY run_id').all(entity, k) as Array<{ run: number; hits: number }>);
  const k = key.toLowerCase();
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(key);
  const servers = (db.prepare(`${SERVER_SELECT} WHERE id = ? OR ip = ? OR (ip = ? AND port = ?) ORDER BY id`).all(
    key, key, m?.[1] ?? null, m ? Number(m[2]) : null,
  ) as Array<Record<string, unknown>>).map(toServer);
  const seen = new Set(servers.map((s) => s.id));
  for (const s of listServers(db)) if (!seen.has(s.id) && s.names.includes(k)) servers.push(s);
  for (const s of servers) {
    out.push({ kind: 'server', row: s, runs: runs('server', s.id), dlp: listDlp(db, { serverIds: [s.id] }), alerts: listAlerts(db, { serverIds: [s.id] }) });
  }
  const d = db.prepare('SELECT * FROM domains WHERE name = ?').get(k) as Record<string, unknown> | undefined;
  if (d) out.push({ kind: 'domain', row: toDomain(d), runs: runs('domain', k), dlp: [], alerts: [] });
  const c = db.prepare('SELECT * FROM clients WHERE ip = ?').get(key) as Record<string, unknown> | undefined;
  if (c) out.push({ kind: 'client', row: toClient(c), runs: runs('client', key), dlp: listDlp(db, { client: key }), alerts: listAlerts(db, { client: key }) });
  return out;
}
