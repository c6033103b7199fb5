// Classic libpcap files: a 24-byte global header, then records of a 16-byte header + captured bytes.
// Magic a1b2c3d4 (microseconds) or a1b23c4d (nanoseconds), in either byte order; a1b2cd34 is the
// "modified" (Kuznetzov) variant whose record headers carry 8 more bytes. See
// https://datatracker.ietf.org/doc/draft-ietf-opsawg-pcap/ .
//
// A record longer than LIMITS.maxRecordBytes whose header is otherwise sane is skipped in place
// (`pcap.record_too_large`); a header that makes no sense starts a byte-by-byte resync that accepts
// a position only when the record there and the header after it both look right.
import type { Anomalies } from '../core/anomalies.js';
import { LIMITS } from '../config/limits.js';
import type { RecordParser } from './capture-file.js';
import type { RawFrame } from './types.js';
import { u32be, u32le } from '../decode/bytes.js';

const GLOBAL_HEADER_LEN = 24;
/** How far a resync may scan before the rest of the file is given up (`pcap.resync_failed`). */
const MAX_RESYNC_BYTES = 64 * 1024 * 1024;
/** Resync candidates must be within this many seconds of the last good record. */
const RESYNC_TIME_WINDOW = 30 * 86400;

const enum State {
  GlobalHeader,
  Record,
  Skip,
  Resync,
  Stopped,
}

const EMPTY_BYTES = new Uint8Array(0);

/**
 * The one reused RawFrame of a file reader: frame bytes stay where they were read, and the `data` view is made on
 * first use. The location is kept in private fields (reached through getters), so `{ ...frame }` copies exactly the
 * fields a plain RawFrame has.
 */
export class InPlaceFrame implements RawFrame {
  index = 0;
  ts = 0;
  linkType = 0;
  interfaceId = 0;
  capLen = 0;
  origLen = 0;
  #bytes: Uint8Array = EMPTY_BYTES;
  #offset = 0;
  #data: Uint8Array | null = null;

  /** Point the frame at bytes[offset, offset + capLen) (sets capLen). */
  place(bytes: Uint8Array, offset: number, capLen: number): void {
    this.#bytes = bytes;
    this.#offset = offset;
    this.capLen = capLen;
    this.#data = null;
  }

  get bytes(): Uint8Array {
    return this.#bytes;
  }

  get offset(): number {
    return this.#offset;
  }

  get data(): Uint8Array {
    if (this.#data === null) this.#data = this.#bytes.subarray(this.#offset, this.#offset + this.capLen);
    return this.#data;
  }

  /** A caller may still assign `data` (as with a plain RawFrame): it then is the frame's bytes. */
  set data(view: Uint8Array) {
    this.place(view, 0, view.length);
    this.#data = view;
  }
}

export type PcapMagicInfo = { littleEndian: boolean; nanoseconds: boolean; modified: boolean };

/** Recognise the first 4 bytes of a classic pcap file; null if they are not a pcap magic. */
export function pcapMagic(b: Uint8Array): PcapMagicInfo | null {
  if (b.length < 4) return null;
  const be = ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
  const le = ((b[3] << 24) | (b[2] << 16) | (b[1] << 8) | b[0]) >>> 0;
  for (const [value, littleEndian] of [[be, false], [le, true]] as const) {
    if (value === 0xa1b2c3d4) return { littleEndian, nanoseconds: false, modified: false };
    if (value === 0xa1b23c4d) return { littleEndian, nanoseconds: true, modified: false };
    if (value === 0xa1b2cd34) return { littleEndian, nanoseconds: false, modified: true };
  }
  return null;
}

export class PcapParser implements RecordParser {
  frames = 0;
  private state = State.GlobalHeader;
  private le = true;
  private fracPerSec = 1e6;
  private recordHeaderLen = 16;
  private linkType = 0;
  private skipLeft = 0;
  private resyncScanned = 0;
  private lastSec = -1;
  private firstSec = -1;
  /** The file's magic as read in its own byte order: seen again where a record should start = `cat a.pcap b.pcap`. */
  private magicWord = 0;
  private readonly frame = new InPlaceFrame();

  constructor(
    private readonly onFrame: (frame: RawFrame) => void,
    private readonly anomalies: Anomalies,
    private readonly file: string,
  ) {}

  private u32(b: Uint8Array, i: number): number {
    return this.le ? u32le(b, i) : u32be(b, i);
  }

  private anomaly(name: string, detail?: string): void {
    this.anomalies.add(name, { file: this.file, frame: this.frames + 1, detail });
  }

  /** A record header at b[off] that a real writer could have written. */
  private plausible(b: Uint8Array, off: number, checkTime: boolean): boolean {
    const sec = this.u32(b, off);
    const frac = this.u32(b, off + 4);
    const inclLen = this.u32(b, off + 8);
    const origLen = this.u32(b, off + 12);
    if (frac >= this.fracPerSec || inclLen > LIMITS.maxRecordBytes || origLen < inclLen) return false;
    return (
      !checkTime || this.lastSec < 0 ||
      Math.abs(sec - this.lastSec) <= RESYNC_TIME_WINDOW || Math.abs(sec - this.firstSec) <= RESYNC_TIME_WINDOW
    );
  }

  need(b: Uint8Array, off: number, avail: number): number {
    const h = this.recordHeaderLen;
    switch (this.state) {
      case State.GlobalHeader:
        return GLOBAL_HEADER_LEN;
      case State.Record: {
        if (avail < h) return h;
        if (this.u32(b, off) === this.magicWord) return GLOBAL_HEADER_LEN;
        const inclLen = this.u32(b, off + 8);
        return inclLen > LIMITS.maxRecordBytes ? h : h + inclLen;
      }
      case State.Resync: {
        if (avail < h || !this.plausible(b, off, true)) return h;
        // Also see the next record's header, so one lucky-looking 16 bytes is not enough.
        return h + this.u32(b, off + 8) + h;
      }
      default:
        return 1;
    }
  }

  /**
   * Every whole, ordinary record in b[off, end) in one loop: the common case without a need() and a step() call per
   * record. Stops before anything step() has to look at (a header, an oversized or cut record); returns bytes used.
   */
  records(b: Uint8Array, off: number, end: number): number {
    const start = off;
    const h = this.recordHeaderLen;
    while (this.state === State.Record && end - off >= h) {
      if (this.u32(b, off) === this.magicWord) break;
      const inclLen = this.u32(b, off + 8);
      if (inclLen > LIMITS.maxRecordBytes || end - off < h + inclLen) break;
      off += this.record(b, off);
    }
    return off - start;
  }

  step(b: Uint8Array, off: number, avail: number): number {
    switch (this.state) {
      case State.GlobalHeader:
        return this.globalHeader(b, off);
      case State.Record:
        if (this.u32(b, off) === this.magicWord) {
          // Another global header where a record should be: pcaps concatenated with cat. Read it and go on.
          this.anomaly('pcap.embedded_header');
          return this.globalHeader(b, off);
        }
        return this.record(b, off);
      case State.Skip: {
        const n = Math.min(this.skipLeft, avail);
        this.skipLeft -= n;
        if (this.skipLeft === 0) this.state = State.Record;
        return n;
      }
      case State.Resync:
        return this.resync(b, off);
      default:
        return avail; // stopped: drain the input
    }
  }

  private globalHeader(b: Uint8Array, off: number): number {
    const magic = pcapMagic(b.subarray(off, off + 4))!;
    this.le = magic.littleEndian;
    this.fracPerSec = magic.nanoseconds ? 1e9 : 1e6;
    this.recordHeaderLen = magic.modified ? 24 : 16;
    this.magicWord = this.u32(b, off);
    const major = this.le ? b[off + 4] | (b[off + 5] << 8) : (b[off + 4] << 8) | b[off + 5];
    if (major !== 2) this.anomaly('pcap.unusual_version', `major version ${major}`);
    // The upper bits of the link type field carry FCS length flags (LT_LINKTYPE in libpcap).
    this.linkType = this.u32(b, off + 20) & 0x03ffffff;
    this.state = State.Record;
    return GLOBAL_HEADER_LEN;
  }

  private record(b: Uint8Array, off: number): number {
    const h = this.recordHeaderLen;
    const sec = this.u32(b, off);
    const frac = this.u32(b, off + 4);
    const inclLen = this.u32(b, off + 8);
    const origLen = this.u32(b, off + 12);
    if (inclLen > LIMITS.maxRecordBytes) {
      if (origLen >= inclLen && frac < this.fracPerSec) {
        // A sane header for a huge record: step over it without buffering it.
        this.anomaly('pcap.record_too_large', `caplen ${inclLen}`);
        this.frames++; // it is still a frame in the file's numbering
        this.skipLeft = inclLen;
        this.state = inclLen > 0 ? State.Skip : State.Record;
        return h;
      }
      this.anomaly('pcap.bad_record_header', `caplen ${inclLen}, origlen ${origLen}`);
      this.state = State.Resync;
      this.resyncScanned = 0;
      return 1;
    }
    if (origLen < inclLen) this.anomaly('pcap.caplen_exceeds_origlen');
    if (frac >= this.fracPerSec) this.anomaly('pcap.bad_timestamp_fraction');
    this.lastSec = sec;
    if (this.firstSec < 0) this.firstSec = sec;
    const f = this.frame;
    f.index = ++this.frames;
    f.ts = sec + frac / this.fracPerSec;
    f.linkType = this.linkType;
    f.place(b, off + h, inclLen); // no view made unless a consumer reads f.data
    f.origLen = origLen < inclLen ? inclLen : origLen;
    this.onFrame(f);
    return h + inclLen;
  }

  private resync(b: Uint8Array, off: number): number {
    const h = this.recordHeaderLen;
    if (this.plausible(b, off, true) && this.plausible(b, off + h + this.u32(b, off + 8), true)) {
      this.anomaly('pcap.resynced', `after ${this.resyncScanned} bytes`);
      this.state = State.Record;
      return 0;
    }
    if (++this.resyncScanned > MAX_RESYNC_BYTES) {
      this.anomaly('pcap.resync_failed');
      this.state = State.Stopped;
    }
    return 1;
  }

  finish(b: Uint8Array, off: number, avail: number): void {
    if (this.state === State.Skip && this.skipLeft > 0) {
      this.anomaly('pcap.truncated_record', `${this.skipLeft} bytes missing`);
      return;
    }
    if (avail === 0) return;
    const h = this.recordHeaderLen;
    if (this.state === State.Record) {
      this.anomaly('pcap.truncated_record', `${avail} bytes left`);
    } else if (this.state === State.GlobalHeader) {
      this.anomaly('pcap.truncated_header');
    } else if (this.state === State.Resync) {
      // The last record has no next header to confirm it: accept one that ends exactly at end of input.
      while (avail >= h) {
        if (this.plausible(b, off, true) && h + this.u32(b, off + 8) === avail) {
          this.state = State.Record;
          this.anomaly('pcap.resynced', `after ${this.resyncScanned} bytes`);
          this.record(b, off);
          return;
        }
        off++;
        avail--;
        this.resyncScanned++;
      }
    }
  }
}
