// Builders for DecodedPacket objects (TCP segments, UDP datagrams) and a recorder of FlowEvents, for flow tests.
import { L4, TcpFlag, newDecodedPacket, type DecodedPacket } from '../../src/decode/packet.js';
import type { Dir, FlowEndReason, FlowEvents, FlowRef } from '../../src/flows/types.js';

export { TcpFlag };
export const { FIN, SYN, RST, PSH, ACK } = TcpFlag;

/** Address text → bytes: dotted IPv4 or IPv6 (with `::`). */
export function ipBytes(text: string): Uint8Array {
  if (text.includes(':')) {
    const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
    const h = head ? head.split(':') : [];
    const t = tail ? tail.split(':') : [];
    const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
    const b = new Uint8Array(16);
    groups.forEach((g, i) => {
      const v = parseInt(g, 16);
      b[i * 2] = v >> 8;
      b[i * 2 + 1] = v & 0xff;
    });
    return b;
  }
  return Uint8Array.from(text.split('.').map(Number));
}

export function bytes(data: string | Uint8Array | number[] | undefined): Uint8Array {
  if (data === undefined) return new Uint8Array(0);
  if (typeof data === 'string') return new TextEncoder().encode(data);
  return data instanceof Uint8Array ? data : Uint8Array.from(data);
}

export interface SegmentSpec {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  seq?: number;
  ack?: number;
  flags?: number;
  data?: string | Uint8Array | number[];
  frame?: number;
  ts?: number;
  vlan?: number[];
  fragment?: boolean;
  truncated?: boolean;
}

function base(s: SegmentSpec, l4: L4, proto: number): DecodedPacket {
  const p = newDecodedPacket();
  const src = ipBytes(s.src);
  const dst = ipBytes(s.dst);
  // Put the payload inside a larger "frame" buffer, as the decoder does, so views are views.
  const payload = bytes(s.data);
  const frameBuf = new Uint8Array(payload.length + 54);
  frameBuf.set(payload, 54);
  p.frame = s.frame ?? 1;
  p.ts = s.ts ?? 0;
  p.linkType = 1;
  p.vlan = s.vlan ?? [];
  p.ipVersion = src.length === 16 ? 6 : 4;
  // Into the packet's address store, as the decoder does (the flow table reads its 32-bit words).
  p.src = p.ipVersion === 6 ? p.addrStore.src6 : p.addrStore.src4;
  p.dst = p.ipVersion === 6 ? p.addrStore.dst6 : p.addrStore.dst4;
  p.src.set(src);
  p.dst.set(dst);
  p.ipProto = proto;
  p.fragment = s.fragment ?? false;
  p.l4 = l4;
  p.srcPort = s.sport;
  p.dstPort = s.dport;
  p.payload = frameBuf.subarray(54);
  p.truncated = s.truncated ?? false;
  return p;
}

export function tcpPacket(s: SegmentSpec): DecodedPacket {
  const p = base(s, L4.Tcp, 6);
  p.seq = (s.seq ?? 0) >>> 0;
  p.ack = (s.ack ?? 0) >>> 0;
  p.tcpFlags = s.flags ?? ACK;
  p.window = 65535;
  return p;
}

export function udpPacket(s: SegmentSpec): DecodedPacket {
  return base(s, L4.Udp, 17);
}

/** One endpoint as `ip:port` (IPv6 as `[addr]:port`). */
function splitEndpoint(ep: string): { ip: string; port: number } {
  const m = /^\[(.*)\]:(\d+)$/.exec(ep) ?? /^(.*):(\d+)$/.exec(ep);
  if (!m) throw new Error(`bad endpoint ${ep}`);
  return { ip: m[1], port: Number(m[2]) };
}

/**
 * A TCP conversation that tracks sequence numbers for both sides, so tests read like a trace:
 * `c.handshake(); c.send('c2s', 'GET /'); c.fin('c2s')`. Every call returns the packets it made; frame
 * numbers and times count up from 1 (time step `tsStep` seconds).
 */
export class Conversation {
  readonly client: { ip: string; port: number };
  readonly server: { ip: string; port: number };
  /** Next sequence number each side will send. */
  next: Record<Dir, number>;
  frame = 0;
  ts: number;

  constructor(
    client = '10.0.0.1:40000',
    server = '10.0.0.2:443',
    readonly isn: Record<Dir, number> = { c2s: 1000, s2c: 5000 },
    readonly tsStep = 0.001,
    ts0 = 1_700_000_000,
  ) {
    this.client = splitEndpoint(client);
    this.server = splitEndpoint(server);
    this.next = { c2s: isn.c2s, s2c: isn.s2c };
    this.ts = ts0;
  }

  /** A raw segment in `dir` with explicit seq (no tracking). */
  segment(dir: Dir, seq: number, data?: string | Uint8Array | number[], flags: number = ACK | PSH, ack?: number): DecodedPacket {
    const [a, b] = dir === 'c2s' ? [this.client, this.server] : [this.server, this.client];
    this.frame++;
    this.ts += this.tsStep;
    return tcpPacket({
      src: a.ip, dst: b.ip, sport: a.port, dport: b.port, seq: seq >>> 0,
      ack: (ack ?? this.next[dir === 'c2s' ? 's2c' : 'c2s']) >>> 0,
      flags, data, frame: this.frame, ts: this.ts,
    });
  }

  handshake(): DecodedPacket[] {
    const syn = this.segment('c2s', this.next.c2s, undefined, SYN, 0);
    this.next.c2s = (this.next.c2s + 1) >>> 0;
    const synAck = this.segment('s2c', this.next.s2c, undefined, SYN | ACK, this.next.c2s);
    this.next.s2c = (this.next.s2c + 1) >>> 0;
    const ack = this.segment('c2s', this.next.c2s, undefined, ACK);
    return [syn, synAck, ack];
  }

  /** Data in `dir` at the tracked sequence number, advancing it. */
  send(dir: Dir, data: string | Uint8Array | number[], flags: number = ACK | PSH): DecodedPacket {
    const b = bytes(data);
    const p = this.segment(dir, this.next[dir], b, flags);
    this.next[dir] = (this.next[dir] + b.length) >>> 0;
    return p;
  }

  /** Split `data` into segments of at most `mss` bytes, advancing the sequence number. */
  sendSegments(dir: Dir, data: string | Uint8Array, mss: number): DecodedPacket[] {
    const b = bytes(data);
    const out: DecodedPacket[] = [];
    for (let i = 0; i < b.length; i += mss) out.push(this.send(dir, b.subarray(i, i + mss)));
    return out;
  }

  fin(dir: Dir, data?: string): DecodedPacket {
    const b = bytes(data);
    const p = this.segment(dir, this.next[dir], b, FIN | ACK);
    this.next[dir] = (this.next[dir] + b.length + 1) >>> 0;
    return p;
  }

  rst(dir: Dir): DecodedPacket {
    return this.segment(dir, this.next[dir], undefined, RST | ACK);
  }

  /** A bare ACK from `dir` acknowledging everything the other side has sent. */
  ack(dir: Dir): DecodedPacket {
    return this.segment(dir, this.next[dir], undefined, ACK);
  }
}

export interface RecordedChunk {
  flow: number;
  dir: Dir;
  offset: number;
  gapBefore: number;
  text: string;
  data: Uint8Array;
  frame: number;
  ts: number;
}

export type RecordedEvent =
  | { ev: 'start'; flow: FlowRef }
  | { ev: 'chunk'; chunk: RecordedChunk }
  | { ev: 'datagram'; flow: number; dir: Dir; text: string; frame: number }
  | { ev: 'streamEnd'; flow: number; dir: Dir; reason: FlowEndReason }
  | { ev: 'flowEnd'; flow: number; reason: FlowEndReason };

/** FlowEvents that copies everything it is given, for assertions. */
export class Recorder implements FlowEvents {
  readonly events: RecordedEvent[] = [];
  readonly flows: FlowRef[] = [];
  /** Hook to run inside onChunk (e.g. to call table.ignore()). */
  onChunkHook?: (c: RecordedChunk) => void;

  onFlowStart(flow: FlowRef): void {
    this.flows.push(flow);
    this.events.push({ ev: 'start', flow });
  }

  onChunk(c: { flow: FlowRef; dir: Dir; offset: number; data: Uint8Array; gapBefore: number; frame: number; ts: number }): void {
    const data = c.data.slice();
    const rc: RecordedChunk = {
      flow: c.flow.id, dir: c.dir, offset: c.offset, gapBefore: c.gapBefore,
      text: new TextDecoder().decode(data), data, frame: c.frame, ts: c.ts,
    };
    this.events.push({ ev: 'chunk', chunk: rc });
    this.onChunkHook?.(rc);
  }

  onStreamEnd(flow: FlowRef, dir: Dir, reason: FlowEndReason): void {
    this.events.push({ ev: 'streamEnd', flow: flow.id, dir, reason });
  }

  onDatagram(flow: FlowRef, dir: Dir, data: Uint8Array, frame: number): void {
    this.events.push({ ev: 'datagram', flow: flow.id, dir, text: new TextDecoder().decode(data), frame });
  }

  onFlowEnd(flow: FlowRef, reason: FlowEndReason): void {
    this.events.push({ ev: 'flowEnd', flow: flow.id, reason });
  }

  chunks(flow?: number, dir?: Dir): RecordedChunk[] {
    const out: RecordedChunk[] = [];
    for (const e of this.events) {
      if (e.ev !== 'chunk') continue;
      if (flow !== undefined && e.chunk.flow !== flow) continue;
      if (dir !== undefined && e.chunk.dir !== dir) continue;
      out.push(e.chunk);
    }
    return out;
  }

  /** The delivered stream as text, each gap shown as `[gap N]`. */
  stream(flow: number, dir: Dir): string {
    return this.chunks(flow, dir).map((c) => (c.gapBefore > 0 ? `[gap ${c.gapBefore}]` : '') + c.text).join('');
  }

  /** The delivered stream as bytes (gaps left out). */
  streamBytes(flow: number, dir: Dir): Uint8Array {
    const parts = this.chunks(flow, dir);
    const out = new Uint8Array(parts.reduce((n, c) => n + c.data.length, 0));
    let o = 0;
    for (const c of parts) {
      out.set(c.data, o);
      o += c.data.length;
    }
    return out;
  }

  /** Stream/flow end events as compact strings, e.g. `1 c2s fin`, `1 flow fin`. */
  ends(): string[] {
    const out: string[] = [];
    for (const e of this.events) {
      if (e.ev === 'streamEnd') out.push(`${e.flow} ${e.dir} ${e.reason}`);
      else if (e.ev === 'flowEnd') out.push(`${e.flow} flow ${e.reason}`);
    }
    return out;
  }
}
