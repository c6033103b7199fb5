// Writes classic pcap and pcapng files for reader tests: either byte order, µs or ns pcap,
// pcapng with several interfaces (if_tsresol as a power of 10 or 2, if_tsoffset), EPB/SPB/PB,
// extra (unknown) blocks. Sections are made by concatenating two pcapng outputs.
// readCapture() reads such bytes back through the real stream path, split into chunks where a test says.
import { Readable } from 'node:stream';
import { Anomalies } from '../../src/core/anomalies.js';
import { openCaptureStream } from '../../src/sources/capture-file.js';

export interface CaptureRecord {
  /** Seconds since the epoch (float). */
  ts: number;
  data: Uint8Array;
  /** Defaults to data.length. */
  origLen?: number;
  /** pcapng: which interface (default: the first interface whose linkType matches, else 0). */
  interfaceId?: number;
  linkType?: number;
  /** pcapng: block kind (default EPB). */
  block?: 'epb' | 'spb' | 'pb';
}

class Out {
  private parts: Buffer[] = [];
  constructor(private readonly le: boolean) {}
  u8(v: number): this { this.parts.push(Buffer.from([v & 0xff])); return this; }
  u16(v: number): this { const b = Buffer.alloc(2); this.le ? b.writeUInt16LE(v) : b.writeUInt16BE(v); this.parts.push(b); return this; }
  u32(v: number): this { const b = Buffer.alloc(4); this.le ? b.writeUInt32LE(v >>> 0) : b.writeUInt32BE(v >>> 0); this.parts.push(b); return this; }
  i64(v: bigint): this { const b = Buffer.alloc(8); this.le ? b.writeBigInt64LE(v) : b.writeBigInt64BE(v); this.parts.push(b); return this; }
  raw(b: Uint8Array): this { this.parts.push(Buffer.from(b)); return this; }
  pad4(): this { const n = this.length % 4; if (n) this.parts.push(Buffer.alloc(4 - n)); return this; }
  get length(): number { return this.parts.reduce((n, p) => n + p.length, 0); }
  bytes(): Buffer { return Buffer.concat(this.parts); }
}

/** Whole and fractional units of `ts` as exact integers (BigInt), for a unit of 1/unitsPerSec s. */
export function toTicks(ts: number, unitsPerSec: bigint): bigint {
  const sec = Math.floor(ts);
  const frac = Math.round((ts - sec) * Number(unitsPerSec));
  return BigInt(sec) * unitsPerSec + BigInt(frac);
}

export interface PcapOptions {
  linkType: number;
  nanoseconds?: boolean;
  bigEndian?: boolean;
  snaplen?: number;
  /** Upper bits of the link type field (FCS flags), to check they are masked off. */
  linkTypeFlags?: number;
}

export function writePcap(records: CaptureRecord[], o: PcapOptions): Uint8Array {
  const w = new Out(!o.bigEndian);
  w.u32(o.nanoseconds ? 0xa1b23c4d : 0xa1b2c3d4).u16(2).u16(4).u32(0).u32(0).u32(o.snaplen ?? 262144);
  w.u32((o.linkTypeFlags ?? 0) | o.linkType);
  const per = o.nanoseconds ? 1_000_000_000n : 1_000_000n;
  for (const r of records) {
    const t = toTicks(r.ts, per);
    w.u32(Number(t / per)).u32(Number(t % per)).u32(r.data.length).u32(r.origLen ?? r.data.length).raw(r.data);
  }
  return w.bytes();
}

export interface PcapngInterface {
  linkType: number;
  snaplen?: number;
  /** Raw if_tsresol byte: n = 10^-n s, 0x80|n = 2^-n s. Omitted = option absent (µs). */
  tsresol?: number;
  /** if_tsoffset in seconds. */
  tsoffset?: number;
}

export interface PcapngOptions {
  bigEndian?: boolean;
  /** Default: one interface per distinct record linkType, in order of first use, µs. */
  interfaces?: PcapngInterface[];
  /** Blocks written right after the interface blocks: raw type and body (for unknown-block tests). */
  extraBlocks?: { type: number; body: Uint8Array }[];
  majorVersion?: number;
}

function unitsOf(i: PcapngInterface): bigint {
  if (i.tsresol === undefined) return 1_000_000n;
  return i.tsresol & 0x80 ? 2n ** BigInt(i.tsresol & 0x7f) : 10n ** BigInt(i.tsresol);
}

export function block(le: boolean, type: number, body: Uint8Array): Buffer {
  const b = new Out(le);
  const padded = Math.ceil(body.length / 4) * 4;
  b.u32(type).u32(12 + padded).raw(body).pad4().u32(12 + padded);
  return b.bytes();
}

export function writePcapng(records: CaptureRecord[], o: PcapngOptions = {}): Uint8Array {
  const le = !o.bigEndian;
  const interfaces: PcapngInterface[] = o.interfaces ?? [];
  if (!o.interfaces) for (const r of records) if (!interfaces.some((i) => i.linkType === r.linkType)) interfaces.push({ linkType: r.linkType ?? 1 });
  const parts: Buffer[] = [];
  const shb = new Out(le).u32(0x1a2b3c4d).u16(o.majorVersion ?? 1).u16(0).i64(-1n);
  parts.push(block(le, 0x0a0d0d0a, shb.bytes()));
  for (const i of interfaces) {
    const body = new Out(le).u16(i.linkType).u16(0).u32(i.snaplen ?? 0);
    if (i.tsresol !== undefined) body.u16(9).u16(1).u8(i.tsresol).pad4();
    if (i.tsoffset !== undefined) body.u16(14).u16(8).i64(BigInt(i.tsoffset));
    body.u16(0).u16(0);
    parts.push(block(le, 1, body.bytes()));
  }
  for (const x of o.extraBlocks ?? []) parts.push(block(le, x.type, x.body));
  for (const r of records) {
    const id = r.interfaceId ?? Math.max(0, interfaces.findIndex((i) => i.linkType === (r.linkType ?? 1)));
    const iface = interfaces[id] ?? { linkType: 1 };
    const t = toTicks(r.ts - (iface.tsoffset ?? 0), unitsOf(iface));
    const hi = Number(t >> 32n);
    const lo = Number(t & 0xffffffffn);
    const body = new Out(le);
    if (r.block === 'spb') {
      body.u32(r.origLen ?? r.data.length).raw(r.data);
      parts.push(block(le, 3, body.bytes()));
    } else if (r.block === 'pb') {
      body.u16(id).u16(0).u32(hi).u32(lo).u32(r.data.length).u32(r.origLen ?? r.data.length).raw(r.data);
      parts.push(block(le, 2, body.bytes()));
    } else {
      body.u32(id).u32(hi).u32(lo).u32(r.data.length).u32(r.origLen ?? r.data.length).raw(r.data).pad4();
      body.u16(1).u16(5).raw(Buffer.from('hello')).pad4().u16(0).u16(0); // opt_comment, end of options
      parts.push(block(le, 6, body.bytes()));
    }
  }
  return Buffer.concat(parts);
}

// Read a capture held in memory through openCaptureStream, in chosen chunk sizes, copying out every
// frame (frames are views valid only during the callback).
export interface ReadFrame {
  index: number;
  ts: number;
  linkType: number;
  interfaceId: number;
  capLen: number;
  origLen: number;
  data: Buffer;
}

export function chunked(bytes: Uint8Array, cuts: number[] = []): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let at = 0;
  for (const p of [...points, bytes.length]) {
    if (p > at) out.push(Buffer.from(bytes.subarray(at, p)));
    at = Math.max(at, p);
  }
  return out;
}

export async function readCapture(bytes: Uint8Array, cuts: number[] = [], name = 'mem.pcap') {
  const anomalies = new Anomalies();
  const source = await openCaptureStream(Readable.from(chunked(bytes, cuts)), name, anomalies);
  const frames: ReadFrame[] = [];
  const stats = await source.run((f) => frames.push({ ...f, data: Buffer.from(f.data) }));
  const counts = Object.fromEntries(anomalies.summary().map((s) => [s.name, s.count]));
  return { format: source.format, frames, stats, anomalies, counts };
}
