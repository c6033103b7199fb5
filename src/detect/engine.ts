// The detector: observations in, findings out. add() is the hot path: one index lookup per observation,
// state only for subjects something matched on. findings() correlates per MCP server endpoint (or name),
// folds DNS sightings into the endpoints their answers point at, scores and applies the approved registry.
import { createHash } from 'node:crypto';
import { limits as makeLimits, type Limits } from '../config/limits.js';
import type { Anomalies } from '../core/anomalies.js';
import type { ApprovedRegistry } from './approved.js';
import { isApproved } from './approved.js';
import { BoundedMap } from './bounded-map.js';
import { getField } from './fields.js';
import { CONFIDENCE_RANK, SEVERITY_RANK, type Confidence, type Evidence, type Finding, type FindingClient, type Severity, type Signal, type Transport } from './finding.js';
import type { Observation, ObservationKind } from './observation.js';
import { SignatureIndex } from './signatures/match.js';
import type { CompiledSignature, SignatureSet } from './signatures/types.js';

export interface DetectorOptions {
  approved?: ApprovedRegistry;
  /** Where cap hits are counted (`detect.subjects_cap_hit`, `detect.method_cap_hit`). */
  anomalies?: Anomalies;
  /** Overrides of the detect* caps in config/limits.ts. */
  limits?: Partial<Limits>;
}

interface SignalState {
  sig: CompiledSignature;
  count: number;
  evidence: Evidence[];
}

interface Subject {
  key: string;
  ip?: string;
  port?: number;
  names: Set<string>;
  domain?: string;
  /** The signature-list entry domain matched under (see Finding.subject.listEntry). */
  listEntry?: string;
  signals: Map<string, SignalState>;
  hints: Set<Transport>;
  kinds: Set<ObservationKind>;
  clients: Map<string, FindingClient>;
  server: { name?: string; version?: string; protocolVersion?: string };
  paths: Set<string>;
  methods: Map<string, number>;
  tools: Map<string, number>;
  firstSeen: number;
  lastSeen: number;
  sources: Set<'pcap' | 'log'>;
  /** DNS subjects: addresses the name resolved to. */
  addresses?: Set<string>;
}

interface FlowContext {
  host?: string;
  sni?: string;
  ua?: string;
}

/** When a subject has several transport hints, the most specific wins. */
const TRANSPORT_ORDER: Transport[] = ['websocket', 'legacy-sse', 'streamable-http', 'ndjson-tcp', 'http', 'tls', 'conn-only', 'dns-only'];
const CARRIER_TRANSPORT: Record<string, Transport> = {
  ws: 'websocket',
  ndjson: 'ndjson-tcp',
  'http-request': 'streamable-http',
  'http-response': 'streamable-http',
  sse: 'streamable-http',
};
const META = 'io.modelcontextprotocol/';

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function obj(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/** Add to a capped set; what does not fit is counted under `anomaly` when a counter is given (never silent). */
function addCapped<T>(set: Set<T>, v: T, cap: number, anomalies?: Anomalies, anomaly = 'detect.list_cap_hit'): void {
  if (set.size < cap || set.has(v)) set.add(v);
  else anomalies?.add(anomaly);
}

function bump(map: Map<string, number>, k: string, cap: number, anomalies: Anomalies | undefined): void {
  const n = map.get(k);
  if (n !== undefined) map.set(k, n + 1);
  else if (map.size < cap) map.set(k, 1);
  else anomalies?.add('detect.method_cap_hit');
}

function shortValue(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** Short, stable id of a subject key. */
export function findingId(subjectKey: string): string {
  return createHash('sha256').update(subjectKey).digest('hex').slice(0, 12);
}

export class Detector {
  private readonly index: SignatureIndex;
  private readonly subjects = new Map<string, Subject>();
  private readonly flowCtx: BoundedMap<number, FlowContext>;
  /** Flow ids restart in every capture file: the contexts belong to this one. */
  private flowCtxFile?: string;
  /** DNS answer address → names that resolved to it (any name, matched or not). */
  private readonly dnsNames: BoundedMap<string, Set<string>>;
  private readonly limits: Limits;
  /** Addresses of DNS subjects that matched: contacting them makes an endpoint subject to fold into. */
  private readonly flaggedAddresses = new Set<string>();
  private readonly matched: CompiledSignature[] = [];
  private readonly collect = (sig: CompiledSignature): void => {
    this.matched.push(sig);
  };
  /** Server addresses that have a subject, and whether any subject is keyed by name: the fast no-match exit. */
  private readonly subjectIps = new Set<string>();
  private hasNameSubjects = false;
  private readonly approved?: ApprovedRegistry;
  private readonly anomalies?: Anomalies;

  constructor(readonly set: SignatureSet, options: DetectorOptions = {}) {
    this.index = new SignatureIndex(set);
    this.limits = makeLimits(options.limits);
    this.flowCtx = new BoundedMap(this.limits.detectMaxFlowContexts);
    this.dnsNames = new BoundedMap(this.limits.detectMaxDnsAddresses);
    this.approved = options.approved;
    this.anomalies = options.anomalies;
  }

  add(obs: Observation): void {
    const f = obs.fields;
    if (obs.kind === 'dns') this.learnDns(f);
    const ctx = obs.flowId !== undefined ? this.learnFlow(obs) : undefined;

    const matched = this.matched;
    matched.length = 0;
    this.index.match(obs.kind, f, this.collect);

    if (matched.length === 0) {
      // Most observations: nothing matched and their server has no subject. Leave before building a key.
      const ip = obs.kind === 'dns' ? undefined : (obs.server?.ip ?? str(f['conn.dst_ip']));
      if (ip === undefined ? !this.hasNameSubjects : !this.subjectIps.has(ip) && !this.flaggedAddresses.has(ip)) return;
    }
    const key = this.subjectKey(obs);
    if (key === undefined) return;
    let subject = this.subjects.get(key);
    if (matched.length === 0) {
      if (!subject) {
        // Contact with an address a flagged DNS name resolved to: track it so the name folds in.
        const ip = obs.server?.ip ?? str(f['conn.dst_ip']);
        if (obs.kind === 'dns' || ip === undefined || !this.flaggedAddresses.has(ip)) return;
        subject = this.createSubject(key, obs);
        if (!subject) return;
      }
      this.update(subject, obs, ctx, false);
      return;
    }
    subject ??= this.createSubject(key, obs);
    if (!subject) return;
    for (const sig of matched) this.recordSignal(subject, sig, obs);
    this.update(subject, obs, ctx, true);
    matched.length = 0;
  }

  private learnDns(f: Record<string, unknown>): void {
    const name = str(f['dns.query.name']);
    const addrs = f['dns.answer.address'];
    if (!name || !Array.isArray(addrs)) return;
    for (const a of addrs) {
      if (typeof a !== 'string') continue;
      let names = this.dnsNames.get(a);
      if (!names) {
        names = new Set();
        this.dnsNames.set(a, names);
      }
      addCapped(names, name, this.limits.detectMaxNames, this.anomalies, 'detect.names_cap_hit');
    }
  }

  private learnFlow(obs: Observation): FlowContext | undefined {
    const f = obs.fields;
    const host = obs.kind === 'http.request' ? str(f['http.request.host']) : undefined;
    const sni = obs.kind === 'tls.client_hello' ? str(f['tls.sni']) : undefined;
    const ua = obs.kind === 'http.request' ? str(f['http.request.user_agent']) : undefined;
    const id = obs.flowId!;
    if (obs.source.file !== this.flowCtxFile) {
      this.flowCtx.clear();
      this.flowCtxFile = obs.source.file;
    }
    let ctx = this.flowCtx.get(id);
    if (host === undefined && sni === undefined && ua === undefined) return ctx;
    if (!ctx) {
      ctx = {};
      this.flowCtx.set(id, ctx);
    }
    if (host !== undefined) ctx.host = host;
    if (sni !== undefined) ctx.sni = sni;
    if (ua !== undefined) ctx.ua = ua;
    return ctx;
  }

  private subjectKey(obs: Observation): string | undefined {
    const f = obs.fields;
    if (obs.kind === 'dns') {
      const name = str(f['dns.query.name']);
      return name === undefined ? undefined : `name:${name}`;
    }
    const ip = obs.server?.ip ?? str(f['conn.dst_ip']);
    const port = obs.server?.port ?? (typeof f['conn.dst_port'] === 'number' ? (f['conn.dst_port'] as number) : undefined);
    if (ip !== undefined && port !== undefined) return `ep:${ip}|${port}`;
    const name = str(f['http.request.host']) ?? str(f['tls.sni']);
    return name === undefined ? undefined : `name:${name}`;
  }

  private createSubject(key: string, obs: Observation): Subject | undefined {
    if (this.subjects.size >= this.limits.detectMaxSubjects) {
      this.anomalies?.add('detect.subjects_cap_hit', { file: obs.source.file, frame: obs.source.frame, line: obs.source.line });
      return undefined;
    }
    const s: Subject = {
      key,
      names: new Set(),
      signals: new Map(),
      hints: new Set(),
      kinds: new Set(),
      clients: new Map(),
      server: {},
      paths: new Set(),
      methods: new Map(),
      tools: new Map(),
      firstSeen: obs.ts,
      lastSeen: obs.ts,
      sources: new Set(),
    };
    if (key.startsWith('ep:')) {
      const bar = key.lastIndexOf('|');
      s.ip = key.slice(3, bar);
      s.port = Number(key.slice(bar + 1));
      this.subjectIps.add(s.ip);
    } else {
      s.names.add(key.slice(5));
      this.hasNameSubjects = true;
    }
    this.subjects.set(key, s);
    return s;
  }

  private recordSignal(s: Subject, sig: CompiledSignature, obs: Observation): void {
    let st = s.signals.get(sig.id);
    if (!st) {
      st = { sig, count: 0, evidence: [] };
      s.signals.set(sig.id, st);
    }
    st.count++;
    if (st.evidence.length < this.limits.detectEvidencePerSignal) {
      const parts: string[] = [];
      for (const name of sig.fields) {
        const v = getField(obs.fields, name);
        if (v === undefined || v === null) continue;
        parts.push(`${name}=${shortValue(v)}`);
        if (parts.length === 2) break;
      }
      st.evidence.push({ source: obs.source, ts: obs.ts, detail: parts.join(' ') });
    }
    if (sig.spec.transport) s.hints.add(sig.spec.transport);
    if (obs.kind === 'jsonrpc') {
      const t = CARRIER_TRANSPORT[String(obs.fields['jsonrpc.transport'])];
      if (t) s.hints.add(t);
    }
    if (sig.spec.tags.includes('registry') || sig.spec.tags.includes('hosted')) {
      const name = str(obs.fields['dns.query.name']) ?? str(obs.fields['tls.sni']) ?? str(obs.fields['http.request.host']);
      if (name !== undefined && s.domain === undefined) {
        s.domain = name;
        s.listEntry = sig.listEntry(name);
      }
    }
    if (obs.kind === 'dns') {
      const addrs = obs.fields['dns.answer.address'];
      if (Array.isArray(addrs)) {
        s.addresses ??= new Set();
        for (const a of addrs) {
          if (typeof a !== 'string') continue;
          addCapped(s.addresses, a, this.limits.detectMaxNames, this.anomalies, 'detect.addresses_cap_hit');
          this.flaggedAddresses.add(a);
        }
      }
    }
  }

  private update(s: Subject, obs: Observation, ctx: FlowContext | undefined, matched: boolean): void {
    const f = obs.fields;
    if (obs.ts < s.firstSeen) s.firstSeen = obs.ts;
    if (obs.ts > s.lastSeen) s.lastSeen = obs.ts;
    s.sources.add(obs.source.kind);
    s.kinds.add(obs.kind);
    const cap = this.limits.detectMaxNames;
    if (s.ip !== undefined) {
      const host = str(f['http.request.host']) ?? ctx?.host;
      const sni = str(f['tls.sni']) ?? ctx?.sni;
      if (host !== undefined && host !== s.ip) addCapped(s.names, host, cap, this.anomalies, 'detect.names_cap_hit');
      if (sni !== undefined) addCapped(s.names, sni, cap, this.anomalies, 'detect.names_cap_hit');
    }

    // Client: the querying host for DNS, the flow's client otherwise.
    const clientIp = obs.client?.ip ?? str(f['conn.src_ip']);
    let info: Record<string, unknown> | undefined;
    if (obs.kind === 'jsonrpc') {
      const params = obj(f['jsonrpc.params']);
      info = obj(params?.clientInfo) ?? obj(obj(params?._meta)?.[`${META}clientInfo`]);
    }
    if (clientIp !== undefined) {
      this.noteClient(s, clientIp, str(info?.name), str(info?.version), str(f['http.request.user_agent']) ?? ctx?.ua);
    }

    if (obs.kind === 'jsonrpc') this.noteJsonRpc(s, f);
    const path = str(f['http.request.path']);
    // OAuth discovery paths are evidence, not the endpoint MCP is served on.
    if (path !== undefined && (matched || obs.kind === 'jsonrpc') && !path.startsWith('/.well-known/')) addCapped(s.paths, path, cap, this.anomalies, 'detect.paths_cap_hit');
    const pv = str(f['http.request.header.mcp-protocol-version']);
    if (pv !== undefined && s.server.protocolVersion === undefined) s.server.protocolVersion = pv;
  }

  private noteClient(s: Subject, ip: string, name?: string, version?: string, ua?: string): void {
    let key = ip;
    let c = s.clients.get(key);
    if (c && name !== undefined && c.name !== undefined && c.name !== name) {
      key = `${ip}|${name}`;
      c = s.clients.get(key);
    }
    if (!c) {
      if (s.clients.size >= this.limits.detectMaxClients) return;
      c = { ip };
      s.clients.set(key, c);
    }
    if (name !== undefined && c.name === undefined) c.name = name;
    if (version !== undefined && c.version === undefined) c.version = version;
    if (ua !== undefined && c.userAgent === undefined) c.userAgent = ua;
  }

  private noteJsonRpc(s: Subject, f: Record<string, unknown>): void {
    const method = str(f['jsonrpc.method']);
    const params = obj(f['jsonrpc.params']);
    if (method !== undefined) {
      bump(s.methods, method, this.limits.detectMaxMethods, this.anomalies);
      if (method === 'tools/call') {
        const tool = str(params?.name);
        if (tool !== undefined) bump(s.tools, tool, this.limits.detectMaxMethods, this.anomalies);
      }
      const pv = str(params?.protocolVersion) ?? str(obj(params?._meta)?.[`${META}protocolVersion`]);
      if (pv !== undefined && s.server.protocolVersion === undefined) s.server.protocolVersion = pv;
    }
    const result = obj(f['jsonrpc.result']);
    if (result) {
      const si = obj(result.serverInfo) ?? obj(obj(result._meta)?.[`${META}serverInfo`]);
      if (si) {
        s.server.name ??= str(si.name);
        s.server.version ??= str(si.version);
      }
      // The server's answer is the negotiated version; it overrides what the client offered.
      const pv = str(result.protocolVersion);
      if (pv !== undefined && si) s.server.protocolVersion = pv;
    }
  }

  /** Correlated findings, sorted by score (highest first), then subject. Does not change detector state. */
  findings(): Finding[] {
    const byIp = new Map<string, Subject[]>();
    const byName = new Map<string, Subject[]>();
    const index = (map: Map<string, Subject[]>, k: string, s: Subject): void => {
      const list = map.get(k) ?? [];
      if (!list.includes(s)) list.push(s);
      map.set(k, list);
    };
    for (const s of this.subjects.values()) {
      if (s.ip === undefined) continue;
      index(byIp, s.ip, s);
      for (const n of s.names) index(byName, n, s);
    }
    const merged = new Map<string, Aggregate>();
    for (const s of this.subjects.values()) if (s.ip !== undefined) merged.set(s.key, new Aggregate(s, this.limits));
    for (const s of this.subjects.values()) {
      if (s.ip !== undefined) continue;
      // A name folds into the endpoints its DNS answers point at, and into endpoints reached under that name (SNI, Host).
      const targets = new Set<Aggregate>();
      for (const a of s.addresses ?? []) for (const ep of byIp.get(a) ?? []) targets.add(merged.get(ep.key)!);
      for (const n of s.names) for (const ep of byName.get(n) ?? []) targets.add(merged.get(ep.key)!);
      if (targets.size === 0) {
        merged.set(s.key, new Aggregate(s, this.limits));
        continue;
      }
      for (const t of targets) t.fold(s);
    }
    const out: Finding[] = [];
    for (const agg of merged.values()) {
      if (agg.subject.ip !== undefined) for (const n of this.dnsNames.get(agg.subject.ip) ?? []) addCapped(agg.names, n, this.limits.detectMaxNames);
      const finding = agg.toFinding();
      if (!finding) continue;
      if (this.approved) {
        const by = isApproved(finding, this.approved);
        if (by !== undefined) {
          finding.approved = true;
          finding.approvedBy = by;
        }
      }
      out.push(finding);
    }
    const keyOf = (f: Finding): string => `${f.subject.ip ?? ''}|${String(f.subject.port ?? '').padStart(5, '0')}|${f.subject.names[0] ?? ''}`;
    out.sort((a, b) => b.score - a.score || (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));
    return out;
  }
}

/** A subject plus the DNS subjects folded into it, built fresh on every findings() call. */
class Aggregate {
  readonly names: Set<string>;
  readonly signals = new Map<string, SignalState>();
  readonly clients: Map<string, FindingClient>;
  readonly sources: Set<'pcap' | 'log'>;
  readonly kinds: Set<ObservationKind>;
  domain?: string;
  listEntry?: string;
  firstSeen: number;
  lastSeen: number;

  constructor(readonly subject: Subject, private readonly limits: Limits) {
    this.names = new Set(subject.names);
    for (const [k, v] of subject.signals) this.signals.set(k, { sig: v.sig, count: v.count, evidence: [...v.evidence] });
    this.clients = new Map([...subject.clients].map(([k, c]) => [k, { ...c }]));
    this.sources = new Set(subject.sources);
    this.kinds = new Set(subject.kinds);
    this.domain = subject.domain;
    this.listEntry = subject.listEntry;
    this.firstSeen = subject.firstSeen;
    this.lastSeen = subject.lastSeen;
  }

  fold(s: Subject): void {
    for (const n of s.names) addCapped(this.names, n, this.limits.detectMaxNames);
    for (const [k, v] of s.signals) {
      const mine = this.signals.get(k);
      if (!mine) {
        this.signals.set(k, { sig: v.sig, count: v.count, evidence: [...v.evidence] });
        continue;
      }
      mine.count += v.count;
      for (const e of v.evidence) if (mine.evidence.length < this.limits.detectEvidencePerSignal) mine.evidence.push(e);
    }
    for (const [k, c] of s.clients) if (!this.clients.has(k) && this.clients.size < this.limits.detectMaxClients) this.clients.set(k, { ...c });
    for (const src of s.sources) this.sources.add(src);
    for (const k of s.kinds) this.kinds.add(k);
    if (this.domain === undefined) {
      this.domain = s.domain;
      this.listEntry = s.listEntry;
    }
    if (s.firstSeen < this.firstSeen) this.firstSeen = s.firstSeen;
    if (s.lastSeen > this.lastSeen) this.lastSeen = s.lastSeen;
  }

  /** Primary evidence, or two distinct supporting signals of at least medium confidence. */
  private qualifies(): boolean {
    let supporting = 0;
    for (const { sig } of this.signals.values()) {
      if (sig.spec.role === 'primary') return true;
      if (CONFIDENCE_RANK[sig.spec.confidence] >= CONFIDENCE_RANK.medium) supporting++;
    }
    return supporting >= 2;
  }

  private transport(): Transport {
    const hints = this.subject.hints;
    for (const t of TRANSPORT_ORDER) if (hints.has(t)) return t;
    const k = this.kinds;
    if (k.has('http.request') || k.has('http.response') || k.has('sse.event') || k.has('ws.text') || k.has('jsonrpc')) return 'http';
    if (k.has('tls.client_hello')) return 'tls';
    if (k.has('conn')) return 'conn-only';
    return 'dns-only';
  }

  toFinding(): Finding | undefined {
    if (!this.qualifies()) return undefined;
    const s = this.subject;
    let miss = 1;
    let severity: Severity = 'info';
    const signals: Signal[] = [];
    for (const { sig, count, evidence } of this.signals.values()) {
      miss *= 1 - sig.p;
      if (SEVERITY_RANK[sig.spec.severity] > SEVERITY_RANK[severity]) severity = sig.spec.severity;
      signals.push({ signatureId: sig.id, title: sig.spec.title, confidence: sig.spec.confidence, severity: sig.spec.severity, count, evidence });
    }
    signals.sort((a, b) => CONFIDENCE_RANK[b.confidence] - CONFIDENCE_RANK[a.confidence] || (a.signatureId < b.signatureId ? -1 : 1));
    const score = Math.round((1 - miss) * 1000) / 1000;
    const confidence: Confidence = score >= 0.85 ? 'high' : score >= 0.5 ? 'medium' : 'low';
    const sorted = <T>(m: Map<string, T>): Record<string, T> => Object.fromEntries([...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    const names = [...this.names].sort();
    return {
      id: findingId(s.ip !== undefined ? `ep:${s.ip}:${s.port}` : s.key),
      subject: { ip: s.ip, port: s.port, names, domain: this.domain, listEntry: this.listEntry },
      transport: this.transport(),
      clients: [...this.clients.values()].sort((a, b) => (a.ip + (a.name ?? '') < b.ip + (b.name ?? '') ? -1 : 1)),
      server: { ...s.server },
      paths: [...s.paths].sort(),
      methods: sorted(s.methods),
      tools: sorted(s.tools),
      signals,
      confidence,
      score,
      severity,
      firstSeen: this.firstSeen,
      lastSeen: this.lastSeen,
      sources: [...this.sources].sort(),
      approved: false,
    };
  }
}
