// HTTP/1.x over one TCP flow, both directions, incremental: requests (c2s) and responses (s2c) paired FIFO,
// Content-Length / chunked / close-delimited bodies, Content-Encoding undone under caps, SSE responses turned
// into events as they arrive, WebSocket after a 101 upgrade, CONNECT tunnels left alone.
// Any split of the input bytes gives the same messages.
import type { Dir, FlowRef, StreamChunk } from '../../flows/types.js';
import type {
  FeedStatus,
  Headers,
  HttpRequest,
  HttpResponse,
  MessageSink,
  SseEvent,
  StreamParser,
  WsText,
} from '../messages.js';
import type { ParserContext } from '../context.js';
import type { HttpAnomalyName } from './anomalies.js';
import { ChunkedDecoder, type ChunkDataHandler } from './chunked.js';
import { type ByteSink, type ContentDecoder, createContentDecoder } from './content-coding.js';
import {
  HeadReader,
  contentLength,
  headerTokens,
  headerValue,
  mediaType,
  parseHeaderLines,
} from './head.js';
import {
  type RequestLine,
  type StatusLine,
  START_SNIFF_BYTES,
  couldStartHttp,
  isHttpStart,
  parseRequestLine,
  parseStatusLine,
  startsHttp,
} from './start-line.js';
import { SseParser } from '../sse/parse.js';
import { WsFrameParser } from '../websocket/frames.js';
import { WsMessageAssembler } from '../websocket/messages.js';

export { isHttpStart };

const CR = 0x0d;
const LF = 0x0a;

export interface RequestRef {
  method: string;
  target: string;
  host?: string;
}

interface PendingRequest {
  ref: RequestRef;
  /** CONNECT, or an Upgrade header: the client side waits for the answer before going on. */
  upgrade: boolean;
}

/** What the server's answer to an Upgrade/CONNECT request makes of the client direction. */
type Decision = { kind: 'ws'; deflate: boolean; request: RequestRef | undefined } | { kind: 'tunnel' } | { kind: 'http' };

type Mode = 'start' | 'head' | 'body' | 'resync' | 'upgrade_wait' | 'ws' | 'tunnel' | 'dead' | 'ended';
type Framing = 'none' | 'length' | 'chunked' | 'close';

/** Keeps the first `cap` decoded body bytes (copied), and notes when there were more. */
/**
 * Keeps a body for inspection, up to the cap. A body whose media type no signature reads (images, archives,
 * octet streams) is kept only if its first non-space byte opens JSON, so relabelled JSON-RPC is still seen;
 * otherwise it is only counted.
 */
class BodyCollector implements ByteSink {
  private buf: Uint8Array;
  len = 0;
  truncated = false;
  /** 'probe': waiting for the first non-space byte; 'keep'; 'skip': counted, not kept. */
  private state: 'probe' | 'keep' | 'skip';

  constructor(
    private readonly cap: number,
    sizeHint: number,
    inspectable: boolean,
  ) {
    this.state = inspectable ? 'keep' : 'probe';
    this.buf = new Uint8Array(Math.max(0, Math.min(cap, sizeHint, inspectable ? 64 * 1024 : 64)));
  }

  get full(): boolean {
    return this.truncated || this.state === 'skip';
  }

  write(data: Uint8Array): void {
    if (this.truncated || this.state === 'skip') return;
    if (this.state === 'probe') {
      for (let i = 0; i < data.length; i++) {
        const c = data[i];
        if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) continue;
        if (c === 0x7b || c === 0x5b) {
          this.state = 'keep';
          break;
        }
        this.state = 'skip';
        this.len = 0;
        return;
      }
    }
    let n = data.length;
    if (this.len + n > this.cap) {
      n = this.cap - this.len;
      this.truncated = true;
    }
    if (n <= 0) return;
    if (this.len + n > this.buf.length) {
      let size = Math.max(1024, this.buf.length * 2);
      while (size < this.len + n) size *= 2;
      const next = new Uint8Array(Math.min(size, this.cap));
      next.set(this.buf.subarray(0, this.len));
      this.buf = next;
    }
    this.buf.set(n === data.length ? data : data.subarray(0, n), this.len);
    this.len += n;
  }

  bytes(): Uint8Array {
    return this.len === this.buf.length ? this.buf : this.buf.slice(0, this.len);
  }
}

/** Media types whose bodies signatures read: JSON and text (SDK error strings are plain text too). */
function inspectableType(type: string): boolean {
  return (
    type === '' || type.startsWith('text/') || type.endsWith('json') || type.endsWith('+json') ||
    type === 'application/x-www-form-urlencoded' || type === 'application/x-ndjson' || type === 'application/jsonl'
  );
}

/** Feeds decoded SSE body bytes to the event parser. */
class SseSink implements ByteSink {
  readonly full = false;
  constructor(private readonly parser: SseParser) {}
  write(data: Uint8Array): void {
    this.parser.feed(data);
  }
}

class HttpDirection implements ChunkDataHandler {
  mode: Mode = 'start';
  private readonly head: HeadReader;
  private headFrame = 0;
  private headTs = 0;
  private requestLine: RequestLine | undefined;
  private statusLine: StatusLine | undefined;

  // The message whose body is being read.
  private headers: Headers = [];
  private pairedRequest: RequestRef | undefined;
  private framing: Framing = 'none';
  private remaining = 0;
  private readonly chunked: ChunkedDecoder;
  private bodyLength = 0;
  /** Body bytes were lost (gap) or the stream ended early: not the whole body. */
  private bodyCut = false;
  private collector: BodyCollector | undefined;
  private decoder: ContentDecoder | undefined;
  private bodyEntry: ByteSink | undefined;
  private afterBody: 'start' | 'upgrade_wait' = 'start';

  // SSE response in progress.
  private sse: SseParser | undefined;
  private sseIndex = 0;
  private sseFrame = 0;
  private sseTs = 0;

  // Resync after a gap or a bad start line.
  private resyncReason: 'gap' | 'bad' = 'gap';
  private resyncUsed = 0;
  private atLineStart = false;
  private readonly prefix = new Uint8Array(START_SNIFF_BYTES);
  private prefixLen = 0;
  private prefixFrame = 0;
  private prefixTs = 0;

  // Client side waiting for the answer to an Upgrade/CONNECT request.
  private waitSegments: Array<{ data: Uint8Array; gapBefore: number; frame: number; ts: number }> = [];
  private waitBytes = 0;
  pendingDecision: Decision | undefined;

  private ws: WsFrameParser | undefined;

  // The chunk being fed.
  private frame = 0;
  private ts = 0;

  constructor(
    private readonly session: HttpSession,
    readonly dir: Dir,
  ) {
    const limits = session.ctx.limits;
    this.head = new HeadReader(limits.httpMaxHeaderBytes);
    this.chunked = new ChunkedDecoder(limits.httpMaxHeaderBytes);
  }

  feed(data: Uint8Array, gapBefore: number, frame: number, ts: number, skipped = 0): FeedStatus {
    if (this.mode === 'dead') return 'error';
    if (this.mode === 'ended') return 'ok';
    this.frame = frame;
    this.ts = ts;
    if (skipped > 0) this.skippedBody(skipped);
    if (gapBefore > 0) this.gap(gapBefore);
    let pos = 0;
    const n = data.length;
    while (pos < n) {
      switch (this.mode as Mode) {
        case 'start':
          while (pos < n && (data[pos] === CR || data[pos] === LF)) pos++;
          if (pos < n) this.beginHead(this.frame, this.ts);
          break;
        case 'head':
          pos = this.feedHead(data, pos, n);
          break;
        case 'body':
          pos = this.feedBody(data, pos, n);
          break;
        case 'resync':
          pos = this.feedResync(data, pos, n);
          break;
        case 'upgrade_wait':
          this.bufferWhileWaiting(data.subarray(pos), 0);
          pos = n;
          break;
        case 'ws':
          if (!this.ws!.feed(pos === 0 ? data : data.subarray(pos), this.frame, this.ts)) {
            this.anomaly('ws.bad_frame', this.ws!.error);
            this.mode = 'dead';
          }
          pos = n;
          break;
        case 'tunnel':
        case 'dead':
        case 'ended':
          pos = n;
          break;
      }
    }
    return this.mode === 'dead' ? 'error' : 'ok';
  }

  end(): void {
    switch (this.mode) {
      case 'head':
        this.anomaly('http.head_incomplete');
        break;
      case 'body':
        if (this.framing === 'close') this.completeMessage(true);
        else {
          // An event stream open when the capture ends is normal, and its response already went out.
          if (this.sse === undefined) this.anomaly('http.message_incomplete');
          this.bodyCut = true;
          this.completeMessage(false);
        }
        break;
      default:
        break;
    }
    if (this.mode !== 'dead') this.mode = 'ended';
    this.waitSegments = [];
  }

  // ---- start line and headers ----

  private beginHead(frame: number, ts: number): void {
    this.mode = 'head';
    this.head.reset();
    this.headFrame = frame;
    this.headTs = ts;
    this.requestLine = undefined;
    this.statusLine = undefined;
  }

  private feedHead(data: Uint8Array, pos: number, end: number): number {
    const next = this.head.feed(data, pos, end);
    switch (this.head.status) {
      case 'too_large':
        this.anomaly('http.header_too_large');
        this.mode = 'dead';
        return end;
      case 'first_line': {
        const line = this.head.firstLine();
        if (this.dir === 'c2s') {
          this.requestLine = parseRequestLine(line);
          if (!this.requestLine) {
            this.anomaly('http.bad_request_line');
            this.startResync('bad', true);
          }
        } else {
          this.statusLine = parseStatusLine(line);
          if (!this.statusLine) {
            this.anomaly('http.bad_status_line');
            this.startResync('bad', true);
          }
        }
        return next;
      }
      case 'done':
        this.headDone();
        return next;
      default:
        return next;
    }
  }

  private headDone(): void {
    const limits = this.session.ctx.limits;
    const parsed = parseHeaderLines(this.head.bytes, this.head.firstLineEnd);
    if (parsed.badLines > 0) this.anomaly('http.bad_header_line');
    if (parsed.folds > 0) this.anomaly('http.obs_fold');
    let headers = parsed.all;
    if (headers.length > limits.httpMaxHeaders) {
      this.anomaly('http.too_many_headers');
      headers = headers.slice(0, limits.httpMaxHeaders);
    }
    // Framing is read from every header line, kept or not.
    if (this.dir === 'c2s') this.requestHead(parsed.all, headers);
    else this.responseHead(parsed.all, headers);
  }

  private requestHead(all: Headers, headers: Headers): void {
    const rl = this.requestLine!;
    const ref: RequestRef = { method: rl.method, target: rl.target };
    const host = headerValue(all, 'host') ?? hostOfTarget(rl.method, rl.target);
    if (host !== undefined) ref.host = host;
    const upgrade = rl.method === 'CONNECT' || headerValue(all, 'upgrade') !== undefined;
    this.session.pushPending({ ref, upgrade }, this);
    this.headers = headers;
    this.pairedRequest = undefined;
    this.afterBody = upgrade ? 'upgrade_wait' : 'start';

    const te = headerTokens(all, 'transfer-encoding');
    const cl = contentLength(all);
    if (te.length > 0) {
      if (te[te.length - 1] === 'chunked') {
        if (cl !== undefined) this.anomaly('http.content_length_and_chunked');
        this.startBody('chunked', 0, all, false);
        return;
      }
      // A request body's length cannot be known: emit what we have and look for the next request.
      this.anomaly('http.bad_transfer_encoding');
      this.startBody('none', 0, all, false);
      this.startResync('bad', true);
      return;
    }
    if (cl === 'bad') {
      this.anomaly('http.bad_content_length');
      this.startBody('none', 0, all, false);
      this.startResync('bad', true);
      return;
    }
    if (cl !== undefined && cl > 0) this.startBody('length', cl, all, false);
    else this.startBody('none', 0, all, false);
  }

  private responseHead(all: Headers, headers: Headers): void {
    const sl = this.statusLine!;
    const status = sl.status;
    this.headers = headers;
    this.afterBody = 'start';
    const pending = this.session.pending;
    if (status >= 100 && status < 200) {
      if (status === 101) {
        const req = pending.shift();
        this.pairedRequest = req?.ref;
        this.emitResponse(new Uint8Array(0), 0, false);
        const protocols = headerTokens(all, 'upgrade');
        if (protocols.some((p) => p === 'websocket' || p.startsWith('websocket/'))) {
          const deflate = headerTokens(all, 'sec-websocket-extensions').some(
            (e) => e.split(';')[0]!.trim() === 'permessage-deflate',
          );
          this.startWebSocket(deflate, req?.ref);
          this.session.decide({ kind: 'ws', deflate, request: req?.ref });
        } else {
          // h2c or another protocol: not ours to parse.
          this.mode = 'tunnel';
          this.session.decide({ kind: 'tunnel' });
        }
        return;
      }
      // Interim response: the request stays pending for its final response.
      this.pairedRequest = pending[0]?.ref;
      this.emitResponse(new Uint8Array(0), 0, false);
      this.mode = 'start';
      return;
    }
    const req = pending.shift();
    if (!req) this.anomaly('http.response_without_request');
    this.pairedRequest = req?.ref;
    if (req?.ref.method === 'CONNECT' && status >= 200 && status < 300) {
      this.emitResponse(new Uint8Array(0), 0, false);
      this.mode = 'tunnel';
      this.session.decide({ kind: 'tunnel' });
      return;
    }
    if (req?.upgrade) this.session.decide({ kind: 'http' });

    const noBody = req?.ref.method === 'HEAD' || status === 204 || status === 304;
    if (noBody) {
      this.startBody('none', 0, all, false);
      return;
    }
    const sse = mediaType(headerValue(all, 'content-type')) === 'text/event-stream';
    const te = headerTokens(all, 'transfer-encoding');
    const cl = contentLength(all);
    if (te.length > 0) {
      if (cl !== undefined) this.anomaly('http.content_length_and_chunked');
      this.startBody(te[te.length - 1] === 'chunked' ? 'chunked' : 'close', 0, all, sse);
      return;
    }
    if (cl === 'bad') {
      this.anomaly('http.bad_content_length');
      this.startBody('close', 0, all, sse);
      return;
    }
    if (cl !== undefined) this.startBody(cl > 0 ? 'length' : 'none', cl, all, sse);
    else this.startBody('close', 0, all, sse);
  }

  // ---- bodies ----

  private startBody(framing: Framing, length: number, all: Headers, sse: boolean): void {
    const limits = this.session.ctx.limits;
    this.framing = framing;
    this.remaining = length;
    this.bodyLength = 0;
    this.bodyCut = false;
    this.collector = undefined;
    this.sse = undefined;
    let sink: ByteSink;
    if (sse) {
      this.sseIndex = 0;
      const request = this.pairedRequest;
      this.sse = new SseParser(
        (e) => {
          const msg = {
            kind: 'sse.event' as const,
            flow: this.session.flow!,
            dir: this.dir,
            frame: this.sseFrame,
            ts: this.sseTs,
            event: e.event,
            data: e.data,
            index: this.sseIndex++,
          } as SseEvent;
          if (e.id !== undefined) msg.id = e.id;
          if (e.retry !== undefined) msg.retry = e.retry;
          if (request) msg.request = request;
          this.session.sink(msg);
        },
        limits.sseMaxEventBytes,
        () => this.anomaly('sse.event_too_large'),
        () => {
          this.sseFrame = this.frame;
          this.sseTs = this.ts;
        },
      );
      sink = new SseSink(this.sse);
      // The response goes out now: an event stream stays open for minutes.
      this.emitResponse(new Uint8Array(0), 0, false);
    } else {
      const type = mediaType(headerValue(all, 'content-type'));
      this.collector = new BodyCollector(limits.httpBodyInspectBytes, framing === 'length' ? length : 1024, inspectableType(type));
      sink = this.collector;
    }
    const codings = headerTokens(all, 'content-encoding');
    this.decoder =
      codings.length > 0 && framing !== 'none'
        ? createContentDecoder(codings, sink, limits.httpDecompressedMaxBytes, (p) => this.anomaly(p))
        : undefined;
    this.bodyEntry = this.decoder ?? sink;
    if (framing === 'chunked') this.chunked.reset();
    if (framing === 'none') this.completeMessage(true);
    else this.mode = 'body';
  }

  private feedBody(data: Uint8Array, pos: number, end: number): number {
    switch (this.framing) {
      case 'length': {
        const take = Math.min(this.remaining, end - pos);
        this.bodyBytes(data, pos, pos + take);
        this.remaining -= take;
        if (this.remaining === 0) this.completeMessage(true);
        return pos + take;
      }
      case 'chunked': {
        const next = this.chunked.feed(data, pos, end, this);
        const st = this.chunked.status;
        if (st === 'done') this.completeMessage(true);
        else if (st !== 'more') {
          this.anomaly(
            st === 'bad_size' ? 'http.bad_chunk_size' : st === 'bad_end' ? 'http.bad_chunk_end' : 'http.chunk_trailer_too_large',
          );
          this.bodyCut = true;
          this.completeMessage(false);
          this.startResync('bad', false);
        }
        return next;
      }
      case 'close':
        this.bodyBytes(data, pos, end);
        return end;
      default:
        this.completeMessage(true);
        return pos;
    }
  }

  /**
   * After a chunk: the body bytes still to come that nobody reads (no decoder, no event stream, nothing kept), so
   * the flow table may count them instead of delivering them. They come back as a number: skippedBody().
   */
  skippable(): number {
    if (this.mode !== 'body' || this.sse !== undefined || this.decoder !== undefined) return 0;
    if (this.bodyEntry !== undefined && !this.bodyEntry.full && !this.bodyCut) return 0;
    const min = this.session.ctx.limits.httpBodySkipMinBytes;
    if (min <= 0) return 0;
    if (this.framing === 'close') return Number.POSITIVE_INFINITY;
    return this.framing === 'length' && this.remaining >= min ? this.remaining : 0;
  }

  /** `n` body bytes that skippable() let the flow table count: as if they had been fed and not kept. */
  private skippedBody(n: number): void {
    if (this.mode !== 'body') return;
    this.bodyLength += n;
    if (this.framing !== 'length') return;
    this.remaining -= n;
    if (this.remaining <= 0) {
      this.remaining = 0;
      this.completeMessage(true);
    }
  }

  chunkData(data: Uint8Array, start: number, end: number): void {
    this.bodyBytes(data, start, end);
  }

  private bodyBytes(data: Uint8Array, start: number, end: number): void {
    if (end <= start) return;
    this.bodyLength += end - start;
    const entry = this.bodyEntry;
    if (entry === undefined || entry.full) return;
    // After a gap only an event stream goes on (its parser skips to the next event); a body would have a hole.
    if (this.bodyCut && this.sse === undefined) return;
    entry.write(start === 0 && end === data.length ? data : data.subarray(start, end));
  }

  /** The body ended (complete: all its bytes were seen). Emits the message unless it went out at its head. */
  private completeMessage(complete: boolean): void {
    const wasSse = this.sse !== undefined;
    this.decoder?.end(complete && !this.bodyCut);
    this.sse?.end();
    if (!wasSse) {
      const c = this.collector;
      const body = c ? c.bytes() : new Uint8Array(0);
      const truncated = (c?.truncated ?? false) || this.bodyCut;
      if (c?.truncated) this.anomaly('http.body_truncated');
      if (this.dir === 'c2s') this.emitRequest(body, this.bodyLength, truncated);
      else this.emitResponse(body, this.bodyLength, truncated);
    }
    this.collector = undefined;
    this.decoder = undefined;
    this.bodyEntry = undefined;
    this.sse = undefined;
    this.headers = [];
    if (this.mode === 'dead' || this.mode === 'ended') return;
    if (this.afterBody === 'upgrade_wait') this.enterUpgradeWait();
    else this.mode = 'start';
  }

  // ---- gaps and resync ----

  private gap(n: number): void {
    switch (this.mode) {
      case 'start':
      case 'resync':
        this.startResync(this.mode === 'resync' ? this.resyncReason : 'gap', true, this.mode === 'resync');
        return;
      case 'head':
        this.head.reset();
        this.startResync('gap', true);
        return;
      case 'body':
        this.anomaly('http.body_gap');
        this.bodyCut = true;
        this.decoder?.abandon();
        this.sse?.gap();
        if (this.framing === 'length') {
          if (n < this.remaining) {
            this.remaining -= n;
            this.bodyLength += n;
            return;
          }
          const over = n - this.remaining;
          this.bodyLength += this.remaining;
          this.remaining = 0;
          this.completeMessage(false);
          if (over > 0 && (this.mode as Mode) === 'start') this.startResync('gap', true);
          return;
        }
        if (this.framing === 'close') {
          this.bodyLength += n;
          return;
        }
        // Chunk framing is lost.
        this.completeMessage(false);
        if ((this.mode as Mode) === 'start') this.startResync('gap', true);
        return;
      case 'upgrade_wait':
        this.bufferWhileWaiting(new Uint8Array(0), n);
        return;
      case 'ws':
        this.anomaly('ws.gap');
        this.mode = 'dead';
        return;
      default:
        return;
    }
  }

  private startResync(reason: 'gap' | 'bad', atLineStart: boolean, keepBudget = false): void {
    this.mode = 'resync';
    this.resyncReason = reason;
    if (!keepBudget) this.resyncUsed = 0;
    this.atLineStart = atLineStart;
    this.prefixLen = 0;
  }

  private feedResync(data: Uint8Array, pos: number, end: number): number {
    const max = this.session.ctx.limits.httpResyncMaxBytes;
    while (pos < end) {
      if (this.atLineStart) {
        const b = data[pos]!;
        pos++;
        this.resyncUsed++;
        if (b === LF) {
          this.prefixLen = 0;
        } else {
          if (this.prefixLen === 0) {
            this.prefixFrame = this.frame;
            this.prefixTs = this.ts;
          }
          this.prefix[this.prefixLen++] = b;
          if (startsHttp(this.prefix, 0, this.prefixLen, this.dir)) {
            this.beginHead(this.prefixFrame, this.prefixTs);
            this.head.feed(this.prefix, 0, this.prefixLen);
            return pos;
          }
          if (!couldStartHttp(this.prefix, 0, this.prefixLen, this.dir)) {
            this.atLineStart = false;
            this.prefixLen = 0;
          }
        }
      } else {
        const lf = data.indexOf(LF, pos);
        const stop = lf < 0 || lf >= end ? end : lf + 1;
        this.resyncUsed += stop - pos;
        pos = stop;
        if (lf >= 0 && lf < end) this.atLineStart = true;
      }
      if (this.resyncUsed > max) {
        this.anomaly(this.resyncReason === 'gap' ? 'http.gap_unrecoverable' : 'http.resync_failed');
        this.mode = 'dead';
        return end;
      }
    }
    return pos;
  }

  // ---- upgrades ----

  private enterUpgradeWait(): void {
    const d = this.pendingDecision;
    if (d) {
      this.pendingDecision = undefined;
      this.apply(d);
      return;
    }
    this.mode = 'upgrade_wait';
    this.waitSegments = [];
    this.waitBytes = 0;
  }

  private bufferWhileWaiting(data: Uint8Array, gapBefore: number): void {
    if (data.length === 0 && gapBefore === 0) return;
    this.waitBytes += data.length;
    if (this.waitBytes > this.session.ctx.limits.httpMaxHeaderBytes) {
      this.anomaly('http.upgrade_wait_overflow');
      this.waitSegments = [];
      this.mode = 'dead';
      return;
    }
    this.waitSegments.push({ data: data.slice(), gapBefore, frame: this.frame, ts: this.ts });
  }

  /** The server answered an Upgrade/CONNECT request (called on the client direction). */
  decide(d: Decision): void {
    if (this.mode === 'upgrade_wait') {
      this.apply(d);
      return;
    }
    if (this.mode === 'head' || this.mode === 'body') {
      // The request is still being read (the answer was fed first): apply when it completes.
      this.pendingDecision = d;
      return;
    }
    if (this.mode === 'start' || this.mode === 'resync') this.apply(d);
  }

  private apply(d: Decision): void {
    if (d.kind === 'ws') this.startWebSocket(d.deflate, d.request);
    else if (d.kind === 'tunnel') this.mode = 'tunnel';
    else this.mode = 'start';
    const segments = this.waitSegments;
    this.waitSegments = [];
    this.waitBytes = 0;
    const frame = this.frame;
    const ts = this.ts;
    for (const s of segments) this.feed(s.data, s.gapBefore, s.frame, s.ts);
    this.frame = frame;
    this.ts = ts;
  }

  private startWebSocket(deflate: boolean, request: RequestRef | undefined): void {
    const limits = this.session.ctx.limits;
    const assembler = new WsMessageAssembler(
      {
        text: (text, frame, ts) => {
          const msg: WsText = {
            kind: 'ws.text',
            flow: this.session.flow!,
            dir: this.dir,
            frame,
            ts,
            text,
          };
          if (request) msg.request = request;
          this.session.sink(msg);
        },
        problem: (name, frame) => this.anomaly(name, undefined, frame),
      },
      limits.wsMaxMessageBytes,
      deflate,
    );
    this.ws = new WsFrameParser(assembler);
    this.mode = 'ws';
  }

  // ---- output ----

  private emitRequest(body: Uint8Array, bodyLength: number, truncated: boolean): void {
    const rl = this.requestLine!;
    const msg: HttpRequest = {
      kind: 'http.request',
      flow: this.session.flow!,
      dir: this.dir,
      frame: this.headFrame,
      ts: this.headTs,
      method: rl.method,
      target: rl.target,
      version: rl.version,
      headers: this.headers,
      body,
      bodyLength,
      bodyTruncated: truncated,
    };
    this.session.sink(msg);
  }

  private emitResponse(body: Uint8Array, bodyLength: number, truncated: boolean): void {
    const sl = this.statusLine!;
    const msg: HttpResponse = {
      kind: 'http.response',
      flow: this.session.flow!,
      dir: this.dir,
      frame: this.headFrame,
      ts: this.headTs,
      status: sl.status,
      reason: sl.reason,
      version: sl.version,
      headers: this.headers,
      body,
      bodyLength,
      bodyTruncated: truncated,
    };
    if (this.pairedRequest) msg.request = this.pairedRequest;
    this.session.sink(msg);
  }

  anomaly(name: HttpAnomalyName, detail?: string, frame?: number): void {
    const f = frame ?? this.frame;
    const session = this.session;
    session.ctx.anomalies.add(name, () => {
      const loc: { file: string; frame: number; flow: string; detail?: string } = {
        file: session.ctx.file,
        frame: f,
        flow: session.flowName(),
      };
      if (detail !== undefined) loc.detail = detail;
      return loc;
    });
  }
}

/** Host of an absolute-form (`http://h:p/x`) or authority-form (CONNECT `h:p`) target. */
function hostOfTarget(method: string, target: string): string | undefined {
  if (method === 'CONNECT') return target;
  const m = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/([^/?#]+)/.exec(target);
  if (!m) return undefined;
  const authority = m[1]!;
  const at = authority.lastIndexOf('@');
  return at >= 0 ? authority.slice(at + 1) : authority;
}

/**
 * HTTP/1.x parser for one TCP flow, both directions (c2s requests, s2c responses).
 * Emits HttpRequest (when its body is complete), HttpResponse (when its body is complete; at its head for
 * text/event-stream, 1xx and 101), SseEvent and WsText, in stream order per direction.
 */
export class HttpSession implements StreamParser {
  readonly pending: PendingRequest[] = [];
  flow: FlowRef | undefined;
  private readonly c2s: HttpDirection;
  private readonly s2c: HttpDirection;

  constructor(
    readonly sink: MessageSink,
    readonly ctx: ParserContext,
  ) {
    this.c2s = new HttpDirection(this, 'c2s');
    this.s2c = new HttpDirection(this, 's2c');
  }

  feed(chunk: StreamChunk): FeedStatus {
    this.flow = chunk.flow;
    const d = chunk.dir === 'c2s' ? this.c2s : this.s2c;
    try {
      return d.feed(chunk.data, chunk.gapBefore, chunk.frame, chunk.ts, chunk.skipped ?? 0);
    } catch (err) {
      if (this.ctx.strict) throw err;
      d.anomaly('http.internal_error', err instanceof Error ? err.message : String(err));
      d.mode = 'dead';
      return 'error';
    }
  }

  /** Bytes after the last chunk fed in `dir` that need not be delivered (the rest of a body only counted). */
  skippable(dir: Dir): number {
    return (dir === 'c2s' ? this.c2s : this.s2c).skippable();
  }

  end(dir: Dir): void {
    const d = dir === 'c2s' ? this.c2s : this.s2c;
    try {
      d.end();
    } catch (err) {
      if (this.ctx.strict) throw err;
      d.anomaly('http.internal_error', err instanceof Error ? err.message : String(err));
      d.mode = 'dead';
    }
  }

  /** @internal */
  pushPending(p: PendingRequest, from: HttpDirection): void {
    if (this.pending.length >= this.ctx.limits.httpMaxPendingRequests) {
      from.anomaly('http.too_many_pending');
      this.pending.shift();
    }
    this.pending.push(p);
  }

  /** @internal The server side answered an Upgrade/CONNECT request. */
  decide(d: Decision): void {
    this.c2s.decide(d);
  }

  /** @internal */
  flowName(): string {
    const f = this.flow;
    if (!f) return '';
    return `${f.id} ${f.client.ip}:${f.client.port}-${f.server.ip}:${f.server.port}`;
  }
}
