// PcapWriter and --rotate parsing: files written are read back with the project's own reader.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Anomalies } from '../../src/core/anomalies.js';
import { openCapture } from '../../src/sources/capture-file.js';
import { numberedPath, parseRotation, PcapWriter } from '../../src/sources/pcap-writer.js';

interface ReadFrame { ts: number; capLen: number; origLen: number; linkType: number; data: Buffer }

async function readBack(path: string): Promise<{ frames: ReadFrame[]; anomalies: Anomalies }> {
  const anomalies = new Anomalies();
  const source = await openCapture(path, anomalies);
  const frames: ReadFrame[] = [];
  await source.run((f) => frames.push({ ts: f.ts, capLen: f.capLen, origLen: f.origLen, linkType: f.linkType, data: Buffer.from(f.data) }));
  return { frames, anomalies };
}

/** A frame whose bytes say which one it is. */
function frameBytes(i: number, len: number): Buffer {
  const b = Buffer.alloc(len);
  for (let k = 0; k < len; k++) b[k] = (i * 31 + k) & 0xff;
  return b;
}

describe('parseRotation', () => {
  it.each([
    ['500K', { bytes: 500 * 1024 }],
    ['100M', { bytes: 100 * 1024 * 1024 }],
    ['100MB', { bytes: 100 * 1024 * 1024 }],
    ['2MiB', { bytes: 2 * 1024 * 1024 }],
    ['1G', { bytes: 1024 ** 3 }],
    ['30s', { seconds: 30 }],
    ['10m', { seconds: 600 }],
    ['2h', { seconds: 7200 }],
    [' 45s ', { seconds: 45 }],
  ])('%s', (spec, want) => {
    expect(parseRotation(spec)).toEqual(want);
  });

  it.each(['', '0M', '0s', '10', '10k', '10 M', '1.5M', '-1M', '10d', 'M', '10Mb', '1K1'])('rejects %j', (spec) => {
    expect(() => parseRotation(spec)).toThrow(/--rotate/);
  });
});

describe('numberedPath', () => {
  it.each([
    ['cap.pcap', 1, 'cap-00001.pcap'],
    ['/d/x.y/cap.pcap', 12, '/d/x.y/cap-00012.pcap'],
    ['/d/x.y/cap', 3, '/d/x.y/cap-00003'],
    ['/d/.pcap', 2, '/d/.pcap-00002'],
  ])('%s #%d → %s', (path, n, want) => {
    expect(numberedPath(path, n)).toBe(want);
  });
});

describe('PcapWriter', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'shadowtap-writer-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes one file that reads back frame for frame, microsecond timestamps and original lengths kept', async () => {
    const path = join(dir, 'one.pcap');
    const w = new PcapWriter(path, 113, {}, 65535);
    const t0 = 1_790_000_000.25;
    const sent = [0, 1, 2, 3, 4].map((i) => ({ ts: t0 + i * 0.000_123 + i, data: frameBytes(i, 60 + i * 7), origLen: 60 + i * 7 + (i === 3 ? 1000 : 0) }));
    for (const s of sent) w.write(s.ts, s.data, s.origLen);
    w.close();
    expect(w.files).toEqual([path]);
    const { frames, anomalies } = await readBack(path);
    expect(anomalies.summary()).toEqual([]);
    expect(frames.map((f) => f.linkType)).toEqual([113, 113, 113, 113, 113]);
    expect(frames.map((f) => f.capLen)).toEqual(sent.map((s) => s.data.length));
    expect(frames.map((f) => f.origLen)).toEqual(sent.map((s) => s.origLen));
    for (let i = 0; i < sent.length; i++) {
      expect(frames[i].data.equals(sent[i].data)).toBe(true);
      expect(Math.abs(frames[i].ts - sent[i].ts)).toBeLessThan(1e-6);
    }
    expect(readFileSync(path).readUInt32LE(16)).toBe(65535); // snaplen in the file header
  });

  it('rotates by size: no file grows past the limit, every frame is kept once and in order', async () => {
    const path = join(dir, 'cap.pcap');
    const limit = 1024;
    const w = new PcapWriter(path, 1, parseRotation('1K'), 65535);
    const lens = Array.from({ length: 40 }, (_, i) => 40 + ((i * 37) % 200));
    lens.forEach((len, i) => w.write(1_790_000_000 + i / 10, frameBytes(i, len), len));
    w.close();
    expect(w.files.length).toBeGreaterThan(3);
    expect(w.files).toEqual(w.files.map((_, i) => join(dir, `cap-${String(i + 1).padStart(5, '0')}.pcap`)));
    expect(readdirSync(dir).sort()).toEqual(w.files.map((f) => f.slice(dir.length + 1)).sort());
    const all: ReadFrame[] = [];
    for (const f of w.files) {
      expect(statSync(f).size).toBeLessThanOrEqual(limit);
      const { frames } = await readBack(f);
      expect(frames.length).toBeGreaterThan(0);
      all.push(...frames);
    }
    expect(all.map((f) => f.capLen)).toEqual(lens);
    all.forEach((f, i) => expect(f.data.equals(frameBytes(i, lens[i]))).toBe(true));
  });

  it('a frame larger than the size limit gets a file of its own', async () => {
    const w = new PcapWriter(join(dir, 'big.pcap'), 1, { bytes: 200 }, 65535);
    w.write(1, frameBytes(0, 50), 50);
    w.write(2, frameBytes(1, 500), 500);
    w.write(3, frameBytes(2, 50), 50);
    w.close();
    const counts = [];
    for (const f of w.files) counts.push((await readBack(f)).frames.map((x) => x.capLen));
    expect(counts).toEqual([[50], [500], [50]]);
  });

  it('rotates by capture time', async () => {
    const w = new PcapWriter(join(dir, 't.pcap'), 1, parseRotation('10s'), 65535);
    const times = [100, 101, 109.999, 110, 115, 119.5, 120, 151];
    times.forEach((t, i) => w.write(t, frameBytes(i, 64), 64));
    w.close();
    const perFile = [];
    for (const f of w.files) perFile.push((await readBack(f)).frames.map((x) => Math.round(x.ts * 1000) / 1000));
    expect(perFile).toEqual([[100, 101, 109.999], [110, 115, 119.5], [120], [151]]);
  });

  it('start() leaves a valid empty capture when no frame came', async () => {
    const path = join(dir, 'empty.pcap');
    const w = new PcapWriter(path, 1, {}, 65535);
    w.start(1_790_000_000);
    w.start(1_790_000_001); // idempotent
    w.close();
    expect(statSync(path).size).toBe(24);
    const { frames, anomalies } = await readBack(path);
    expect(frames).toEqual([]);
    expect(anomalies.summary()).toEqual([]);
  });
});
