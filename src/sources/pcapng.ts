// pcapng (draft-ietf-opsawg-pcapng): a sequence of blocks, each `type, total length, body, total length`.
// Section Header Blocks (SHB) set the byte order and reset the interface list; Interface Description
// Blocks (IDB) give each interface its link type, snaplen and timestamp unit (if_tsresol, powers of 10
// or of 2) and offset (if_tsoffset). Packets come in Enhanced (EPB), Simple (SPB) and obsolete Packet
// Blocks (PB). Other known blocks are skipped; unknown ones are skipped and counted.
import type { Anomalies } from '../core/anomalies.js';
import { LIMITS } from '../config/limits.js';
import type { RecordParser } from './capture-file.js';
import type { RawFrame } from './types.js';
import { InPlaceFrame } from './pcap.js';
import { u16be, u16le, u32be, u32le } from '../decode/bytes.js';

export const BlockType = {
  SHB: 0x0a0d0d0a,
  IDB: 0x00000001,
  PB: 0x00000002,
  SPB: 0x00000003,
  NRB: 0x00000004,
  ISB: 0x00000005,
  EPB: 0x00000006,
  IRIG: 0x00000007,
  ARINC: 0x00000008,
  JOURNAL: 0x00000009,
  DSB: 0x0000000a,
  CUSTOM: 0x00000bad,
  CUSTOM_NOCOPY: 0x40000bad,
  PROCESS_INFO: 0x80000001,
} as const;

const KNOWN_BLOCKS = new Set<number>(Object.values(BlockType));
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
/** A block may hold one record of LIMITS.maxRecordBytes plus generous room for its options. */
const MAX_BLOCK_BYTES = LIMITS.maxRecordBytes + 64 * 1024;
/** Interfaces per section (`pcapng.too_many_interfaces`). */
const MAX_INTERFACES = 65536;
const MAX_RESYNC_BYTES = 64 * 1024 * 1024;
const TWO_32 = 4294967296;

const enum State {
  Block,
  Skip,
  Resync,
  Stopped,
}

/**
 * A 64-bit tick count (high and low 32-bit halves) in seconds. Exact integer division while the
 * unit fits in 32 bits (every power of 10 up to ns, every power of 2 up to 2^-32), so no BigInt.
 */
export function ticksToSeconds(high: number, low: number, unitsPerSec: number): number {
  if (unitsPerSec > TWO_32 || !Number.isInteger(unitsPerSec)) return (high * TWO_32 + low) / unitsPerSec;
  const q1 = Math.floor(high / unitsPerSec);
  let r = high - q1 * unitsPerSec;
  let x = r * 65536 + (low >>> 16);
  const q2 = Math.floor(x / unitsPerSec);
  r = x - q2 * unitsPerSec;
  x = r * 65536 + (low & 0xffff);
  const q3 = Math.floor(x / unitsPerSec);
  r = x - q3 * unitsPerSec;
  return q1 * TWO_32 + q2 * 65536 + q3 + r / unitsPerSec;
}

export class PcapngParser implements RecordParser {
  frames = 0;
  private state = State.Block;
  private le = true;
  private skipLeft = 0;
  private resyncScanned = 0;
  private lastTs = 0;
  // Interfaces of the current section, by id.
  private ifLinkType: number[] = [];
  private ifSnapLen: number[] = [];
  private ifUnitsPerSec: number[] = [];
  private ifOffsetSec: number[] = [];
  private readonly frame = new InPlaceFrame();

  constructor(
    private readonly onFrame: (frame: RawFrame) => void,
    private readonly anomalies: Anomalies,
    private readonly file: string,
  ) {}

  private u32(b: Uint8Array, i: number): number {
    return this.le ? u32le(b, i) : u32be(b, i);
  }

  private u16(b: Uint8Array, i: number): number {
    return this.le ? u16le(b, i) : u16be(b, i);
  }

  private anomaly(name: string, detail?: string): void {
    this.anomalies.add(name, { file: this.file, frame: this.frames + 1, detail });
  }

  /** Byte order an SHB at b[off] declares: true little, false big, null neither (12 bytes needed). */
  private static shbLittleEndian(b: Uint8Array, off: number): boolean | null {
    const bom = ((b[off + 8] << 24) | (b[off + 9] << 16) | (b[off + 10] << 8) | b[off + 11]) >>> 0;
    if (bom === BYTE_ORDER_MAGIC) return false;
    const bomLe = ((b[off + 11] << 24) | (b[off + 10] << 16) | (b[off + 9] << 8) | b[off + 8]) >>> 0;
    return bomLe === BYTE_ORDER_MAGIC ? true : null;
  }

  /** Total length of the block at b[off] (needs 12 bytes), read in the byte order that applies to it. */
  private blockLength(b: Uint8Array, off: number): number {
    if (this.u32(b, off) === BlockType.SHB) {
      const le = PcapngParser.shbLittleEndian(b, off);
      if (le !== null) {
        const saved = this.le;
        this.le = le;
        const len = this.u32(b, off + 4);
        this.le = saved;
        return len;
      }
    }
    return this.u32(b, off + 4);
  }

  private static lengthOk(len: number): boolean {
    return len >= 12 && len % 4 === 0 && len <= MAX_BLOCK_BYTES;
  }

  need(b: Uint8Array, off: number, avail: number): number {
    if (this.state === State.Block || this.state === State.Resync) {
      if (avail < 12) return 12;
      const len = this.blockLength(b, off);
      if (!PcapngParser.lengthOk(len)) return 12;
      if (this.state === State.Resync && !KNOWN_BLOCKS.has(this.u32(b, off))) return 12;
      return len;
    }
    return 1;
  }

  step(b: Uint8Array, off: number, avail: number): number {
    switch (this.state) {
      case State.Block:
        return this.block(b, off);
      case State.Skip: {
        const n = Math.min(this.skipLeft, avail);
        this.skipLeft -= n;
        if (this.skipLeft === 0) this.state = State.Block;
        return n;
      }
      case State.Resync:
        return this.resync(b, off, avail);
      default:
        return avail;
    }
  }

  private startResync(name: string, detail: string): number {
    this.anomaly(name, detail);
    this.state = State.Resync;
    this.resyncScanned = 0;
    return 1;
  }

  private resync(b: Uint8Array, off: number, avail: number): number {
    const type = this.u32(b, off);
    const len = this.blockLength(b, off);
    if (KNOWN_BLOCKS.has(type) && PcapngParser.lengthOk(len) && len <= avail) {
      const le = type === BlockType.SHB ? PcapngParser.shbLittleEndian(b, off) ?? this.le : this.le;
      const trailer = le
        ? (b[off + len - 4] | (b[off + len - 3] << 8) | (b[off + len - 2] << 16) | (b[off + len - 1] << 24)) >>> 0
        : ((b[off + len - 4] << 24) | (b[off + len - 3] << 16) | (b[off + len - 2] << 8) | b[off + len - 1]) >>> 0;
      if (trailer === len) {
        this.anomaly('pcapng.resynced', `after ${this.resyncScanned} bytes`);
        this.state = State.Block;
        return 0;
      }
    }
    if (++this.resyncScanned > MAX_RESYNC_BYTES) {
      this.anomaly('pcapng.resync_failed');
      this.state = State.Stopped;
    }
    return 1;
  }

  private block(b: Uint8Array, off: number): number {
    const type = this.u32(b, off);
    const len = this.blockLength(b, off);
    if (!PcapngParser.lengthOk(len)) {
      if (len > MAX_BLOCK_BYTES && len % 4 === 0 && KNOWN_BLOCKS.has(type)) {
        // A sane header for a huge block: step over it without buffering it.
        this.anomaly('pcapng.block_too_large', `type ${type}, length ${len}`);
        if (type === BlockType.EPB || type === BlockType.SPB || type === BlockType.PB) this.frames++;
        this.skipLeft = len - 12;
        this.state = State.Skip;
        return 12;
      }
      return this.startResync('pcapng.bad_block_length', `type ${type}, length ${len}`);
    }
    if (type === BlockType.SHB) {
      const le = PcapngParser.shbLittleEndian(b, off);
      if (le === null) return this.startResync('pcapng.bad_byte_order_magic', 'section header');
      this.le = le;
    }
    if (this.u32(b, off + len - 4) !== len) this.anomaly('pcapng.block_length_mismatch', `type ${type}`);
    switch (type) {
      case BlockType.SHB: this.sectionHeader(b, off, len); break;
      case BlockType.IDB: this.interfaceDescription(b, off, len); break;
      case BlockType.EPB: this.packet(b, off, len, this.u32(b, off + 8), off + 12); break;
      case BlockType.PB: this.packet(b, off, len, this.u16(b, off + 8), off + 12); break;
      case BlockType.SPB: this.simplePacket(b, off, len); break;
      default:
        if (!KNOWN_BLOCKS.has(type)) this.anomaly('pcapng.unknown_block', `type 0x${type.toString(16)}`);
    }
    return len;
  }

  private sectionHeader(b: Uint8Array, off: number, len: number): void {
    if (len < 28) this.anomaly('pcapng.bad_shb');
    else if (this.u16(b, off + 12) !== 1) this.anomaly('pcapng.unsupported_version', `major ${this.u16(b, off + 12)}`);
    // Interface ids are per section.
    this.ifLinkType.length = 0;
    this.ifSnapLen.length = 0;
    this.ifUnitsPerSec.length = 0;
    this.ifOffsetSec.length = 0;
  }

  private interfaceDescription(b: Uint8Array, off: number, len: number): void {
    if (len < 20) {
      this.anomaly('pcapng.bad_idb');
      return;
    }
    if (this.ifLinkType.length >= MAX_INTERFACES) {
      this.anomaly('pcapng.too_many_interfaces');
      return;
    }
    let unitsPerSec = 1e6;
    let offsetSec = 0;
    const end = off + len - 4;
    for (let i = off + 16; i + 4 <= end; ) {
      const code = this.u16(b, i);
      const olen = this.u16(b, i + 2);
      if (code === 0) break; // opt_endofopt
      if (i + 4 + olen > end) {
        this.anomaly('pcapng.bad_option', `code ${code}, length ${olen}`);
        break;
      }
      if (code === 9 && olen >= 1) {
        // if_tsresol: high bit clear = 10^-n seconds, set = 2^-n seconds.
        const v = b[i + 4];
        unitsPerSec = v & 0x80 ? 2 ** (v & 0x7f) : 10 ** v;
      } else if (code === 14 && olen >= 8) {
        // if_tsoffset: signed 64-bit seconds added to every timestamp of the interface.
        const lo = this.u32(b, i + 4 + (this.le ? 0 : 4));
        const hi = this.u32(b, i + 4 + (this.le ? 4 : 0)) | 0;
        offsetSec = hi * TWO_32 + lo;
      }
      i += 4 + ((olen + 3) & ~3);
    }
    this.ifLinkType.push(this.u16(b, off + 8));
    this.ifSnapLen.push(this.u32(b, off + 12));
    this.ifUnitsPerSec.push(unitsPerSec);
    this.ifOffsetSec.push(offsetSec);
  }

  /** EPB and PB: interface id, timestamp high, low, captured length, original length, data. */
  private packet(b: Uint8Array, off: number, len: number, ifId: number, tsAt: number): void {
    if (len < 32) {
      this.anomaly('pcapng.bad_packet_block', `length ${len}`);
      return;
    }
    const capLen = this.u32(b, tsAt + 8);
    const origLen = this.u32(b, tsAt + 12);
    if (capLen > len - 32) {
      this.anomaly('pcapng.bad_caplen', `caplen ${capLen} in a block of ${len}`);
      return;
    }
    if (ifId >= this.ifLinkType.length) {
      this.anomaly('pcapng.unknown_interface', `interface ${ifId}`);
      return;
    }
    if (capLen > LIMITS.maxRecordBytes) {
      this.anomaly('pcapng.record_too_large', `caplen ${capLen}`);
      this.frames++;
      return;
    }
    const ts = ticksToSeconds(this.u32(b, tsAt), this.u32(b, tsAt + 4), this.ifUnitsPerSec[ifId]) + this.ifOffsetSec[ifId];
    this.deliver(b, tsAt + 16, capLen, origLen, ifId, ts);
  }

  /** SPB: original length then data, on interface 0, with no timestamp (the previous frame's time is used). */
  private simplePacket(b: Uint8Array, off: number, len: number): void {
    if (len < 16) {
      this.anomaly('pcapng.bad_packet_block', `length ${len}`);
      return;
    }
    if (this.ifLinkType.length === 0) {
      this.anomaly('pcapng.unknown_interface', 'interface 0 (simple packet block)');
      return;
    }
    const origLen = this.u32(b, off + 8);
    const snap = this.ifSnapLen[0];
    let capLen = Math.min(origLen, len - 16);
    if (snap > 0 && capLen > snap) capLen = snap;
    if (capLen > LIMITS.maxRecordBytes) {
      this.anomaly('pcapng.record_too_large', `caplen ${capLen}`);
      this.frames++;
      return;
    }
    this.deliver(b, off + 12, capLen, origLen, 0, this.lastTs);
  }

  private deliver(b: Uint8Array, at: number, capLen: number, origLen: number, ifId: number, ts: number): void {
    const f = this.frame;
    f.index = ++this.frames;
    f.ts = ts;
    f.linkType = this.ifLinkType[ifId];
    f.interfaceId = ifId;
    f.place(b, at, capLen); // no view made unless a consumer reads f.data
    f.origLen = origLen < capLen ? capLen : origLen;
    this.lastTs = ts;
    this.onFrame(f);
  }

  finish(_b: Uint8Array, _off: number, avail: number): void {
    if (this.state === State.Skip && this.skipLeft > 0) this.anomaly('pcapng.truncated_block', `${this.skipLeft} bytes missing`);
    else if (this.state === State.Block && avail > 0) this.anomaly('pcapng.truncated_block', `${avail} bytes left`);
  }
}
