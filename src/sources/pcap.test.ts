import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { writePcap, type CaptureRecord } from '../../test/support/capture-writer.js';
import { readCapture } from '../../test/support/capture-writer.js';
import { LIMITS } from '../config/limits.js';

const records: CaptureRecord[] = [
  { ts: 1700000000.000001, data: Buffer.from('first frame bytes') },
  { ts: 1700000000.5, data: Buffer.from('second'), origLen: 1514 },
  { ts: 1700000123.999999, data: Buffer.alloc(300, 7) },
];

describe('classic pcap', () => {
  it.each([
    ['little-endian µs', false, false],
    ['big-endian µs', true, false],
    ['little-endian ns', false, true],
    ['big-endian ns', true, true],
  ])('%s', async (_n, bigEndian, nanoseconds) => {
    const file = writePcap(records, { linkType: 1, bigEndian, nanoseconds, linkTypeFlags: 0x14000000 });
    const { format, frames, stats, counts } = await readCapture(file);
    expect(format).toBe('pcap');
    expect(counts).toEqual({});
    expect(stats).toEqual({ frames: 3, bytes: file.length });
    expect(frames.map((f) => f.index)).toEqual([1, 2, 3]);
    expect(frames.map((f) => f.linkType)).toEqual([1, 1, 1]);
    frames.forEach((f, i) => {
      expect(f.ts).toBeCloseTo(records[i].ts, 6);
      expect(f.data.equals(Buffer.from(records[i].data))).toBe(true);
      expect(f.capLen).toBe(records[i].data.length);
      expect(f.origLen).toBe(records[i].origLen ?? records[i].data.length);
    });
  });

  it('reads the modified (Kuznetzov, a1b2cd34) format with 24-byte record headers', async () => {
    const g = Buffer.alloc(24);
    g.writeUInt32LE(0xa1b2cd34, 0);
    g.writeUInt16LE(2, 4);
    g.writeUInt16LE(4, 6);
    g.writeUInt32LE(65535, 16);
    g.writeUInt32LE(1, 20);
    const recs = ['abc', 'defgh'].map((d, i) => {
      const h = Buffer.alloc(24);
      h.writeUInt32LE(1700000000 + i, 0);
      h.writeUInt32LE(500000, 4);
      h.writeUInt32LE(d.length, 8);
      h.writeUInt32LE(d.length, 12);
      h.writeUInt32LE(2, 16); // ifindex, protocol, pkt_type, pad
      return Buffer.concat([h, Buffer.from(d)]);
    });
    const { frames, counts } = await readCapture(Buffer.concat([g, ...recs]));
    expect(counts).toEqual({});
    expect(frames.map((f) => [f.data.toString(), f.ts])).toEqual([['abc', 1700000000.5], ['defgh', 1700000001.5]]);
  });

  it('keeps nanoseconds apart from microseconds', async () => {
    // A small epoch value, so a double still holds nanoseconds.
    const ns = await readCapture(writePcap([{ ts: 1000.123456789, data: Buffer.from('x') }], { linkType: 1, nanoseconds: true }));
    const us = await readCapture(writePcap([{ ts: 1000.123456789, data: Buffer.from('x') }], { linkType: 1 }));
    expect(ns.frames[0].ts).toBeCloseTo(1000.123456789, 9);
    expect(us.frames[0].ts).toBeCloseTo(1000.123457, 9);
  });

  it('gives the same frames however the input is split', async () => {
    const file = writePcap(records, { linkType: 113 });
    const whole = await readCapture(file);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(), { maxLength: 12 }), async (cuts) => {
        const split = await readCapture(file, cuts);
        expect(split.frames).toEqual(whole.frames);
        expect(split.counts).toEqual({});
      }),
      { numRuns: 150 },
    );
    // Byte by byte.
    const bytewise = await readCapture(file, Array.from({ length: file.length }, (_, i) => i));
    expect(bytewise.frames).toEqual(whole.frames);
  });

  it('a truncated last record is an anomaly, not a frame and not a crash', async () => {
    const file = writePcap(records, { linkType: 1 });
    for (const cut of [1, 100, 299, 300 + 15]) {
      const { frames, counts } = await readCapture(file.subarray(0, file.length - cut));
      expect(frames.length).toBe(2);
      expect(counts).toEqual({ 'pcap.truncated_record': 1 });
    }
  });

  it('a file cut inside the global header', async () => {
    const { frames, counts } = await readCapture(writePcap([], { linkType: 1 }).subarray(0, 10));
    expect(frames).toEqual([]);
    expect(counts).toEqual({ 'pcap.truncated_header': 1 });
  });

  it('skips a sane but oversize record and goes on, keeping frame numbers', async () => {
    const big = Buffer.alloc(LIMITS.maxRecordBytes + 10, 1);
    const file = writePcap([records[0], { ts: 1700000001, data: big }, records[1]], { linkType: 1 });
    const { frames, counts } = await readCapture(file, [5000, 100000]);
    expect(counts).toEqual({ 'pcap.record_too_large': 1 });
    expect(frames.map((f) => [f.index, f.data.toString()])).toEqual([[1, 'first frame bytes'], [3, 'second']]);
  });

  it('resyncs after a corrupt record header', async () => {
    const many: CaptureRecord[] = Array.from({ length: 20 }, (_, i) => ({ ts: 1700000000 + i, data: Buffer.from(`record ${i}`) }));
    const file = Buffer.from(writePcap(many, { linkType: 1 }));
    // Record 5's header: caplen 0xffffff00, origlen 3 — impossible.
    let at = 24;
    for (let i = 0; i < 5; i++) at += 16 + file.readUInt32LE(at + 8);
    file.writeUInt32LE(0xffffff00, at + 8);
    file.writeUInt32LE(3, at + 12);
    const { frames, counts } = await readCapture(file, [at + 3, at + 20]);
    expect(counts['pcap.bad_record_header']).toBe(1);
    expect(counts['pcap.resynced']).toBe(1);
    const texts = frames.map((f) => f.data.toString());
    expect(texts.slice(0, 5)).toEqual(['record 0', 'record 1', 'record 2', 'record 3', 'record 4']);
    expect(texts).toContain('record 6');
    expect(texts.at(-1)).toBe('record 19');
    expect(texts).not.toContain('record 5');
  });

  it("reads pcaps joined with cat, taking the second header's link type", async () => {
    const a = writePcap(records, { linkType: 1 });
    const b = writePcap(records.slice(0, 2), { linkType: 113 });
    const { frames, counts } = await readCapture(Buffer.concat([a, b]), [a.length + 2]);
    expect(counts).toEqual({ 'pcap.embedded_header': 1 });
    expect(frames.map((f) => [f.index, f.linkType])).toEqual([[1, 1], [2, 1], [3, 1], [4, 113], [5, 113]]);
  });

  it('resyncs onto a last record that has no header after it', async () => {
    const file = Buffer.from(writePcap([records[0], records[1]], { linkType: 1 }));
    const at = 24 + 16 + records[0].data.length;
    const garbage = Buffer.from('GARBAGEgarbage!!!!');
    const withGarbage = Buffer.concat([file.subarray(0, at), garbage, file.subarray(at)]);
    withGarbage.writeUInt32LE(0xfffffff0, at + 8);
    const { frames, counts } = await readCapture(withGarbage);
    expect(frames.map((f) => f.data.toString())).toEqual(['first frame bytes', 'second']);
    expect(counts['pcap.resynced']).toBe(1);
  });

  it('never throws on bit-flipped files', async () => {
    const file = writePcap(
      Array.from({ length: 12 }, (_, i) => ({ ts: 1700000000 + i / 10, data: Buffer.alloc(20 + i * 7, i) })),
      { linkType: 1, nanoseconds: true, bigEndian: true },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.integer({ min: 4, max: file.length - 1 }), fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 4 }),
        async (flips, cuts) => {
          const bad = Buffer.from(file);
          for (const [at, bit] of flips) bad[at] ^= 1 << bit;
          const { frames } = await readCapture(bad, cuts);
          for (const f of frames) expect(f.capLen).toBeLessThanOrEqual(LIMITS.maxRecordBytes);
        },
      ),
      { numRuns: 300 },
    );
  });
});
