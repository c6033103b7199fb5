// `decode` lines written as UTF-8 bytes straight into an output buffer: the same bytes as messageToJsonLine, without
// building a string per line, joining lines and encoding the join again at the write. Measured on the bench capture:
// `decode` 4–6% faster (README "Performance"). JSON values (JSON-RPC params and results, DNS questions …) and ASCII
// strings and bodies are written by hand too: JSON.stringify made a string that the write then copied flat and
// encoded again, 70 of the 250 MB `decode` allocated on the 1 GB bench capture.
import type { FlowRef } from '../flows/types.js';
import type { HttpExchange } from '../protocols/jsonrpc/parse.js';
import type { Headers, Message } from '../protocols/messages.js';
import { BODY_PREVIEW_BYTES, bodyText, isoSecondPrefix } from './messages.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
/** Strings up to this length are written by hand (when ASCII); longer ones go through JSON.stringify. */
const HAND_STRING = 16384;
/** Objects and arrays nested deeper than this go through JSON.stringify (the writer recurses). */
const HAND_DEPTH = 64;
const HEX = Array.from('0123456789abcdef', (c) => c.charCodeAt(0));
/** 1 for the ASCII characters JSON writes as they are (printable, not " or \\): the loops' one test per character. */
const PLAIN = Uint8Array.from({ length: 128 }, (_, c) => (c >= 0x20 && c !== QUOTE && c !== BACKSLASH ? 1 : 0));
/** From this length on, strings are checked and copied natively (below it, the call costs more than a loop). */
const NATIVE_STRING = 16;
const NEEDS_ESCAPE_OR_NON_ASCII = /[^\x20\x21\x23-\x5b\x5d-\x7f]/;

/**
 * One ASCII character (< 0x80) at buf[p] as JSON.stringify escapes it; returns the next position. Needs 6 bytes.
 */
function asciiEscaped(buf: Uint8Array, p: number, c: number): number {
  if (c >= 0x20) {
    if (c === QUOTE || c === BACKSLASH) buf[p++] = BACKSLASH;
    buf[p++] = c;
    return p;
  }
  buf[p++] = BACKSLASH;
  switch (c) {
    case 0x08: buf[p++] = 0x62; return p; // b
    case 0x09: buf[p++] = 0x74; return p; // t
    case 0x0a: buf[p++] = 0x6e; return p; // n
    case 0x0c: buf[p++] = 0x66; return p; // f
    case 0x0d: buf[p++] = 0x72; return p; // r
  }
  buf[p++] = 0x75; // u00XX
  buf[p++] = 0x30;
  buf[p++] = 0x30;
  buf[p++] = HEX[c >> 4]!;
  buf[p++] = HEX[c & 15]!;
  return p;
}

/** An ASCII string as bytes (keys, punctuation, formatted numbers). */
function ascii(s: string): Uint8Array {
  return Buffer.from(s, 'latin1');
}

// `,"key":` prefixes, made once.
const keys = new Map<string, Uint8Array>();
function key(k: string): Uint8Array {
  let b = keys.get(k);
  if (b === undefined) {
    b = ascii(`,"${k}":`);
    keys.set(k, b);
  }
  return b;
}

const K = {
  method: key('method'), target: key('target'), version: key('version'), headers: key('headers'),
  bodyLength: key('bodyLength'), body: key('body'), status: key('status'),
  reason: key('reason'), request: key('request'), index: key('index'), event: key('event'), data: key('data'),
  id: key('id'), retry: key('retry'), text: key('text'), transport: key('transport'), response: key('response'),
  rcode: key('rcode'), questions: key('questions'), answers: key('answers'), supportedVersions: key('supportedVersions'),
  sni: key('sni'), alpn: key('alpn'), carrier: key('carrier'), batchIndex: key('batchIndex'), type: key('type'),
  params: key('params'), result: key('result'), error: key('error'), http: key('http'),
};
const TRUNCATED = ascii(',"bodyTruncated":true');
const NULL = ascii('null');
const TRUE = ascii('true');
const FALSE = ascii('false');
const OPEN_PAIR = ascii('[');
const NEXT_PAIR = ascii(',[');
const EXCHANGE_METHOD = ascii('{"method":');
const EXCHANGE_TARGET = ascii(',"target":');
const EXCHANGE_HOST = ascii(',"host":');

/** A flow's part of every line, as bytes; built once per flow (a WeakMap, so it goes when the flow does). */
const flowBytes = new WeakMap<FlowRef, Uint8Array>();

/**
 * Writes `decode` lines into a buffer and hands full buffers to `sink` (each buffer is new: the sink may keep it).
 * Byte-identical to messageToJsonLine plus '\n' (tests check it on every fixture).
 */
export class MessageLineWriter {
  private buf: Buffer;
  private pos = 0;
  private readonly lineStart: Uint8Array;
  // `,"dir":"c2s","kind":"…"` per direction and kind, made on first use.
  private readonly dirKind = { c2s: new Map<string, Uint8Array>(), s2c: new Map<string, Uint8Array>() };
  // Messages of one flow tend to come in runs: the last flow's bytes without a WeakMap lookup.
  private lastFlow: FlowRef | null = null;
  private lastFlowBytes: Uint8Array = new Uint8Array(0);
  private second = Number.NaN;
  private secondBytes: Uint8Array = new Uint8Array(0);

  constructor(
    file: string,
    private readonly sink: (bytes: Uint8Array) => void,
    private readonly size = 1 << 18,
  ) {
    this.buf = Buffer.allocUnsafe(size);
    this.lineStart = Buffer.from(`{"file":${JSON.stringify(file)},"frame":`, 'utf8'); // any file name: UTF-8
  }

  /** Hand what is buffered to the sink. */
  flush(): void {
    if (this.pos === 0) return;
    const out = this.buf.subarray(0, this.pos);
    this.buf = Buffer.allocUnsafe(this.size);
    this.pos = 0;
    this.sink(out);
  }

  write(msg: Message): void {
    this.bytes(this.lineStart);
    this.num(msg.frame);
    this.time(msg.ts);
    this.bytes(this.flow(msg.flow));
    const kinds = this.dirKind[msg.dir];
    let dk = kinds.get(msg.kind);
    if (dk === undefined) {
      dk = ascii(`,"dir":"${msg.dir}","kind":"${msg.kind}"`);
      kinds.set(msg.kind, dk);
    }
    this.bytes(dk);
    if (msg.flow.vlan.length) this.field(key('vlan'), msg.flow.vlan);
    switch (msg.kind) {
      case 'http.request':
        this.str(K.method, msg.method);
        this.str(K.target, msg.target);
        this.str(K.version, msg.version);
        this.headers(K.headers, msg.headers);
        this.body(msg.bodyLength, msg.bodyTruncated, msg.body);
        break;
      case 'http.response':
        this.field(K.status, msg.status);
        this.str(K.reason, msg.reason);
        this.str(K.version, msg.version);
        this.headers(K.headers, msg.headers);
        this.exchange(K.request, msg.request);
        this.body(msg.bodyLength, msg.bodyTruncated, msg.body);
        break;
      case 'sse.event':
        this.field(K.index, msg.index);
        this.str(K.event, msg.event);
        this.str(K.data, msg.data);
        this.field(K.id, msg.id);
        this.field(K.retry, msg.retry);
        this.exchange(K.request, msg.request);
        break;
      case 'ws.text':
        this.str(K.text, msg.text);
        this.exchange(K.request, msg.request);
        break;
      case 'dns':
        this.str(K.transport, msg.transport);
        this.field(K.id, msg.id);
        this.field(K.response, msg.response);
        this.str(K.rcode, msg.rcode);
        this.field(K.questions, msg.questions);
        this.field(K.answers, msg.answers);
        break;
      case 'tls.client_hello':
        this.field(K.version, msg.version);
        this.field(K.supportedVersions, msg.supportedVersions);
        this.field(K.sni, msg.sni);
        this.field(K.alpn, msg.alpn);
        break;
      case 'jsonrpc':
        this.str(K.carrier, msg.carrier);
        this.field(K.batchIndex, msg.batchIndex);
        this.str(K.type, msg.type);
        this.field(K.id, msg.id);
        this.field(K.method, msg.method);
        this.field(K.params, msg.params);
        this.field(K.result, msg.result);
        this.field(K.error, msg.error);
        this.exchange(K.http, msg.http);
        break;
    }
    this.room(2);
    this.buf[this.pos++] = 0x7d; // }
    this.buf[this.pos++] = 0x0a; // \n
  }

  /** `,"bodyLength":…`, `,"bodyTruncated":true` when it was, `,"body":"…"` when there is one. */
  private body(length: number, truncated: boolean, body: Uint8Array): void {
    this.field(K.bodyLength, length);
    if (truncated) this.bytes(TRUNCATED);
    if (body.length === 0) return;
    this.bytes(K.body);
    // bodyText(body) as a JSON string. ASCII decodes to itself: escaped straight from the bytes, no string made.
    const n = Math.min(body.length, BODY_PREVIEW_BYTES);
    this.room(n * 6 + 2);
    const buf = this.buf;
    const start = this.pos;
    let p = start;
    buf[p++] = QUOTE;
    for (let i = 0; i < n; i++) {
      const c = body[i]!;
      if (c < 0x80 && PLAIN[c] === 1) buf[p++] = c;
      else if (c < 0x80) p = asciiEscaped(buf, p, c);
      else {
        this.pos = start;
        return this.string(bodyText(body));
      }
    }
    buf[p++] = QUOTE;
    this.pos = p;
  }

  /** Make room for `n` more bytes (a line longer than the buffer gets a buffer of its own). */
  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.flush();
    if (n > this.buf.length) this.buf = Buffer.allocUnsafe(n);
  }

  private bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** A number as JSON writes it; whole non-negative numbers digit by digit. */
  private num(n: number): void {
    if (Number.isSafeInteger(n) && n >= 0) {
      this.room(16);
      const buf = this.buf;
      let digits = 1;
      for (let x = n; x >= 10; x = Math.floor(x / 10)) digits++;
      let p = this.pos + digits;
      this.pos = p;
      let x = n;
      do {
        const q = Math.floor(x / 10);
        buf[--p] = 0x30 + (x - q * 10);
        x = q;
      } while (x > 0);
      return;
    }
    this.utf8(Number.isFinite(n) ? String(n) : 'null');
  }

  /** `,"ts":"2025-11-24T16:00:00.000028Z"`. */
  private time(ts: number): void {
    const us = Math.round(ts * 1e6); // as isoTime: whole microseconds first, so rounding carries
    const second = Math.floor(us / 1e6);
    const micros = us - second * 1e6;
    if (second !== this.second) {
      this.secondBytes = ascii(`,"ts":"${isoSecondPrefix(second)}`);
      this.second = second;
    }
    this.bytes(this.secondBytes);
    this.room(8);
    const buf = this.buf;
    let p = this.pos + 6;
    this.pos = p;
    let x = micros;
    for (let i = 0; i < 6; i++) {
      const q = Math.floor(x / 10);
      buf[--p] = 0x30 + (x - q * 10);
      x = q;
    }
    buf[this.pos++] = 0x5a; // Z
    buf[this.pos++] = QUOTE;
  }

  private flow(f: FlowRef): Uint8Array {
    if (f === this.lastFlow) return this.lastFlowBytes;
    let b = flowBytes.get(f);
    if (b === undefined) {
      b = Buffer.from(`,"flow":${f.id},"proto":${JSON.stringify(f.proto)},"client":${JSON.stringify(`${f.client.ip}:${f.client.port}`)},"server":${JSON.stringify(`${f.server.ip}:${f.server.port}`)}`, 'utf8');
      flowBytes.set(f, b);
    }
    this.lastFlow = f;
    this.lastFlowBytes = b;
    return b;
  }

  /** `,"headers":[["name","value"],…]`: by hand, as JSON.stringify writes it (one call per message saved). */
  private headers(k: Uint8Array, headers: Headers): void {
    this.bytes(k);
    this.byte(0x5b); // [
    for (let i = 0; i < headers.length; i++) {
      const h = headers[i]!;
      this.bytes(i === 0 ? OPEN_PAIR : NEXT_PAIR);
      this.string(h[0]);
      this.byte(0x2c); // ,
      this.string(h[1]);
      this.byte(0x5d); // ]
    }
    this.byte(0x5d);
  }

  /** `,"request":{"method":…,"target":…,"host":…}`: the HTTP exchange, keys in the order every producer sets them. */
  private exchange(k: Uint8Array, x: HttpExchange | undefined): void {
    if (x === undefined) return;
    this.bytes(k);
    this.bytes(EXCHANGE_METHOD);
    this.string(x.method);
    this.bytes(EXCHANGE_TARGET);
    this.string(x.target);
    if (x.host !== undefined) {
      this.bytes(EXCHANGE_HOST);
      this.string(x.host);
    }
    this.byte(0x7d); // }
  }

  private byte(b: number): void {
    this.room(1);
    this.buf[this.pos++] = b;
  }

  /** `,"key":value` as JSON.stringify would put it inside an object (nothing when the value is left out). */
  private field(k: Uint8Array, v: unknown): void {
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') return;
    this.bytes(k);
    this.value(v, 0);
  }

  /**
   * A value as JSON.stringify writes it: by hand for what JSON.parse makes (plain objects, arrays, strings, numbers,
   * booleans, null); anything else (a Date, a Map, a toJSON, a BigInt, very deep nesting) through JSON.stringify.
   */
  private value(v: unknown, depth: number): void {
    switch (typeof v) {
      case 'string':
        return this.string(v);
      case 'number':
        return this.num(v);
      case 'boolean':
        return this.bytes(v ? TRUE : FALSE);
      case 'object': {
        if (v === null) return this.bytes(NULL);
        if (depth >= HAND_DEPTH) break;
        if (Array.isArray(v)) return this.array(v, depth + 1);
        const proto = Object.getPrototypeOf(v) as unknown;
        if ((proto === Object.prototype || proto === null) && typeof (v as { toJSON?: unknown }).toJSON !== 'function') {
          return this.object(v as Record<string, unknown>, depth + 1);
        }
        break;
      }
    }
    this.utf8(JSON.stringify(v) ?? 'null'); // only a toJSON that returns undefined gives none: no message has one
  }

  private array(a: readonly unknown[], depth: number): void {
    this.byte(0x5b); // [
    for (let i = 0; i < a.length; i++) {
      if (i > 0) this.byte(0x2c); // ,
      const x = a[i];
      if (x === undefined || typeof x === 'function' || typeof x === 'symbol') this.bytes(NULL);
      else this.value(x, depth);
    }
    this.byte(0x5d); // ]
  }

  private object(o: Record<string, unknown>, depth: number): void {
    this.byte(0x7b); // {
    let first = true;
    for (const k of Object.keys(o)) {
      const x = o[k];
      if (x === undefined || typeof x === 'function' || typeof x === 'symbol') continue;
      if (!first) this.byte(0x2c); // ,
      first = false;
      this.string(k);
      this.byte(0x3a); // :
      this.value(x, depth);
    }
    this.byte(0x7d); // }
  }

  /** `,"key":"…"`. */
  private str(k: Uint8Array, s: string): void {
    this.bytes(k);
    this.string(s);
  }

  /** A JSON string: ASCII ones escaped by hand; the rest (and very long ones) through JSON.stringify. */
  private string(s: string): void {
    const n = s.length;
    if (n >= NATIVE_STRING && n <= HAND_STRING && !NEEDS_ESCAPE_OR_NON_ASCII.test(s)) {
      // Printable ASCII without " or \: nothing to escape, and the characters are their bytes. A regular expression
      // and Buffer#write run natively, 4x faster than the character loop below on long strings.
      this.room(n + 2);
      const buf = this.buf;
      buf[this.pos++] = QUOTE;
      this.pos += buf.write(s, this.pos, 'latin1');
      buf[this.pos++] = QUOTE;
      return;
    }
    if (n <= HAND_STRING) {
      this.room(n * 6 + 2);
      const buf = this.buf;
      let p = this.pos;
      buf[p++] = QUOTE;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c < 0x80 && PLAIN[c] === 1) buf[p++] = c;
        else if (c < 0x80) p = asciiEscaped(buf, p, c);
        else break;
      }
      if (i === n) {
        buf[p++] = QUOTE;
        this.pos = p;
        return;
      }
    }
    this.utf8(JSON.stringify(s));
  }

  private utf8(s: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    this.room(s.length * 3);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }
}
