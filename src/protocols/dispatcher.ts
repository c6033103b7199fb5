// Ties the application parsers to the flow table. Protocols are found by content, per direction:
// the first bytes of each TCP direction are sniffed (buffered up to LIMITS.protocolSniffBytes while
// undecided); ports are only hints (DNS over TCP) because MCP runs on any port.
import type { Dir, FlowEndReason, FlowEvents, FlowRef, StreamChunk } from '../flows/types.js';
import type { ParserContext } from './context.js';
import type { FeedStatus, Message, MessageSink } from './messages.js';
import { HttpSession, isHttpStart } from './http1/session.js';
import { DNS_TCP_PORTS, DNS_UDP_PORTS, DnsTcpStream, isPlausibleDnsMessage, isPlausibleDnsTcp, parseDns } from './dns/parse.js';
import { isTlsStart, TlsHelloParser } from './tls/client-hello.js';
import { NdjsonStream } from './jsonrpc/ndjson.js';
import { jsonRpcFromMessage } from './jsonrpc/carriers.js';

/** What a TCP direction was found to carry. `lsp` is Content-Length framed JSON-RPC: not MCP, not parsed. */
export type StreamProtocol = 'http' | 'tls' | 'dns' | 'ndjson' | 'lsp' | 'unknown';

export interface FlowControl {
  /** Stop delivering this direction's bytes: nothing more will be inspected. */
  ignore(flow: FlowRef, dir: Dir): void;
  /** Count, do not deliver, this direction's bytes up to stream offset `end` (FlowTable.skip). */
  skip?(flow: FlowRef, dir: Dir, end: number): void;
}

export interface DispatcherOptions {
  /** Rethrow parser exceptions instead of counting `parser.internal_error` (tests). */
  strict?: boolean;
}

/** One direction's parser behind a common face; `done`: nothing more to inspect in this direction. */
interface DirParser {
  feed(chunk: StreamChunk): FeedStatus | 'done';
  end(): void;
  /** After a feed: how many bytes after the chunk the parser does not need to see (0: all needed). */
  skippable?(): number;
}

/** One undecided chunk, kept as a range of the direction's sniff buffer. */
interface SniffPart {
  start: number;
  end: number;
  offset: number;
  gapBefore: number;
  frame: number;
  ts: number;
}

interface DirState {
  proto: StreamProtocol | undefined;
  parser: DirParser | null;
  /** Undecided bytes, copied into one buffer (grown up to LIMITS.protocolSniffBytes). */
  sniffBuf: Uint8Array | null;
  sniffBytes: number;
  sniffParts: SniffPart[];
  /** No more bytes are wanted (ignored, finished or failed). */
  off: boolean;
  ended: boolean;
  sawBytes: boolean;
  /**
   * The direction's first bytes may not be a message start: the capture began mid-connection (roles
   * guessed, no handshake seen) or bytes were lost before the first chunk. The sniff then also looks
   * for a message start after a line end.
   */
  midStream: boolean | undefined;
  /** Bytes to drop before the parser's first byte (the tail of a message cut by the capture start). */
  skip: number;
}

interface FlowState {
  flow: FlowRef;
  c2s: DirState;
  s2c: DirState;
  http: HttpSession | null;
  /** UDP: decided by the first datagram (or a DNS port). */
  udp: 'dns' | 'other' | undefined;
  /** onFlowEnd is running: the flow table is done with this flow. */
  closing: boolean;
}

const CONTENT_LENGTH = 'content-length:';
const CONTENT_TYPE = 'content-type:';
const HTTP_VERSION_PREFIX = 'HTTP/1.';
/** Longest method token worth waiting for before deciding a direction is not HTTP. */
const MAX_METHOD_CHARS = 24;
/** Length prefix + DNS header + smallest question: what a DNS-over-TCP sniff needs. */
const DNS_TCP_SNIFF_BYTES = 2 + 12 + 5;
const LF = 0x0a;

/** `tls-data`: TLS records other than a handshake start (a capture that began after the hello). */
type Decision = StreamProtocol | 'undecided' | 'tls-data';

export class Dispatcher implements FlowEvents {
  private readonly flows = new Map<number, FlowState>();
  /** Flows by protocol, tallied when each flow ends ("tcp/http", "udp/dns", ...). */
  private readonly endedCounts = new Map<string, number>();
  private readonly strict: boolean;
  /** HTTP messages go out, each followed by the JSON-RPC messages it carried. */
  private readonly httpSink: MessageSink;

  constructor(
    private readonly sink: MessageSink,
    private readonly ctx: ParserContext,
    private readonly control: FlowControl,
    options: DispatcherOptions = {},
  ) {
    this.strict = options.strict ?? false;
    this.httpSink = (msg: Message) => {
      this.sink(msg);
      this.emitCarried(msg);
    };
  }

  /** Flows by protocol: those ended so far plus the live ones as currently classified. */
  protocolCounts(): Record<string, number> {
    const counts = new Map(this.endedCounts);
    for (const fs of this.flows.values()) {
      const label = this.label(fs);
      counts.set(label, (counts.get(label) ?? 0) + 1);
    }
    const out: Record<string, number> = {};
    for (const k of [...counts.keys()].sort()) out[k] = counts.get(k)!;
    return out;
  }

  onChunk(chunk: StreamChunk): void {
    const fs = this.state(chunk.flow);
    const ds = fs[chunk.dir];
    if (ds.off || ds.ended) return;
    if (chunk.data.length > 0) ds.sawBytes = true;
    if (ds.proto !== undefined) {
      this.deliver(fs, chunk.dir, chunk);
      return;
    }
    this.sniffChunk(fs, chunk);
  }

  onStreamEnd(flow: FlowRef, dir: Dir, _reason: FlowEndReason): void {
    const fs = this.flows.get(flow.id);
    if (fs) this.endDir(fs, dir);
  }

  onDatagram(flow: FlowRef, dir: Dir, data: Uint8Array, frame: number, ts: number): void {
    const fs = this.state(flow);
    if (fs.udp === 'other') return;
    if (fs.udp === undefined) {
      const dnsPort = DNS_UDP_PORTS.has(flow.server.port) || DNS_UDP_PORTS.has(flow.client.port);
      fs.udp = dnsPort || this.guard(fs, dir, 'dns', () => isPlausibleDnsMessage(data)) === true ? 'dns' : 'other';
      if (fs.udp === 'other') return;
    }
    const msg = this.guard(fs, dir, 'dns', () => parseDns(data, { flow, dir, frame, ts }, 'udp', this.ctx));
    if (msg) this.sink(msg);
  }

  onFlowEnd(flow: FlowRef, _reason: FlowEndReason): void {
    const fs = this.flows.get(flow.id);
    let label: string;
    if (fs) {
      fs.closing = true;
      this.endDir(fs, 'c2s');
      this.endDir(fs, 's2c');
      label = this.label(fs);
      this.flows.delete(flow.id);
    } else {
      label = `${flow.proto}/empty`;
    }
    this.endedCounts.set(label, (this.endedCounts.get(label) ?? 0) + 1);
  }

  // --- sniffing -------------------------------------------------------------------------------

  private sniffChunk(fs: FlowState, chunk: StreamChunk): void {
    const ds = fs[chunk.dir];
    const limit = this.ctx.limits.protocolSniffBytes;
    ds.midStream ??= fs.flow.rolesBy === 'heuristic' || chunk.gapBefore > 0;
    if (ds.sniffParts.length === 0) {
      // Common case: the first chunk decides, and is handed over without a copy.
      // Never look past the cap, so the decision does not depend on how the bytes were split.
      const head = chunk.data.length > limit ? chunk.data.subarray(0, limit) : chunk.data;
      const d = this.sniff(ds, head, chunk.dir, fs.flow, chunk.data.length >= limit);
      if (d !== 'undecided') {
        this.start(fs, chunk.dir, d);
        this.deliver(fs, chunk.dir, chunk);
        return;
      }
      this.keep(ds, chunk, limit);
      return;
    }
    if (chunk.gapBefore > 0) {
      // Bytes after a hole do not continue the sniffed prefix: decide on what came before.
      this.decideBuffered(fs, chunk.dir);
      if (!ds.off) this.deliver(fs, chunk.dir, chunk);
      return;
    }
    if (ds.sniffBytes + chunk.data.length < limit) {
      this.keep(ds, chunk, limit);
      const d = this.sniff(ds, ds.sniffBuf!.subarray(0, ds.sniffBytes), chunk.dir, fs.flow, false);
      if (d === 'undecided') return;
      this.start(fs, chunk.dir, d);
      this.replay(fs, chunk.dir); // the kept chunk is the last part replayed
      return;
    }
    // The sniff cap is reached inside this chunk: decide on the first `limit` bytes, once and for all.
    const buf = this.grow(ds, limit);
    buf.set(chunk.data.subarray(0, limit - ds.sniffBytes), ds.sniffBytes);
    const d = this.sniff(ds, buf.subarray(0, limit), chunk.dir, fs.flow, true);
    this.start(fs, chunk.dir, d);
    this.replay(fs, chunk.dir);
    if (!ds.off) this.deliver(fs, chunk.dir, chunk);
  }

  /** Copy an undecided chunk (its view dies with the call); callers keep the total under `limit`. */
  private keep(ds: DirState, chunk: StreamChunk, limit: number): void {
    const start = ds.sniffBytes;
    const end = start + chunk.data.length;
    this.grow(ds, Math.min(limit, end)).set(chunk.data, start);
    ds.sniffBytes = end;
    ds.sniffParts.push({ start, end, offset: chunk.offset, gapBefore: chunk.gapBefore, frame: chunk.frame, ts: chunk.ts });
  }

  private grow(ds: DirState, need: number): Uint8Array {
    const old = ds.sniffBuf;
    if (old && old.length >= need) return old;
    const doubled = Math.min(this.ctx.limits.protocolSniffBytes, Math.max((old?.length ?? 0) * 2, 256));
    const buf = new Uint8Array(Math.max(need, doubled));
    if (old) buf.set(old.subarray(0, ds.sniffBytes));
    ds.sniffBuf = buf;
    return buf;
  }

  /** Decide a direction from its buffered bytes alone (end of stream, gap) and replay them. */
  private decideBuffered(fs: FlowState, dir: Dir): void {
    const ds = fs[dir];
    if (ds.proto !== undefined || ds.sniffParts.length === 0) return;
    const d = this.sniff(ds, ds.sniffBuf!.subarray(0, ds.sniffBytes), dir, fs.flow, true);
    this.start(fs, dir, d);
    this.replay(fs, dir);
  }

  private replay(fs: FlowState, dir: Dir): void {
    const ds = fs[dir];
    const parts = ds.sniffParts;
    const buf = ds.sniffBuf;
    this.clearSniff(ds);
    if (!buf) return;
    for (const p of parts) {
      if (ds.off) return;
      const data = buf.subarray(p.start, p.end);
      this.deliver(fs, dir, { flow: fs.flow, dir, offset: p.offset, data, gapBefore: p.gapBefore, frame: p.frame, ts: p.ts });
    }
  }

  private clearSniff(ds: DirState): void {
    ds.sniffParts = [];
    ds.sniffBuf = null;
    ds.sniffBytes = 0;
  }

  /**
   * What do these first bytes of a direction look like? `final`: no more bytes will come for the
   * decision (sniff cap or end of stream), so "could still be" becomes "is not". Sets `ds.skip`
   * when a message start was found after a line end (mid-stream captures).
   */
  private sniff(ds: DirState, data: Uint8Array, dir: Dir, flow: FlowRef, final: boolean): Decision {
    const d = sniffStart(data, dir, flow, final);
    // Mid-stream, a header line ("Content-Type: ...") of an HTTP message in progress looks like LSP.
    if (!ds.midStream || (d !== 'unknown' && d !== 'lsp')) return d;
    if (d === 'unknown' && data.length >= 3 && data[0]! >= 0x14 && data[0]! <= 0x17 && data[1] === 3 && data[2]! <= 4) return 'tls-data';
    // A capture that began inside a message: look for a line that starts one. An HTTP start line
    // anywhere wins; NDJSON needs a whole line that is JSON (a JSON body line alone proves little).
    let ndjsonAt = -1;
    for (let lf = data.indexOf(LF); lf >= 0 && lf + 1 < data.length; lf = data.indexOf(LF, lf + 1)) {
      const rest = data.subarray(lf + 1);
      const r = sniffStart(rest, dir, flow, final);
      if (r === 'http') {
        ds.skip = lf + 1;
        return 'http';
      }
      if (r === 'ndjson' && ndjsonAt < 0) {
        const end = rest.indexOf(LF);
        if (end > 0 && isJsonText(rest.subarray(0, end))) ndjsonAt = lf + 1;
      }
    }
    if (ndjsonAt >= 0) {
      ds.skip = ndjsonAt;
      return 'ndjson';
    }
    return final ? d : 'undecided';
  }

  /** Set a direction's protocol and its parser. */
  private start(fs: FlowState, dir: Dir, decision: Decision): void {
    const ds = fs[dir];
    if (decision === 'tls-data') {
      // Encrypted records of a connection whose hello was before the capture: nothing to read.
      ds.proto = 'tls';
      this.ignore(fs, dir);
      return;
    }
    const proto: StreamProtocol = decision === 'undecided' ? 'unknown' : decision;
    ds.proto = proto;
    const flow = fs.flow;
    switch (proto) {
      case 'http': {
        if (!fs.http) {
          const session = this.guard(fs, dir, 'http', () => new HttpSession(this.httpSink, this.ctx));
          if (!session) return;
          fs.http = session;
        }
        const session = fs.http;
        ds.parser = { feed: (c) => session.feed(c), end: () => session.end(dir), skippable: () => session.skippable(dir) };
        return;
      }
      case 'tls': {
        const hello = new TlsHelloParser(flow, dir, this.sink, this.ctx);
        ds.parser = {
          feed: (c) => {
            const r = hello.feed(c);
            return r === 'incomplete' ? 'ok' : r === 'error' ? 'error' : 'done';
          },
          end: () => hello.end(),
        };
        // The client sent a TLS record: the server's side is TLS too, and encrypted after its hello.
        const other = fs[otherDir(dir)];
        if (dir === 'c2s' && other.proto === undefined) {
          other.proto = 'tls';
          this.clearSniff(other);
          this.ignore(fs, otherDir(dir));
        }
        return;
      }
      case 'dns': {
        const s = new DnsTcpStream(flow, dir, this.sink, this.ctx);
        ds.parser = { feed: (c) => s.feed(c), end: () => s.end() };
        return;
      }
      case 'ndjson': {
        const s = new NdjsonStream(flow, dir, this.sink, this.ctx);
        ds.parser = { feed: (c) => s.feed(c), end: () => s.end() };
        return;
      }
      case 'lsp':
        // Content-Length framed JSON-RPC is the Language Server Protocol, not MCP: nothing to parse.
        this.ignore(fs, dir);
        return;
      case 'unknown':
        this.ctx.anomalies.add('stream.unknown_protocol', { file: this.ctx.file, frame: flow.firstFrame, flow: String(flow.id), detail: dir });
        this.ignore(fs, dir);
        return;
    }
  }

  // --- parsers ---------------------------------------------------------------------------------

  private deliver(fs: FlowState, dir: Dir, chunk: StreamChunk): void {
    const ds = fs[dir];
    const parser = ds.parser;
    if (ds.off || !parser) return;
    if (ds.skip > 0) {
      const n = Math.min(ds.skip, chunk.data.length);
      ds.skip -= n;
      if (n === chunk.data.length) return;
      chunk = { ...chunk, data: chunk.data.subarray(n), offset: chunk.offset + n, gapBefore: 0 };
    }
    // The per-chunk call: try/catch inline rather than through guard(), no closure per chunk.
    let r: FeedStatus | 'done';
    if (this.strict) {
      r = parser.feed(chunk);
    } else {
      try {
        r = parser.feed(chunk);
      } catch (err) {
        this.internalError(fs, dir, ds.proto!, err);
        return;
      }
    }
    if (r === 'ok') {
      const n = parser.skippable?.() ?? 0;
      if (n > 0 && !ds.off) this.control.skip?.(fs.flow, dir, chunk.offset + chunk.data.length + n);
    } else if (r === 'error') {
      this.ignore(fs, dir);
    } else if (r === 'done') {
      // ClientHello seen: the rest of the flow is encrypted. (A server's hello only ends its own
      // direction: the client's hello may still be on its way.)
      this.ignore(fs, dir);
      if (ds.proto === 'tls' && dir === 'c2s') this.ignore(fs, otherDir(dir));
    }
  }

  private endDir(fs: FlowState, dir: Dir): void {
    const ds = fs[dir];
    if (ds.ended) return;
    // Ended first: deciding now must not ask the flow table to ignore a finished direction.
    ds.ended = true;
    if (ds.proto === undefined && ds.sniffParts.length > 0) this.decideBuffered(fs, dir);
    const parser = ds.parser;
    if (parser && !ds.off) this.guard(fs, dir, ds.proto!, () => parser.end());
    ds.off = true;
  }

  /** Stop one direction; tell the flow table unless the direction already ended. */
  private ignore(fs: FlowState, dir: Dir): void {
    const ds = fs[dir];
    if (ds.off) return;
    ds.off = true;
    this.clearSniff(ds);
    if (!ds.ended && !fs.closing) this.control.ignore(fs.flow, dir);
  }

  /**
   * One try/catch around each parser call: a bug becomes `parser.internal_error` and switches that
   * flow's parser off (for HTTP, both directions share one session); the run goes on.
   */
  private guard<T>(fs: FlowState, dir: Dir, proto: string, call: () => T): T | undefined {
    if (this.strict) return call();
    try {
      return call();
    } catch (err) {
      this.internalError(fs, dir, proto, err);
      return undefined;
    }
  }

  private internalError(fs: FlowState, dir: Dir, proto: string, err: unknown): void {
    this.ctx.anomalies.add('parser.internal_error', () => ({
      file: this.ctx.file,
      flow: String(fs.flow.id),
      detail: `${proto}: ${err instanceof Error ? err.message.slice(0, 160) : String(err)}`,
    }));
    if (fs.flow.proto === 'udp') {
      fs.udp = 'other';
      return;
    }
    this.ignore(fs, dir);
    const other = otherDir(dir);
    if (proto === 'http' && fs[other].proto === 'http') this.ignore(fs, other);
  }

  /** JSON-RPC carried by an HTTP message, right after it. Its own guard: a JSON bug must not stop HTTP. */
  private emitCarried(msg: Message): void {
    let found;
    if (this.strict) {
      found = jsonRpcFromMessage(msg, this.ctx);
    } else {
      try {
        found = jsonRpcFromMessage(msg, this.ctx);
      } catch (err) {
        this.ctx.anomalies.add('parser.internal_error', () => ({
          file: this.ctx.file,
          flow: String(msg.flow.id),
          detail: `jsonrpc: ${err instanceof Error ? err.message.slice(0, 160) : String(err)}`,
        }));
        return;
      }
    }
    for (const m of found) this.sink(m);
  }

  // --- state -----------------------------------------------------------------------------------

  private state(flow: FlowRef): FlowState {
    let fs = this.flows.get(flow.id);
    if (!fs) {
      fs = { flow, c2s: newDirState(), s2c: newDirState(), http: null, udp: undefined, closing: false };
      this.flows.set(flow.id, fs);
    }
    return fs;
  }

  private label(fs: FlowState): string {
    if (fs.flow.proto === 'udp') return `udp/${fs.udp ?? 'other'}`;
    const c = fs.c2s.proto;
    const s = fs.s2c.proto;
    if (c !== undefined && c !== 'unknown') return `tcp/${c}`;
    if (s !== undefined && s !== 'unknown') return `tcp/${s}`;
    if (c === 'unknown' || s === 'unknown') return 'tcp/unknown';
    return fs.c2s.sawBytes || fs.s2c.sawBytes ? 'tcp/undecided' : 'tcp/empty';
  }
}

function newDirState(): DirState {
  return { proto: undefined, parser: null, sniffBuf: null, sniffBytes: 0, sniffParts: [], off: false, ended: false, sawBytes: false,
    midStream: undefined, skip: 0,
  };
}

function otherDir(dir: Dir): Dir {
  return dir === 'c2s' ? 's2c' : 'c2s';
}

/** What a direction's bytes look like when data[0] is the first byte of a message. */
function sniffStart(data: Uint8Array, dir: Dir, flow: FlowRef, final: boolean): Decision {
  if (data.length === 0) return final ? 'unknown' : 'undecided';
  if (DNS_TCP_PORTS.has(flow.server.port) || DNS_TCP_PORTS.has(flow.client.port)) {
    if (isPlausibleDnsTcp(data)) return 'dns';
    if (!final && data.length < DNS_TCP_SNIFF_BYTES) return 'undecided';
  }
  if (data[0] === 0x16) {
    if (isTlsStart(data)) return 'tls';
    if (!final && data.length < 3 && (data.length < 2 || data[1] === 3)) return 'undecided';
  }
  if (isHttpStart(data, dir)) return 'http';
  if (!final && couldBecomeHttp(data, dir)) return 'undecided';
  if (startsWithFold(data, CONTENT_LENGTH) || startsWithFold(data, CONTENT_TYPE)) return 'lsp';
  if (!final && (isFoldPrefix(data, CONTENT_LENGTH) || isFoldPrefix(data, CONTENT_TYPE))) return 'undecided';
  const i = firstNonSpaceByte(data);
  if (i < 0) return final ? 'unknown' : 'undecided';
  if (data[i] === 0x7b || data[i] === 0x5b) return 'ndjson';
  return 'unknown';
}

/** Does this line parse as JSON (an object or array)? Used only by the mid-stream sniff. */
function isJsonText(line: Uint8Array): boolean {
  try {
    JSON.parse(Buffer.from(line.buffer, line.byteOffset, line.length).toString('utf8'));
    return true;
  } catch {
    return false;
  }
}

/** A request method token still being typed, or the start of "HTTP/1." from a server. */
function couldBecomeHttp(data: Uint8Array, dir: Dir): boolean {
  if (dir === 's2c') {
    if (data.length >= HTTP_VERSION_PREFIX.length) return false;
    for (let i = 0; i < data.length; i++) if (data[i] !== HTTP_VERSION_PREFIX.charCodeAt(i)) return false;
    return true;
  }
  if (data.length >= MAX_METHOD_CHARS) return false;
  for (let i = 0; i < data.length; i++) {
    const c = data[i]!;
    if (!((c >= 0x41 && c <= 0x5a) || c === 0x2d || c === 0x5f)) return false;
  }
  return true;
}

function lowerAscii(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c + 0x20 : c;
}

/** `data` starts with `word` (lowercase ASCII), ignoring case. */
function startsWithFold(data: Uint8Array, word: string): boolean {
  if (data.length < word.length) return false;
  for (let i = 0; i < word.length; i++) if (lowerAscii(data[i]!) !== word.charCodeAt(i)) return false;
  return true;
}

/** `data` is a proper prefix of `word`, ignoring case. */
function isFoldPrefix(data: Uint8Array, word: string): boolean {
  if (data.length >= word.length) return false;
  for (let i = 0; i < data.length; i++) if (lowerAscii(data[i]!) !== word.charCodeAt(i)) return false;
  return true;
}

function firstNonSpaceByte(data: Uint8Array): number {
  for (let i = 0; i < data.length; i++) {
    const c = data[i]!;
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return i;
  }
  return -1;
}
