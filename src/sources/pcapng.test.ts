import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { block, writePcapng, type CaptureRecord } from '../../test/support/capture-writer.js';
import { readCapture } from '../../test/support/capture-writer.js';
import { ticksToSeconds } from './pcapng.js';

const T = 1700000000;
const interfaces = [
  { linkType: 1 }, // default µs
  { linkType: 113, tsresol: 9 }, // ns
  { linkType: 276, tsresol: 0x80 | 20, tsoffset: 1000 }, // 2^-20 s, plus an offset
  { linkType: 101, tsresol: 3, tsoffset: -5 }, // ms, negative offset
];
const records: CaptureRecord[] = [
  { ts: T + 0.000001, data: Buffer.from('eth frame'), interfaceId: 0 },
  { ts: T + 1.000000123, data: Buffer.from('sll frame'), interfaceId: 1, origLen: 900 },
  { ts: T + 2.5, data: Buffer.from('sll2 frame!'), interfaceId: 2 },
  { ts: T + 3.25, data: Buffer.from('raw'), interfaceId: 3 },
  { ts: T + 4.125, data: Buffer.from('obsolete packet block'), interfaceId: 1, block: 'pb' },
  { ts: 0, data: Buffer.from('simple packet block'), block: 'spb', interfaceId: 0 },
];

describe('ticksToSeconds', () => {
  it('divides a 64-bit tick count exactly for 32-bit units', () => {
    // 1700000000.123456789 s in ns = 0x17979CFE_362E7D15
    const ticks = 1700000000123456789n;
    const s = ticksToSeconds(Number(ticks >> 32n), Number(ticks & 0xffffffffn), 1e9);
    expect(Math.floor(s)).toBe(1700000000);
    expect(s - 1700000000).toBeCloseTo(0.123456789, 6);
    expect(ticksToSeconds(0, 1 << 20, 2 ** 20)).toBe(1);
    expect(ticksToSeconds(1, 0, 1e6)).toBeCloseTo(4294.967296, 9);
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 1n << 34n }), fc.nat(), fc.constantFrom(1000n, 1000000n, 1000000000n, 1n << 20n, 1n << 32n), (sec, f, u) => {
        const t = sec * u + (BigInt(f) % u);
        const s = ticksToSeconds(Number(t >> 32n), Number(t & 0xffffffffn), Number(u));
        // Exact up to the spacing of doubles at this magnitude (the naive 64-bit double is off by far more).
        const exact = Number(sec) + Number(BigInt(f) % u) / Number(u);
        expect(Math.abs(s - exact)).toBeLessThanOrEqual(Math.max(exact, 1) * 2 ** -52);
      }),
    );
  });
});

describe('pcapng', () => {
  it.each([['little-endian', false], ['big-endian', true]])('%s: interfaces, resolutions, offsets, EPB/PB/SPB', async (_n, bigEndian) => {
    const file = writePcapng(records, { bigEndian, interfaces });
    const { format, frames, stats, counts } = await readCapture(file);
    expect(format).toBe('pcapng');
    expect(counts).toEqual({});
    expect(stats.frames).toBe(6);
    expect(frames.map((f) => [f.index, f.interfaceId, f.linkType])).toEqual([
      [1, 0, 1], [2, 1, 113], [3, 2, 276], [4, 3, 101], [5, 1, 113], [6, 0, 1],
    ]);
    expect(frames.map((f) => f.data.toString())).toEqual(records.map((r) => Buffer.from(r.data).toString()));
    expect(frames[1].origLen).toBe(900);
    for (let i = 0; i < 5; i++) expect(frames[i].ts).toBeCloseTo(records[i].ts, 6);
    // A simple packet block has no time: it takes the previous frame's.
    expect(frames[5].ts).toBe(frames[4].ts);
  });

  it('several sections: interface ids start over, byte order may change, frame numbers go on', async () => {
    const a = writePcapng([{ ts: T, data: Buffer.from('a0'), linkType: 1 }], { bigEndian: false });
    const b = writePcapng(
      [{ ts: T + 9, data: Buffer.from('b0'), interfaceId: 0 }, { ts: T + 10, data: Buffer.from('b1'), interfaceId: 1 }],
      { bigEndian: true, interfaces: [{ linkType: 113, tsresol: 9 }, { linkType: 0 }] },
    );
    const { frames, counts } = await readCapture(Buffer.concat([a, b, a]), [a.length + 3]);
    expect(counts).toEqual({});
    expect(frames.map((f) => [f.index, f.data.toString(), f.linkType, f.interfaceId])).toEqual([
      [1, 'a0', 1, 0], [2, 'b0', 113, 0], [3, 'b1', 0, 1], [4, 'a0', 1, 0],
    ]);
    expect(frames[2].ts).toBeCloseTo(T + 10, 6);
  });

  it('skips unknown blocks (counted) and known non-packet blocks (not counted)', async () => {
    const file = writePcapng([{ ts: T, data: Buffer.from('x'), linkType: 1 }], {
      extraBlocks: [
        { type: 0x0000_0004, body: Buffer.from([0, 0, 0, 0]) }, // NRB, end of records
        { type: 0x0000_0bad, body: Buffer.alloc(8) }, // custom
        { type: 0x1234_5678, body: Buffer.alloc(20) },
      ],
    });
    const { frames, counts } = await readCapture(file);
    expect(frames.length).toBe(1);
    expect(counts).toEqual({ 'pcapng.unknown_block': 1 });
  });

  it('drops packets on an undeclared interface', async () => {
    const file = writePcapng([{ ts: T, data: Buffer.from('x'), interfaceId: 3 }], { interfaces: [{ linkType: 1 }] });
    const { frames, counts } = await readCapture(file);
    expect(frames).toEqual([]);
    expect(counts).toEqual({ 'pcapng.unknown_interface': 1 });
  });

  it('a truncated last block is an anomaly', async () => {
    const file = writePcapng(records, { interfaces });
    const { frames, counts } = await readCapture(file.subarray(0, file.length - 6));
    expect(frames.length).toBe(5);
    expect(counts).toEqual({ 'pcapng.truncated_block': 1 });
  });

  it('resyncs after a block with an impossible length', async () => {
    const recs = Array.from({ length: 10 }, (_, i) => ({ ts: T + i, data: Buffer.from(`pkt ${i}`), linkType: 1 }));
    const file = Buffer.from(writePcapng(recs));
    // Find the 4th EPB and break its length.
    let at = 0;
    let epbs = 0;
    while (at < file.length) {
      const type = file.readUInt32LE(at);
      const len = file.readUInt32LE(at + 4);
      if (type === 6 && ++epbs === 4) break;
      at += len;
    }
    file.writeUInt32LE(7, at + 4);
    const { frames, counts } = await readCapture(file, [at + 2]);
    expect(counts['pcapng.bad_block_length']).toBe(1);
    expect(counts['pcapng.resynced']).toBe(1);
    expect(frames.map((f) => f.data.toString())).toEqual(recs.filter((_, i) => i !== 3).map((r) => r.data.toString()));
  });

  it('counts a trailing length that disagrees, and keeps going', async () => {
    const le = true;
    const shb = writePcapng([], {});
    const epbBody = Buffer.alloc(20 + 4);
    epbBody.write('abcd', 20);
    epbBody.writeUInt32LE(4, 12);
    epbBody.writeUInt32LE(4, 16);
    const idb = block(le, 1, Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]));
    const epb = Buffer.from(block(le, 6, epbBody));
    epb.writeUInt32LE(999, epb.length - 4);
    const { frames, counts } = await readCapture(Buffer.concat([shb, idb, epb]));
    expect(frames.map((f) => f.data.toString())).toEqual(['abcd']);
    expect(counts).toEqual({ 'pcapng.block_length_mismatch': 1 });
  });

  it('gives the same frames however the input is split', async () => {
    const file = writePcapng(records, { interfaces, bigEndian: true });
    const whole = await readCapture(file);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(), { maxLength: 12 }), async (cuts) => {
        expect((await readCapture(file, cuts)).frames).toEqual(whole.frames);
      }),
      { numRuns: 150 },
    );
  });

  it('never throws on bit-flipped or cut files', async () => {
    const file = writePcapng(records, { interfaces });
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.integer({ min: 4, max: file.length - 1 }), fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 4 }),
        fc.nat(),
        async (flips, cuts, end) => {
          const bad = Buffer.from(file);
          for (const [at, bit] of flips) bad[at] ^= 1 << bit;
          await readCapture(bad.subarray(0, 4 + (end % (bad.length - 3))), cuts);
        },
      ),
      { numRuns: 300 },
    );
  });
});
