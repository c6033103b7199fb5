// TLS ClientHello: SNI, ALPN and supported_versions (RFC 8446 §4.1.2, RFC 6066 §3, RFC 7301).
// The hello may span several TLS records and TCP segments; it is reassembled up to
// LIMITS.tlsMaxHelloBytes. Nothing after the ClientHello is inspected.
import type { ParserContext } from '../context.js';
import type { MessageSink, TlsClientHello } from '../messages.js';
import type { Dir, FlowRef, StreamChunk } from '../../flows/types.js';

const RECORD_HEADER = 5;
const HANDSHAKE_HEADER = 4;
const CONTENT_HANDSHAKE = 22;
const HS_CLIENT_HELLO = 1;
/** Largest TLSCiphertext fragment (2^14 + 2048); a plaintext handshake record is smaller. */
const MAX_RECORD = 16384 + 2048;

const EXT_SERVER_NAME = 0;
const EXT_ALPN = 16;
const EXT_SUPPORTED_VERSIONS = 43;

export interface ClientHelloFields {
  version: number;
  supportedVersions: number[];
  sni?: string;
  alpn: string[];
}

export type ClientHelloResult =
  | { ok: true; hello: ClientHelloFields; duplicateExtensions: boolean }
  | { ok: false; reason: string };

/** GREASE values (RFC 8701) are 0x?a?a with both bytes equal. */
function isGrease(v: number): boolean {
  return (v & 0x0f0f) === 0x0a0a && v >> 8 === (v & 0xff);
}

/** Does a TCP direction start like a TLS record: handshake, version 3.0 to 3.4? */
export function isTlsStart(data: Uint8Array): boolean {
  return data.length >= 3 && data[0] === CONTENT_HANDSHAKE && data[1] === 3 && data[2]! <= 4;
}

/**
 * Parse one ClientHello handshake body (after the 4-byte handshake header). Pure: reads the
 * view, copies out only the strings it returns.
 */
export function parseClientHello(body: Uint8Array): ClientHelloResult {
  const end = body.length;
  let p = 0;
  if (end < 2 + 32 + 1) return { ok: false, reason: 'short' };
  const version = (body[0]! << 8) | body[1]!;
  p = 2 + 32;
  const sidLen = body[p++]!;
  if (sidLen > 32 || p + sidLen > end) return { ok: false, reason: 'session_id' };
  p += sidLen;
  if (p + 2 > end) return { ok: false, reason: 'cipher_suites' };
  const csLen = (body[p]! << 8) | body[p + 1]!;
  p += 2;
  if (csLen % 2 !== 0 || p + csLen > end) return { ok: false, reason: 'cipher_suites' };
  p += csLen;
  if (p + 1 > end) return { ok: false, reason: 'compression' };
  const compLen = body[p++]!;
  if (p + compLen > end) return { ok: false, reason: 'compression' };
  p += compLen;

  const hello: ClientHelloFields = { version, supportedVersions: [], alpn: [] };
  let duplicateExtensions = false;
  if (p === end) return { ok: true, hello, duplicateExtensions }; // no extensions (old clients)
  if (p + 2 > end) return { ok: false, reason: 'extensions' };
  const extLen = (body[p]! << 8) | body[p + 1]!;
  p += 2;
  if (p + extLen > end) return { ok: false, reason: 'extensions' };
  const extEnd = p + extLen;
  let sawSni = false;
  let sawAlpn = false;
  let sawVersions = false;
  while (p < extEnd) {
    if (p + 4 > extEnd) return { ok: false, reason: 'extension_header' };
    const type = (body[p]! << 8) | body[p + 1]!;
    const len = (body[p + 2]! << 8) | body[p + 3]!;
    p += 4;
    if (p + len > extEnd) return { ok: false, reason: 'extension_length' };
    const e = body.subarray(p, p + len);
    p += len;
    if (type === EXT_SERVER_NAME) {
      if (sawSni) {
        duplicateExtensions = true;
        continue;
      }
      sawSni = true;
      const sni = readServerName(e);
      if (sni === null) return { ok: false, reason: 'server_name' };
      if (sni !== undefined) hello.sni = sni;
    } else if (type === EXT_ALPN) {
      if (sawAlpn) {
        duplicateExtensions = true;
        continue;
      }
      sawAlpn = true;
      if (!readAlpn(e, hello.alpn)) return { ok: false, reason: 'alpn' };
    } else if (type === EXT_SUPPORTED_VERSIONS) {
      if (sawVersions) {
        duplicateExtensions = true;
        continue;
      }
      sawVersions = true;
      if (!readVersions(e, hello.supportedVersions)) return { ok: false, reason: 'supported_versions' };
    }
  }
  return { ok: true, hello, duplicateExtensions };
}

/** server_name_list; returns the first host_name, undefined if none, null if malformed. */
function readServerName(e: Uint8Array): string | undefined | null {
  if (e.length === 0) return undefined; // allowed in a ServerHello; tolerate
  if (e.length < 2) return null;
  const listLen = (e[0]! << 8) | e[1]!;
  if (2 + listLen > e.length) return null;
  let p = 2;
  const end = 2 + listLen;
  let found: string | undefined;
  while (p < end) {
    if (p + 3 > end) return null;
    const nameType = e[p]!;
    const len = (e[p + 1]! << 8) | e[p + 2]!;
    p += 3;
    if (p + len > end) return null;
    if (nameType === 0 && found === undefined) found = text(e, p, p + len).toLowerCase();
    p += len;
  }
  return found;
}

function readAlpn(e: Uint8Array, out: string[]): boolean {
  if (e.length < 2) return false;
  const listLen = (e[0]! << 8) | e[1]!;
  if (2 + listLen > e.length) return false;
  let p = 2;
  const end = 2 + listLen;
  while (p < end) {
    const len = e[p++]!;
    if (len === 0 || p + len > end) return false;
    out.push(text(e, p, p + len));
    p += len;
  }
  return true;
}

function readVersions(e: Uint8Array, out: number[]): boolean {
  if (e.length < 1) return false;
  const len = e[0]!;
  if (len % 2 !== 0 || 1 + len > e.length) return false;
  for (let p = 1; p < 1 + len; p += 2) {
    const v = (e[p]! << 8) | e[p + 1]!;
    if (!isGrease(v)) out.push(v);
  }
  return true;
}

function text(b: Uint8Array, start: number, end: number): string {
  return Buffer.from(b.buffer, b.byteOffset + start, end - start).toString('utf8');
}

export type TlsFeedResult = 'incomplete' | 'done' | 'not-client-hello' | 'error';

/**
 * Incremental ClientHello reader for one direction: TLS records (handshake fragments) are
 * unwrapped and the handshake message reassembled. A hello inside one record of one chunk is
 * parsed from the chunk's view; otherwise it is copied into a buffer of its announced size.
 */
export class TlsHelloParser {
  private state: TlsFeedResult = 'incomplete';
  private readonly recHdr = new Uint8Array(RECORD_HEADER);
  private recHdrHave = 0;
  private recRemain = 0;
  private readonly hsHdr = new Uint8Array(HANDSHAKE_HEADER);
  private hsHdrHave = 0;
  private hsLen = 0;
  private hsBody: Uint8Array | null = null;
  private hsHave = 0;
  private started = false;
  private frame = 0;
  private ts = 0;

  constructor(
    private readonly flow: FlowRef,
    private readonly dir: Dir,
    private readonly sink: MessageSink,
    private readonly ctx: ParserContext,
  ) {}

  get result(): TlsFeedResult {
    return this.state;
  }

  feed(chunk: StreamChunk): TlsFeedResult {
    if (this.state !== 'incomplete') return this.state;
    if (!this.started) {
      this.started = true;
      this.frame = chunk.frame;
      this.ts = chunk.ts;
    } else if (chunk.gapBefore > 0) {
      return this.fail('tls.hello_gap', chunk.frame);
    }
    const d = chunk.data;
    let p = 0;
    while (p < d.length && this.state === 'incomplete') {
      if (this.recRemain === 0) {
        let hdr: Uint8Array;
        if (this.recHdrHave === 0 && d.length - p >= RECORD_HEADER) {
          hdr = d.subarray(p, p + RECORD_HEADER);
          p += RECORD_HEADER;
        } else {
          const take = Math.min(RECORD_HEADER - this.recHdrHave, d.length - p);
          this.recHdr.set(d.subarray(p, p + take), this.recHdrHave);
          this.recHdrHave += take;
          p += take;
          if (this.recHdrHave < RECORD_HEADER) break;
          hdr = this.recHdr;
        }
        this.recHdrHave = 0;
        const len = (hdr[3]! << 8) | hdr[4]!;
        if (hdr[0] !== CONTENT_HANDSHAKE || hdr[1] !== 3) return this.fail('tls.unexpected_record', chunk.frame);
        if (len === 0 || len > MAX_RECORD) return this.fail('tls.bad_record_length', chunk.frame);
        this.recRemain = len;
        continue;
      }
      const take = Math.min(this.recRemain, d.length - p);
      const frag = d.subarray(p, p + take);
      p += take;
      this.recRemain -= take;
      this.handshakeBytes(frag, chunk.frame);
    }
    return this.state;
  }

  /** The direction ended before the hello was complete. */
  end(): void {
    if (this.state === 'incomplete' && this.started) this.fail('tls.hello_incomplete', this.frame);
  }

  private handshakeBytes(frag: Uint8Array, frame: number): void {
    let q = 0;
    if (this.hsHdrHave < HANDSHAKE_HEADER) {
      // Fast path: the whole handshake message is inside this fragment.
      if (this.hsHdrHave === 0 && frag.length >= HANDSHAKE_HEADER) {
        const len = (frag[1]! << 16) | (frag[2]! << 8) | frag[3]!;
        if (frag[0] === HS_CLIENT_HELLO && len <= this.ctx.limits.tlsMaxHelloBytes && frag.length >= HANDSHAKE_HEADER + len) {
          this.finish(frag.subarray(HANDSHAKE_HEADER, HANDSHAKE_HEADER + len), frame);
          return;
        }
      }
      const take = Math.min(HANDSHAKE_HEADER - this.hsHdrHave, frag.length);
      this.hsHdr.set(frag.subarray(0, take), this.hsHdrHave);
      this.hsHdrHave += take;
      q = take;
      if (this.hsHdrHave < HANDSHAKE_HEADER) return;
      if (this.hsHdr[0] !== HS_CLIENT_HELLO) {
        this.state = 'not-client-hello';
        return;
      }
      this.hsLen = (this.hsHdr[1]! << 16) | (this.hsHdr[2]! << 8) | this.hsHdr[3]!;
      if (this.hsLen > this.ctx.limits.tlsMaxHelloBytes) {
        this.fail('tls.hello_too_large', frame);
        return;
      }
      this.hsBody = new Uint8Array(this.hsLen);
      this.hsHave = 0;
    }
    const take = Math.min(this.hsLen - this.hsHave, frag.length - q);
    this.hsBody!.set(frag.subarray(q, q + take), this.hsHave);
    this.hsHave += take;
    if (this.hsHave === this.hsLen) {
      const body = this.hsBody!;
      this.hsBody = null;
      this.finish(body, frame);
    }
  }

  private finish(body: Uint8Array, frame: number): void {
    const r = parseClientHello(body);
    if (!r.ok) {
      this.ctx.anomalies.add('tls.hello_malformed', {
        file: this.ctx.file, frame, flow: String(this.flow.id), detail: r.reason,
      });
      this.state = 'error';
      return;
    }
    if (r.duplicateExtensions) {
      this.ctx.anomalies.add('tls.duplicate_extension', { file: this.ctx.file, frame, flow: String(this.flow.id) });
    }
    const msg: TlsClientHello = {
      kind: 'tls.client_hello',
      flow: this.flow,
      dir: this.dir,
      frame: this.frame,
      ts: this.ts,
      version: r.hello.version,
      supportedVersions: r.hello.supportedVersions,
      alpn: r.hello.alpn,
    };
    if (r.hello.sni !== undefined) msg.sni = r.hello.sni;
    this.state = 'done';
    this.sink(msg);
  }

  private fail(name: string, frame: number): TlsFeedResult {
    this.ctx.anomalies.add(name, { file: this.ctx.file, frame, flow: String(this.flow.id) });
    this.state = 'error';
    this.hsBody = null;
    return this.state;
  }
}
