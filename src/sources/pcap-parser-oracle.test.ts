// pcap-parser (npm) as an independent oracle for classic pcap: same record count, timestamps,
// lengths and bytes as our reader. It reads only µs pcap (either byte order); see docs/pcap-parser.md.
import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { writePcap } from '../../test/support/capture-writer.js';
import { readCapture } from '../../test/support/capture-writer.js';

const require = createRequire(import.meta.url);
const pcapParser = require('pcap-parser') as {
  parse(input: NodeJS.ReadableStream): NodeJS.EventEmitter;
};

interface OracleRecord { ts: number; capLen: number; origLen: number; data: Buffer }

function oracle(bytes: Uint8Array): Promise<OracleRecord[]> {
  return new Promise((resolve, reject) => {
    const out: OracleRecord[] = [];
    const parser = pcapParser.parse(Readable.from([Buffer.from(bytes)]));
    parser.on('packet', (p: { header: { timestampSeconds: number; timestampMicroseconds: number; capturedLength: number; originalLength: number }; data: Buffer }) => {
      out.push({
        ts: p.header.timestampSeconds + p.header.timestampMicroseconds / 1e6,
        capLen: p.header.capturedLength,
        origLen: p.header.originalLength,
        data: Buffer.from(p.data),
      });
    });
    parser.on('error', reject);
    parser.on('end', () => resolve(out));
  });
}

const cases: [string, () => Uint8Array][] = [
  ['tcpdump lo-http.pcap', () => readFileSync(join(import.meta.dirname, '../../fixtures/decode/lo-http.pcap'))],
  ['tcpdump any-sll2.pcap', () => readFileSync(join(import.meta.dirname, '../../fixtures/decode/any-sll2.pcap'))],
  ['written big-endian', () => writePcap(
    Array.from({ length: 40 }, (_, i) => ({ ts: 1700000000 + i * 0.123457, data: Buffer.alloc(60 + i, i), origLen: 1500 })),
    { linkType: 1, bigEndian: true },
  )],
];

describe('classic pcap agrees with pcap-parser', () => {
  it.each(cases)('%s', async (_n, load) => {
    const bytes = load();
    const theirs = await oracle(bytes);
    const ours = await readCapture(bytes, [1000, 2000]);
    expect(theirs.length).toBeGreaterThan(20);
    expect(ours.frames.length).toBe(theirs.length);
    ours.frames.forEach((f, i) => {
      expect(Math.abs(f.ts - theirs[i].ts)).toBeLessThan(1e-7);
      expect([f.capLen, f.origLen]).toEqual([theirs[i].capLen, theirs[i].origLen]);
      expect(f.data.equals(theirs[i].data)).toBe(true);
    });
  });
});
