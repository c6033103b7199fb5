// Behaviour alerts over time windows, fed finished audit records: one tool called in a burst, or far more often
// than that client usually calls it (a learned baseline), many distinct resources read (enumeration), very large
// results leaving a server, one client reaching many servers, and sessions to a server first seen today (against a
// baseline of servers seen before).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { Anomalies } from '../core/anomalies.js';
import { limits as makeLimits, type Limits } from '../config/limits.js';
import type { AlertKind, AlertsConfig, AuditRecord, BehaviourAlert } from './types.js';
import { hostPort } from './trail.js';

export const ALERT_DEFAULTS = {
  toolCallBurst: { windowSeconds: 60, maxCalls: 30 },
  toolCallUnusual: { windowSeconds: 60, factor: 5, minWindows: 5, minCalls: 10 },
  resourceEnumeration: { windowSeconds: 60, maxDistinct: 20 },
  largeResult: { maxBytes: 256 * 1024 },
  manyServers: { windowSeconds: 3600, maxDistinct: 5 },
} as const;

const EVIDENCE_MAX = 5;
const SERVERS_MAX = 32;

/** Servers seen before this run, with when they were first seen (epoch seconds). */
export interface KnownServers {
  firstSeen(server: string): number | undefined;
  see(server: string, ts: number): void;
}

/** A JSON baseline file `{ "servers": { "ip:port": firstSeenEpochSeconds } }`, for `alerts.newServer.baseline`. */
export class BaselineFile implements KnownServers {
  private readonly servers: Record<string, number>;
  private dirty = false;

  constructor(readonly path: string) {
    this.servers = {};
    if (existsSync(path)) {
      const data = JSON.parse(readFileSync(path, 'utf8')) as { servers?: Record<string, unknown> };
      for (const [k, v] of Object.entries(data.servers ?? {})) if (typeof v === 'number' && Number.isFinite(v)) this.servers[k] = v;
    }
  }

  firstSeen(server: string): number | undefined {
    return this.servers[server];
  }

  see(server: string, ts: number): void {
    const old = this.servers[server];
    if (old === undefined || ts < old) {
      this.servers[server] = ts;
      this.dirty = true;
    }
  }

  save(): void {
    if (!this.dirty) return;
    const sorted = Object.fromEntries(Object.entries(this.servers).sort(([a], [b]) => a.localeCompare(b)));
    writeFileSync(this.path, `${JSON.stringify({ servers: sorted }, null, 2)}\n`);
    this.dirty = false;
  }
}

/** One (client, server, tool) whose calls per window are learned, and the window length they are counted in. */
export interface CallKey {
  client: string;
  server: string;
  tool: string;
  windowSeconds: number;
}

/** Busy windows of a key, oldest first: [window start (epoch seconds, a multiple of windowSeconds), calls]. */
export type CallWindows = Array<[number, number]>;

/** What earlier runs learned of each key's calls per window (with --db: the inventory, store/audit.ts). */
export interface CallHistory {
  /** The key's windows as stored (CallWindows when well formed; the monitor checks each and counts the rest). */
  windows(key: CallKey): unknown[] | undefined;
  /** End of the run: every key this run counted, with its windows as they now stand. */
  learn(key: CallKey, windows: CallWindows): void;
}

/** A key's busy windows (parallel arrays, oldest first) and its open tool_call_unusual alert. */
class CallCounts {
  readonly starts: number[] = [];
  readonly counts: number[] = [];
  alert?: BehaviourAlert;

  constructor(readonly key: CallKey) {}

  /** Count one call in the window starting at `start`; keeps the newest `keep` windows. Returns how many
   * remembered windows are earlier than this one (-1: a late call whose window already rolled off). */
  add(start: number, keep: number): number {
    let i = this.starts.length;
    while (i > 0 && this.starts[i - 1] > start) i--;
    if (i > 0 && this.starts[i - 1] === start) {
      this.counts[i - 1]++;
      return i - 1;
    }
    this.starts.splice(i, 0, start);
    this.counts.splice(i, 0, 1);
    if (this.starts.length > keep) {
      this.starts.shift();
      this.counts.shift();
      i--;
    }
    return i;
  }
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Timestamps (and a label each) inside a sliding window, with a count per distinct label. */
class Window {
  private ts: number[] = [];
  private labels: string[] = [];
  private head = 0;
  readonly distinct = new Map<string, number>();
  alert?: BehaviourAlert;
  lastUsed = 0;

  add(t: number, label: string, span: number): void {
    // Records finish roughly in time order; insert from the end to keep the window sorted.
    let i = this.ts.length;
    while (i > this.head && this.ts[i - 1] > t) i--;
    this.ts.splice(i, 0, t);
    this.labels.splice(i, 0, label);
    this.distinct.set(label, (this.distinct.get(label) ?? 0) + 1);
    const latest = this.ts[this.ts.length - 1];
    while (this.head < this.ts.length && this.ts[this.head] < latest - span) {
      const l = this.labels[this.head++];
      const n = this.distinct.get(l)! - 1;
      if (n === 0) this.distinct.delete(l);
      else this.distinct.set(l, n);
    }
    if (this.head > 1024 && this.head * 2 > this.ts.length) {
      this.ts = this.ts.slice(this.head);
      this.labels = this.labels.slice(this.head);
      this.head = 0;
    }
  }

  get size(): number {
    return this.ts.length - this.head;
  }
}

export interface BehaviourOptions {
  known?: KnownServers;
  history?: CallHistory;
  anomalies?: Anomalies;
  limits?: Partial<Limits>;
}

const dayStart = (ts: number): number => Math.floor(ts / 86_400) * 86_400;

export class BehaviourMonitor {
  private readonly cfg: {
    toolCallBurst: { windowSeconds: number; maxCalls: number };
    toolCallUnusual: { windowSeconds: number; factor: number; minWindows: number; minCalls: number };
    resourceEnumeration: { windowSeconds: number; maxDistinct: number };
    largeResult: { maxBytes: number };
    manyServers: { windowSeconds: number; maxDistinct: number };
  };
  private readonly enabled: boolean;
  private readonly limits: Limits;
  /** Busy windows remembered per learned key. */
  private readonly keep: number;
  private readonly anomalies: Anomalies;
  private readonly windows = new Map<string, Window>();
  /** Least recently used first. */
  private readonly calls = new Map<string, CallCounts>();
  private readonly large = new Map<string, BehaviourAlert>();
  private readonly checkedNew = new Set<string>();
  private readonly list: BehaviourAlert[] = [];

  constructor(config: AlertsConfig = {}, private readonly options: BehaviourOptions = {}) {
    this.enabled = config.enabled !== false;
    this.cfg = {
      toolCallBurst: { ...ALERT_DEFAULTS.toolCallBurst, ...config.toolCallBurst },
      toolCallUnusual: { ...ALERT_DEFAULTS.toolCallUnusual, ...config.toolCallUnusual },
      resourceEnumeration: { ...ALERT_DEFAULTS.resourceEnumeration, ...config.resourceEnumeration },
      largeResult: { ...ALERT_DEFAULTS.largeResult, ...config.largeResult },
      manyServers: { ...ALERT_DEFAULTS.manyServers, ...config.manyServers },
    };
    this.limits = makeLimits(options.limits);
    this.keep = Math.max(this.limits.auditBaselineWindows, this.cfg.toolCallUnusual.minWindows + 1);
    this.anomalies = options.anomalies ?? new Anomalies();
  }

  /** Alerts raised so far, in the order they were first raised. */
  alerts(): BehaviourAlert[] {
    return this.list;
  }

  /** End of input: hand the windows learned to the history (the inventory saves them with the run). */
  finish(): void {
    const h = this.options.history;
    if (h) for (const k of this.calls.values()) h.learn(k.key, k.starts.map((s, i) => [s, k.counts[i]]));
  }

  add(r: AuditRecord): void {
    if (!this.enabled || r.type !== 'request' || r.from !== 'client') return;
    const server = hostPort(r.server);
    const client = r.client.ip;
    const ev = { file: r.file, frame: r.frame, ts: r.ts };

    if (r.method === 'tools/call' && r.target !== undefined) {
      const c = this.cfg.toolCallBurst;
      const w = this.window(`tool|${client}|${server}|${r.target}`, r.ts);
      w.add(r.ts, r.target, c.windowSeconds);
      if (w.size > c.maxCalls) {
        this.raise(w, 'tool_call_burst', ev, w.size, c.maxCalls, c.windowSeconds, client, [server], r.target,
          (v) => `${client} called tool "${r.target}" on ${server} ${v} times within ${c.windowSeconds}s (threshold ${c.maxCalls})`);
      }
      this.unusual(client, server, r.target, ev);
    }
    if (r.method === 'resources/read' && r.target !== undefined) {
      const c = this.cfg.resourceEnumeration;
      const w = this.window(`res|${client}|${server}`, r.ts);
      w.add(r.ts, r.target, c.windowSeconds);
      if (w.distinct.size > c.maxDistinct) {
        const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(r.target)?.[0];
        this.raise(w, 'resource_enumeration', ev, w.distinct.size, c.maxDistinct, c.windowSeconds, client, [server], scheme,
          (v) => `${client} read ${v} distinct resources on ${server} within ${c.windowSeconds}s (threshold ${c.maxDistinct})`);
      }
    }
    if (r.resultBytes !== undefined && r.resultBytes > this.cfg.largeResult.maxBytes) {
      const max = this.cfg.largeResult.maxBytes;
      const key = `${client}|${server}|${r.method}|${r.target ?? ''}`;
      const what = r.target ? `${r.method} ${r.target}` : r.method;
      const a = this.large.get(key);
      if (a) {
        a.value = Math.max(a.value, r.resultBytes);
        a.lastTs = Math.max(a.lastTs, r.ts);
        if (a.evidence.length < EVIDENCE_MAX) a.evidence.push(ev);
        a.detail = `${server} returned up to ${a.value} bytes to ${client} for ${what} (threshold ${max})`;
      } else {
        const alert = this.make('large_result', ev, r.resultBytes, max, 0, client, [server], r.target);
        alert.detail = `${server} returned ${r.resultBytes} bytes to ${client} for ${what} (threshold ${max})`;
        if (this.push(alert)) this.large.set(key, alert);
      }
    }
    {
      const c = this.cfg.manyServers;
      const w = this.window(`srv|${client}`, r.ts);
      w.add(r.ts, server, c.windowSeconds);
      if (w.distinct.size > c.maxDistinct) {
        const servers = [...w.distinct.keys()].sort().slice(0, SERVERS_MAX);
        this.raise(w, 'many_servers', ev, w.distinct.size, c.maxDistinct, c.windowSeconds, client, servers, undefined,
          (v) => `${client} sent MCP requests to ${v} distinct servers within ${c.windowSeconds}s (threshold ${c.maxDistinct})`);
        if (w.alert) {
          for (const s of servers) if (!w.alert.servers.includes(s) && w.alert.servers.length < SERVERS_MAX) w.alert.servers.push(s);
          w.alert.servers.sort();
        }
      }
    }
    const known = this.options.known;
    if (known && !this.checkedNew.has(server)) {
      this.checkedNew.add(server);
      const first = known.firstSeen(server);
      if (first === undefined || first >= dayStart(r.ts)) {
        const a = this.make('new_server', ev, 1, 0, 0, client, [server], r.server.name);
        a.detail = first === undefined
          ? `first session ever seen to ${server} (${r.method} from ${client})`
          : `${server} was first seen today; session from ${client}`;
        this.push(a);
      }
      known.see(server, r.ts);
    }
  }

  /** A window's calls against the client's own usual count for this tool: the median of its earlier busy windows. */
  private unusual(client: string, server: string, target: string, ev: { file?: string; frame: number; ts: number }): void {
    const c = this.cfg.toolCallUnusual;
    const max = this.limits.auditBaselineToolChars;
    const tool = target.length > max ? `${target.slice(0, max)}…(${target.length})` : target;
    const calls = this.callCounts({ client, server, tool, windowSeconds: c.windowSeconds }, ev);
    const earlier = calls.add(Math.floor(ev.ts / c.windowSeconds) * c.windowSeconds, this.keep);
    if (earlier < c.minWindows || calls.counts[earlier] < c.minCalls) return;
    const usual = median(calls.counts.slice(0, earlier));
    const threshold = Math.max(c.minCalls, Math.ceil(c.factor * usual));
    if (calls.counts[earlier] < threshold) return;
    this.raise(calls, 'tool_call_unusual', ev, calls.counts[earlier], threshold, c.windowSeconds, client, [server], tool,
      (v) => `${client} called tool "${tool}" on ${server} up to ${v} times in one ${c.windowSeconds}s window; it usually calls it ${usual} ` +
        `times (median of its ${earlier} earlier busy windows; threshold ${threshold})`);
  }

  private callCounts(key: CallKey, ev: { file?: string; frame: number }): CallCounts {
    const id = `${key.client}|${key.server}|${key.tool}`;
    let k = this.calls.get(id);
    if (k) {
      this.calls.delete(id); // re-inserted below: the map stays in least-recently-used order
    } else {
      if (this.calls.size >= this.limits.auditBaselineKeys) {
        this.calls.delete(this.calls.keys().next().value as string);
        this.anomalies.add('audit.baseline_keys_cap_hit', { file: ev.file, frame: ev.frame });
      }
      k = new CallCounts(key);
      // Only well-formed windows in time order (the newest `keep`): the history is a database file, not this run's memory.
      for (const w of (this.options.history?.windows(key) ?? []).slice(-this.keep)) {
        const [start, n] = Array.isArray(w) && w.length === 2 ? (w as unknown[]) : [];
        if (typeof start !== 'number' || typeof n !== 'number' || !Number.isFinite(start) || !Number.isInteger(n) || n < 1 ||
          start <= (k.starts.at(-1) ?? -Infinity)) {
          this.anomalies.add('audit.baseline_bad_window', { detail: `${key.client} ${key.server} ${key.tool}: ${String(JSON.stringify(w)).slice(0, 80)}` });
          continue;
        }
        k.starts.push(start);
        k.counts.push(n);
      }
    }
    this.calls.set(id, k);
    return k;
  }

  private window(key: string, ts: number): Window {
    let w = this.windows.get(key);
    if (!w) {
      if (this.windows.size >= this.limits.auditMaxWindows) {
        this.windows.delete(this.windows.keys().next().value as string);
        this.anomalies.add('audit.windows_cap_hit');
      }
      w = new Window();
      this.windows.set(key, w);
    }
    w.lastUsed = ts;
    return w;
  }

  /** One alert per episode: while the count stays over the threshold (or comes back within a window) it grows. */
  private raise(w: { alert?: BehaviourAlert }, kind: AlertKind, ev: { file?: string; frame: number; ts: number }, value: number,
    threshold: number, windowSeconds: number, client: string, servers: string[], subject: string | undefined, detail: (v: number) => string): void {
    const open = w.alert && ev.ts - w.alert.lastTs <= windowSeconds ? w.alert : undefined;
    if (open) {
      open.value = Math.max(open.value, value);
      open.lastTs = Math.max(open.lastTs, ev.ts);
      if (open.evidence.length < EVIDENCE_MAX) open.evidence.push(ev);
      open.detail = detail(open.value);
      return;
    }
    const a = this.make(kind, ev, value, threshold, windowSeconds, client, servers, subject);
    a.detail = detail(value);
    if (this.push(a)) w.alert = a;
  }

  private make(kind: AlertKind, ev: { file?: string; frame: number; ts: number }, value: number, threshold: number,
    windowSeconds: number, client: string, servers: string[], subject: string | undefined): BehaviourAlert {
    return {
      kind,
      title: TITLES[kind],
      severity: kind === 'large_result' || kind === 'resource_enumeration' ? 'high' : 'medium',
      client,
      servers: [...servers],
      subject,
      value,
      threshold,
      windowSeconds,
      firstTs: ev.ts,
      lastTs: ev.ts,
      detail: '',
      evidence: [ev],
    };
  }

  private push(a: BehaviourAlert): boolean {
    if (this.list.length >= this.limits.auditMaxAlerts) {
      this.anomalies.add('audit.alerts_cap_hit');
      return false;
    }
    this.list.push(a);
    return true;
  }
}

const TITLES: Record<AlertKind, string> = {
  tool_call_burst: 'Tool called in a burst',
  tool_call_unusual: 'Tool called far more often than this client usually does',
  resource_enumeration: 'Resource enumeration',
  large_result: 'Very large result leaving a server',
  many_servers: 'One client contacted many MCP servers',
  new_server: 'Session to a server first seen today',
};
