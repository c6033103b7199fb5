// Write frames as classic pcap (microsecond, little-endian), with optional rotation by size or time.
import { closeSync, openSync, writeSync } from 'node:fs';

export interface Rotation {
  /** Start a new file after this many bytes. */
  bytes?: number;
  /** Start a new file after this many seconds of capture time. */
  seconds?: number;
}

/** Sizes in upper case (`500K`, `100M`, `1G`) → bytes; times in lower case (`30s`, `10m`, `1h`) → seconds. */
export function parseRotation(spec: string): Rotation {
  const m = /^(\d+)([KMG]|[smh])$/.exec(spec.trim());
  if (!m || Number(m[1]) === 0) throw new Error(`--rotate takes a size (500K, 100M, 1G) or a time (30s, 10m, 1h), not "${spec}"`);
  const n = Number(m[1]);
  const scale: Record<string, Rotation> = {
    K: { bytes: n * 1024 }, M: { bytes: n * 1024 ** 2 }, G: { bytes: n * 1024 ** 3 },
    s: { seconds: n }, m: { seconds: n * 60 }, h: { seconds: n * 3600 },
  };
  return scale[m[2]];
}

export class PcapWriter {
  private fd = -1;
  private written = 0;
  private fileStart = 0;
  private seq = 0;
  readonly files: string[] = [];
  private readonly record = Buffer.alloc(16);

  constructor(
    private readonly path: string,
    private readonly linkType: number,
    private readonly rotation: Rotation = {},
    private readonly snaplen = 262144,
  ) {}

  write(ts: number, data: Uint8Array, origLen: number): void {
    if (this.fd < 0 || this.shouldRotate(ts)) this.next(ts);
    const sec = Math.floor(ts);
    const usec = Math.min(999_999, Math.round((ts - sec) * 1e6));
    this.record.writeUInt32LE(sec >>> 0, 0);
    this.record.writeUInt32LE(usec, 4);
    this.record.writeUInt32LE(data.length, 8);
    this.record.writeUInt32LE(origLen, 12);
    writeSync(this.fd, this.record);
    writeSync(this.fd, data);
    this.written += 16 + data.length;
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  private shouldRotate(ts: number): boolean {
    const { bytes, seconds } = this.rotation;
    return (bytes !== undefined && this.written >= bytes) || (seconds !== undefined && ts - this.fileStart >= seconds);
  }

  private next(ts: number): void {
    this.close();
    const rotating = this.rotation.bytes !== undefined || this.rotation.seconds !== undefined;
    const name = rotating ? numbered(this.path, ++this.seq) : this.path;
    this.fd = openSync(name, 'w');
    const h = Buffer.alloc(24);
    h.writeUInt32LE(0xa1b2c3d4, 0);
    h.writeUInt16LE(2, 4);
    h.writeUInt16LE(4, 6);
    h.writeUInt32LE(this.snaplen, 16);
    h.writeUInt32LE(this.linkType, 20);
    writeSync(this.fd, h);
    this.written = 24;
    this.fileStart = ts;
    this.files.push(name);
  }
}

/** capture.pcap → capture-00001.pcap */
function numbered(path: string, n: number): string {
  const dot = path.lastIndexOf('.');
  const suffix = `-${String(n).padStart(5, '0')}`;
  return dot > path.lastIndexOf('/') ? `${path.slice(0, dot)}${suffix}${path.slice(dot)}` : `${path}${suffix}`;
}
