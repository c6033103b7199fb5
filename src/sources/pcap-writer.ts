// Write frames as classic pcap (microsecond, little-endian), with optional rotation by size or time.
import { closeSync, openSync, writeSync } from 'node:fs';

export interface Rotation {
  /** Start a new file before one would grow past this many bytes (a single larger frame gets a file alone). */
  bytes?: number;
  /** Start a new file once this many seconds of capture time have passed since the current one began. */
  seconds?: number;
}

const PCAP_HEADER_BYTES = 24;
const RECORD_HEADER_BYTES = 16;

/**
 * Sizes in upper case (`500K`, `100M`, `1G`, also `100MB`, `100MiB`; powers of 1024) → bytes;
 * times in lower case (`30s`, `10m`, `1h`) → seconds.
 */
export function parseRotation(spec: string): Rotation {
  const m = /^(\d+)(?:([KMG])(?:i?B)?|([smh]))$/.exec(spec.trim());
  const n = m ? Number(m[1]) : 0;
  if (!m || !Number.isSafeInteger(n) || n === 0) {
    throw new Error(`--rotate takes a size (500K, 100M, 1G) or a time (30s, 10m, 1h), not "${spec}"`);
  }
  if (m[2]) {
    const bytes = n * 1024 ** ' KMG'.indexOf(m[2]);
    // Smaller than a file header plus one record of a minimal frame would rotate on every frame.
    if (bytes < PCAP_HEADER_BYTES + RECORD_HEADER_BYTES + 64) throw new Error(`--rotate ${spec} is too small`);
    return { bytes };
  }
  return { seconds: n * { s: 1, m: 60, h: 3600 }[m[3] as 's' | 'm' | 'h'] };
}

/**
 * Classic pcap writer. Files are opened on the first frame (or by `start()`), so nothing is created for a
 * capture that fails to open. With rotation, files are numbered: capture.pcap → capture-00001.pcap, -00002 ...
 */
export class PcapWriter {
  private fd = -1;
  private written = 0;
  private fileStart = 0;
  private seq = 0;
  /** Every file written, in order. */
  readonly files: string[] = [];
  private readonly record = Buffer.alloc(RECORD_HEADER_BYTES);

  constructor(
    private readonly path: string,
    private readonly linkType: number,
    private readonly rotation: Rotation = {},
    private readonly snaplen = 65535,
  ) {}

  /** The first file's name (the path itself unless rotating). */
  get firstFile(): string {
    return this.rotating ? numberedPath(this.path, 1) : this.path;
  }

  /** Open the first file if none is open yet (a capture that saw no frame still leaves a valid, empty pcap). */
  start(ts: number): void {
    if (this.fd < 0) this.next(ts);
  }

  /** ts: seconds since the epoch; data: the captured bytes; origLen: the length on the wire. */
  write(ts: number, data: Uint8Array, origLen: number): void {
    if (this.fd < 0 || this.shouldRotate(ts, data.length)) this.next(ts);
    const sec = Math.floor(ts);
    const usec = Math.min(999_999, Math.round((ts - sec) * 1e6));
    this.record.writeUInt32LE(sec >>> 0, 0);
    this.record.writeUInt32LE(usec, 4);
    this.record.writeUInt32LE(data.length, 8);
    this.record.writeUInt32LE(Math.max(origLen, data.length) >>> 0, 12);
    writeSync(this.fd, this.record);
    writeSync(this.fd, data);
    this.written += RECORD_HEADER_BYTES + data.length;
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  private get rotating(): boolean {
    return this.rotation.bytes !== undefined || this.rotation.seconds !== undefined;
  }

  private shouldRotate(ts: number, frameBytes: number): boolean {
    const { bytes, seconds } = this.rotation;
    const hasRecords = this.written > PCAP_HEADER_BYTES;
    if (bytes !== undefined && hasRecords && this.written + RECORD_HEADER_BYTES + frameBytes > bytes) return true;
    return seconds !== undefined && ts - this.fileStart >= seconds;
  }

  private next(ts: number): void {
    this.close();
    const name = this.rotating ? numberedPath(this.path, ++this.seq) : this.path;
    this.fd = openSync(name, 'w');
    const h = Buffer.alloc(PCAP_HEADER_BYTES);
    h.writeUInt32LE(0xa1b2c3d4, 0);
    h.writeUInt16LE(2, 4);
    h.writeUInt16LE(4, 6);
    h.writeUInt32LE(this.snaplen, 16);
    h.writeUInt32LE(this.linkType, 20);
    writeSync(this.fd, h);
    this.written = PCAP_HEADER_BYTES;
    this.fileStart = ts;
    this.files.push(name);
  }
}

/** capture.pcap → capture-00001.pcap; a name without an extension gets the number at the end. */
export function numberedPath(path: string, n: number): string {
  const dot = path.lastIndexOf('.');
  const suffix = `-${String(n).padStart(5, '0')}`;
  return dot > path.lastIndexOf('/') + 1 ? `${path.slice(0, dot)}${suffix}${path.slice(dot)}` : `${path}${suffix}`;
}
