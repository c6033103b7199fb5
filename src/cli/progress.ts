// Progress on stderr, only when it is a terminal: bytes and records per second, and an ETA when the size is known.
import type { CliIO } from './io.js';

export class Progress {
  private readonly start = Date.now();
  private last = 0;
  private shown = false;

  constructor(private readonly io: CliIO, private readonly quiet = false) {}

  update(p: { file: string; bytes: number; totalBytes?: number; records: number }): void {
    if (this.quiet || !this.io.isTTY) return;
    const now = Date.now();
    if (now - this.last < 250) return;
    this.last = now;
    const secs = Math.max((now - this.start) / 1000, 0.001);
    const mbps = p.bytes / 1e6 / secs;
    let line = `${p.file}: ${(p.bytes / 1e6).toFixed(1)} MB, ${p.records} records, ${mbps.toFixed(1)} MB/s, ${Math.round(p.records / secs)}/s`;
    if (p.totalBytes && p.bytes > 0) {
      const eta = ((p.totalBytes - p.bytes) / p.bytes) * secs;
      line += `, ${Math.round((100 * p.bytes) / p.totalBytes)}%, ETA ${Math.max(0, Math.round(eta))}s`;
    }
    this.io.stderr(`\r\x1b[K${line}`);
    this.shown = true;
  }

  done(): void {
    if (this.shown) this.io.stderr('\r\x1b[K');
  }
}
