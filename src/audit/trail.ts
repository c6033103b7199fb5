// The tool-call audit trail: JSON-RPC requests paired with their responses into AuditRecords.
// Streamable HTTP answers on the request's own flow; legacy HTTP+SSE answers on the GET event stream, a
// different flow, tied to the POSTs by the session id of its `endpoint` event. Pairs are keyed by who asked,
// client ip, server ip:port and JSON-RPC id; among equal keys the same session, then the same flow, then the
// oldest wins, within a time window. Every message part is put through the DLP scanner on the way.
import { Anomalies } from '../core/anomalies.js';
import { limits as makeLimits, type Limits } from '../config/limits.js';
import type { Endpoint, FlowRef } from '../flows/types.js';
import type { JsonRpcMessage, Message } from '../protocols/messages.js';
import { DlpScanner, type ScanTarget } from './dlp.js';
import type { AuditRecord, DlpHit, MessagePart } from './types.js';

export interface TrailOptions {
  /** Every finished record: answered, errored, unanswered (window passed or end of input) or a notification. */
  onRecord(record: AuditRecord): void;
  /** Every DLP hit as it is found, including hits on responses that matched no request. */
  onHit?(hit: DlpHit): void;
  dlp?: DlpScanner;
  anomalies?: Anomalies;
  limits?: Partial<Limits>;
}

interface Pending {
  record: AuditRecord;
  key: string;
  flowKey: string;
  session?: string;
  /** The request carried emails/phones in bulk: mask them in the summary too. */
  pii: boolean;
}

const SWEEP_EVERY = 1024;

export const hostPort = (e: Endpoint): string => (e.ip.includes(':') ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`);
export const flowName = (f: FlowRef): string => `${hostPort(f.client)}->${hostPort(f.server)}`;

/** Session id from a legacy SSE endpoint or POST target (`/messages?sessionId=…`, Python: `session_id`). */
export function sessionFromTarget(target: string | undefined): string | undefined {
  if (!target) return undefined;
  const q = target.indexOf('?');
  if (q < 0) return undefined;
  const m = /(?:^|&)(?:sessionId|session_id)=([^&#]+)/.exec(target.slice(q + 1));
  return m ? decodeURIComponent(m[1]) : undefined;
}

/** What a request is about: the tool, resource URI or prompt name. */
export function requestTarget(method: string, params: unknown): string | undefined {
  if (!params || typeof params !== 'object') return undefined;
  const p = params as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  switch (method) {
    case 'tools/call':
    case 'prompts/get':
      return str(p.name);
    case 'resources/read':
    case 'resources/subscribe':
    case 'resources/unsubscribe':
      return str(p.uri);
    case 'completion/complete': {
      const ref = p.ref as Record<string, unknown> | undefined;
      return str(ref?.name) ?? str(ref?.uri);
    }
    default:
      return undefined;
  }
}

/** The arguments worth listing: tool/prompt arguments, else the params without `_meta`. */
function requestArgs(method: string, params: unknown): unknown {
  if (!params || typeof params !== 'object' || Array.isArray(params)) return params;
  const p = params as Record<string, unknown>;
  if ((method === 'tools/call' || method === 'prompts/get') && 'arguments' in p) return p.arguments;
  const { _meta: _m, name: _n, uri: _u, ...rest } = p;
  return Object.keys(rest).length ? rest : undefined;
}

/** Size of a value as JSON; -1 when it cannot be printed (nesting too deep for JSON.stringify). */
const jsonBytes = (v: unknown): number => {
  if (v === undefined) return 0;
  try {
    return Buffer.byteLength(JSON.stringify(v) ?? '', 'utf8');
  } catch {
    return -1;
  }
};

export class AuditTrail {
  private readonly limits: Limits;
  private readonly anomalies: Anomalies;
  private readonly dlp: DlpScanner;
  private readonly pending = new Map<string, Pending[]>();
  private pendingCount = 0;
  /** GET event-stream flow id → legacy SSE session id (from its `endpoint` event). */
  private readonly sessionByFlow = new Map<string, string>();
  /** `client ip|server` → names from initialize. */
  private readonly clientInfo = new Map<string, { name?: string; version?: string }>();
  private readonly serverInfo = new Map<string, { name?: string; version?: string }>();
  private seen = 0;
  private now = 0;
  /** Flow ids restart at 1 in every capture file: a generation per file keeps them apart. */
  private gen = 0;
  private currentFile?: string;

  constructor(private readonly options: TrailOptions) {
    this.limits = makeLimits(options.limits);
    this.anomalies = options.anomalies ?? new Anomalies();
    this.dlp = options.dlp ?? new DlpScanner();
  }

  /** The capture file the next messages come from. */
  get file(): string | undefined {
    return this.currentFile;
  }

  set file(name: string | undefined) {
    this.currentFile = name;
    this.gen++;
    this.sessionByFlow.clear();
  }

  private flowKey(f: FlowRef): string {
    return `${this.gen}:${f.id}`;
  }

  /** Feed every message of a capture (non-JSON-RPC ones are used only for SSE session ids). */
  add(msg: Message): void {
    if (msg.kind === 'sse.event') {
      if (msg.event === 'endpoint') {
        const s = sessionFromTarget(msg.data);
        if (s) this.remember(this.sessionByFlow, this.flowKey(msg.flow), s);
      }
      return;
    }
    if (msg.kind !== 'jsonrpc') return;
    this.now = Math.max(this.now, msg.ts);
    if (++this.seen % SWEEP_EVERY === 0) this.sweep(this.now);
    if (msg.type === 'request' || msg.type === 'notification') this.request(msg);
    else this.response(msg);
  }

  /** End of input: every request still waiting is listed as unanswered. */
  finish(): void {
    this.sweep(Number.POSITIVE_INFINITY);
  }

  private session(msg: JsonRpcMessage): string | undefined {
    return sessionFromTarget(msg.http?.target) ?? this.sessionByFlow.get(this.flowKey(msg.flow));
  }

  private peerKey(msg: JsonRpcMessage): string {
    return `${msg.flow.client.ip}|${hostPort(msg.flow.server)}`;
  }

  private target(msg: JsonRpcMessage): ScanTarget {
    return {
      server: hostPort(msg.flow.server),
      client: msg.flow.client.ip,
      where: { file: this.file, frame: msg.frame, ts: msg.ts, flow: flowName(msg.flow), part: 'request', method: msg.method, id: msg.id },
    };
  }

  private scan(msg: JsonRpcMessage, part: MessagePart, method: string | undefined, parts: Array<{ root: string; value: unknown }>): DlpHit[] {
    const t = this.target(msg);
    t.where.part = part;
    t.where.method = method;
    const hits = this.dlp.scan(parts, t);
    if (this.dlp.lastCapped) this.anomalies.add('dlp.scan_cap_hit', { file: this.file, frame: msg.frame, flow: t.where.flow });
    for (const h of hits) this.options.onHit?.(h);
    return hits;
  }

  private request(msg: JsonRpcMessage): void {
    const method = msg.method ?? '';
    const from = msg.dir === 'c2s' ? 'client' : 'server';
    const isNote = msg.type === 'notification';
    const hits = this.scan(msg, isNote ? 'notification' : 'request', method, [{ root: 'params', value: msg.params }]);
    if (method === 'initialize' && from === 'client') {
      const info = (msg.params as { clientInfo?: { name?: unknown; version?: unknown } } | undefined)?.clientInfo;
      if (info && typeof info === 'object') {
        this.remember(this.clientInfo, this.peerKey(msg), {
          name: typeof info.name === 'string' ? info.name : undefined,
          version: typeof info.version === 'string' ? info.version : undefined,
        });
      }
    }
    const args = requestArgs(method, msg.params);
    const pii = hits.some((h) => h.category === 'pii');
    const record: AuditRecord = {
      ts: msg.ts,
      file: this.file,
      frame: msg.frame,
      from,
      type: isNote ? 'notification' : 'request',
      client: { ip: msg.flow.client.ip, port: msg.flow.client.port },
      server: { ip: msg.flow.server.ip, port: msg.flow.server.port, host: msg.http?.host },
      carrier: msg.carrier,
      method,
      id: msg.id,
      target: this.safeTarget(requestTarget(method, msg.params)),
      args: this.summary(args, pii),
      argsBytes: jsonBytes(args),
      status: isNote ? 'notification' : 'no-response',
      dlp: hits,
    };
    if (isNote) {
      this.emit(record);
      return;
    }
    if (this.pendingCount >= this.limits.auditMaxPending) this.evictOldest();
    const key = this.pairKey(from, msg);
    const list = this.pending.get(key) ?? [];
    list.push({ record, key, flowKey: this.flowKey(msg.flow), session: this.session(msg), pii });
    this.pending.set(key, list);
    this.pendingCount++;
  }

  private pairKey(asker: 'client' | 'server', msg: JsonRpcMessage): string {
    const id = msg.id;
    return `${asker}|${msg.flow.client.ip}|${hostPort(msg.flow.server)}|${typeof id}:${String(id)}`;
  }

  private response(msg: JsonRpcMessage): void {
    // A response travels opposite to its request: s2c answers the client, c2s answers the server.
    const asker = msg.dir === 's2c' ? 'client' : 'server';
    const key = this.pairKey(asker, msg);
    const list = this.pending.get(key);
    const session = this.session(msg);
    let pick = -1;
    if (list) {
      let sameFlow = -1;
      let oldest = -1;
      for (let i = 0; i < list.length; i++) {
        const p = list[i];
        if (msg.ts - p.record.ts > this.limits.auditPairWindowSeconds) continue;
        if (session && p.session) {
          if (p.session === session) { pick = i; break; }
          continue; // both sides name a session and they differ
        }
        if (sameFlow < 0 && p.flowKey === this.flowKey(msg.flow)) sameFlow = i;
        if (oldest < 0) oldest = i;
      }
      if (pick < 0) pick = sameFlow >= 0 ? sameFlow : oldest;
    }
    const part: MessagePart = msg.type === 'error' ? 'error' : 'response';
    if (!list || pick < 0) {
      this.anomalies.add('audit.unmatched_response', { file: this.file, frame: msg.frame, flow: flowName(msg.flow) });
      this.scan(msg, part, undefined, [{ root: part === 'error' ? 'error' : 'result', value: part === 'error' ? msg.error : msg.result }]);
      return;
    }
    const [p] = list.splice(pick, 1);
    if (list.length === 0) this.pending.delete(key);
    this.pendingCount--;
    const r = p.record;
    const hits = this.scan(msg, part, r.method, [{ root: part === 'error' ? 'error' : 'result', value: part === 'error' ? msg.error : msg.result }]);
    r.dlp.push(...hits);
    r.responseTs = msg.ts;
    r.responseFrame = msg.frame;
    r.durationMs = Math.max(0, Math.round((msg.ts - r.ts) * 1e6) / 1e3);
    if (msg.type === 'error') {
      r.status = 'error';
      r.resultBytes = jsonBytes(msg.error);
      if (msg.error) r.error = { code: msg.error.code, message: this.dlp.redact(String(msg.error.message), hits.some((h) => h.category === 'pii')).slice(0, this.limits.auditArgsDisplayChars) };
    } else {
      const result = msg.result as { isError?: unknown } | undefined;
      r.status = result && typeof result === 'object' && result.isError === true ? 'tool-error' : 'ok';
      r.resultBytes = jsonBytes(msg.result);
      if (r.method === 'initialize' && r.from === 'client') {
        const info = (msg.result as { serverInfo?: { name?: unknown; version?: unknown } } | undefined)?.serverInfo;
        if (info && typeof info === 'object') {
          this.remember(this.serverInfo, this.peerKey(msg), {
            name: typeof info.name === 'string' ? info.name : undefined,
            version: typeof info.version === 'string' ? info.version : undefined,
          });
        }
      }
    }
    this.emit(r);
  }

  private emit(r: AuditRecord): void {
    this.options.onRecord(this.withNames(r));
  }

  /** A resource URI can carry a token in its query: masked like any other value. */
  private safeTarget(t: string | undefined): string | undefined {
    return t === undefined ? undefined : this.dlp.redact(t);
  }

  private summary(args: unknown, pii: boolean): string {
    if (args === undefined) return '';
    // Redact the value itself (not its JSON text, where escapes hide word boundaries), then print, then cut:
    // a cut must never leave the head of a secret unmasked.
    let text: string;
    try {
      text = JSON.stringify(this.dlp.redactValue(args, pii)) ?? '';
    } catch {
      this.anomalies.add('audit.args_unprintable', { file: this.file });
      return '…';
    }
    const max = this.limits.auditArgsDisplayChars;
    return text.length > max ? `${text.slice(0, max - 1)}…` : text;
  }

  private sweep(now: number): void {
    const horizon = now - this.limits.auditPairWindowSeconds;
    for (const [key, list] of this.pending) {
      let kept = 0;
      for (const p of list) {
        if (p.record.ts < horizon) {
          this.pendingCount--;
          this.emit(p.record);
        } else list[kept++] = p;
      }
      list.length = kept;
      if (kept === 0) this.pending.delete(key);
    }
  }

  private withNames(r: AuditRecord): AuditRecord {
    const k = `${r.client.ip}|${hostPort(r.server)}`;
    const c = this.clientInfo.get(k);
    if (c) { r.client.name = c.name; r.client.version = c.version; }
    const s = this.serverInfo.get(k);
    if (s) { r.server.name = s.name; r.server.version = s.version; }
    return r;
  }

  /** At the cap: the first key inserted holds (nearly) the oldest request; list it as unanswered. */
  private evictOldest(): void {
    const first = this.pending.entries().next();
    if (first.done) return;
    const [key, list] = first.value;
    const p = list.shift()!;
    if (list.length === 0) this.pending.delete(key);
    this.pendingCount--;
    this.anomalies.add('audit.pending_cap_hit', { file: this.file, frame: p.record.frame });
    this.emit(p.record);
  }

  private remember<K, V>(map: Map<K, V>, key: K, value: V): void {
    if (!map.has(key) && map.size >= this.limits.auditMaxPeers) {
      map.delete(map.keys().next().value as K);
      this.anomalies.add('audit.peers_cap_hit');
    }
    map.set(key, value);
  }
}
