// Behaviour alerts over time windows, fed finished audit records: one tool called in a burst, many distinct
// resources read (enumeration), very large results leaving a server, one client reaching many servers, and
// sessions to a server first seen today (against a baseline of servers seen before).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { Anomalies } from '../core/anomalies.js';
import { limits as makeLimits, type Limits } from '../config/limits.js';
import type { AlertKind, AlertsConfig, AuditRecord, BehaviourAlert } from './types.js';
import { hostPort } from './trail.js';

export const ALERT_DEFAULTS = {
  toolCallBurst: { windowSeconds: 60, maxCalls: 30 },
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
  anomalies?: Anomalies;
  limits?: Partial<Limits>;
}

const dayStart = (ts: number): number => Math.floor(ts / 86_400) * 86_400;

export class BehaviourMonitor {
  private readonly cfg: {
    toolCallBurst: { windowSeconds: number; maxCalls: number };
    resourceEnumeration: { windowSeconds: number; maxDistinct: number };
    largeResult: { maxBytes: number };
    manyServers: { windowSeconds: number; maxDistinct: number };
  };
  private readonly enabled: boolean;
  private readonly limits: Limits;
  private readonly anomalies: Anomalies;
  private readonly windows = new Map<string, Window>();
  private readonly large = new Map<string, BehaviourAlert>();
  private readonly checkedNew = new Set<string>();
  private readonly list: BehaviourAlert[] = [];

  constructor(config: AlertsConfig = {}, private readonly options: BehaviourOptions = {}) {
    this.enabled = config.enabled !== false;
    this.cfg = {
      toolCallBurst: { ...ALERT_DEFAULTS.toolCallBurst, ...config.toolCallBurst },
      resourceEnumeration: { ...ALERT_DEFAULTS.resourceEnumeration, ...config.resourceEnumeration },
      largeResult: { ...ALERT_DEFAULTS.largeResult, ...config.largeResult },
      manyServers: { ...ALERT_DEFAULTS.manyServers, ...config.manyServers },
    };
    this.limits = makeLimits(options.limits);
    this.anomalies = options.anomalies ?? new Anomalies();
  }

  /** Alerts raised so far, in the order they were first raised. */
  alerts(): BehaviourAlert[] {
    return this.list;
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
  private raise(w: Window, kind: AlertKind, ev: { file?: string; frame: number; ts: number }, value: number, threshold: number,
    windowSeconds: number, client: string, servers: string[], subject: string | undefined, detail: (v: number) => string): void {
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
  resource_enumeration: 'Resource enumeration',
  large_result: 'Very large result leaving a server',
  many_servers: 'One client contacted many MCP servers',
  new_server: 'Session to a server first seen today',
};
