import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { Anomalies } from '../core/anomalies.js';
import { runCaptureSource } from '../pipeline/capture.js';
import { messageToJsonLine } from '../report/messages.js';
import { writePcap, writePcapng } from '../../test/support/capture-writer.js';
import { readCapture } from '../../test/support/capture-writer.js';
import { CaptureFormatError, ChunkDriver, openCapture, openCaptureStream, READS_AHEAD, sniffCaptureFormat, type RecordParser } from './capture-file.js';

const recs = Array.from({ length: 50 }, (_, i) => ({ ts: 1700000000 + i, data: Buffer.alloc(100 + i, i), linkType: 1 }));
const pcap = writePcap(recs, { linkType: 1 });
const pcapng = writePcapng(recs);
const dir = mkdtempSync(join(tmpdir(), 'shadowtap-capture-'));

async function errorOf(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

describe('openCapture / openCaptureStream', () => {
  it('sniffs the format from the bytes, not the name', async () => {
    expect((await readCapture(pcapng, [], 'looks-like.pcap')).format).toBe('pcapng');
    expect((await readCapture(pcap, [], 'looks-like.pcapng')).format).toBe('pcap');
    expect(sniffCaptureFormat(Buffer.from('hello'))).toBeNull();
  });

  it.each([['pcap', pcap], ['pcapng', pcapng]])('reads gzip-compressed %s transparently, split anywhere', async (_n, file) => {
    const gz = gzipSync(file);
    const plain = await readCapture(file);
    const zipped = await readCapture(gz, [1, 3, 17, 500]);
    expect(zipped.frames).toEqual(plain.frames);
    expect(zipped.stats).toEqual({ frames: 50, bytes: file.length });
  });

  it('an unknown format is one clear CaptureFormatError', async () => {
    const elf = Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]);
    const e = await errorOf(openCaptureStream(Readable.from([elf]), 'capture.bin', new Anomalies()));
    expect(e).toBeInstanceOf(CaptureFormatError);
    expect(e.message).toBe('capture.bin: not a pcap or pcapng file (starts with 7f454c46)');
    const gz = await errorOf(openCaptureStream(Readable.from([gzipSync(Buffer.from('{"json":1}'))]), 'x.gz', new Anomalies()));
    expect(gz.message).toBe('x.gz: not a pcap or pcapng file (gzip data starts with 7b226a73)');
    const empty = await errorOf(openCaptureStream(Readable.from([]), 'empty.pcap', new Anomalies()));
    expect(empty.message).toBe('empty.pcap: not a pcap or pcapng file (empty)');
  });

  it('reads a file path, and a missing path is a CaptureFormatError', async () => {
    const path = join(dir, 'trace.bin');
    writeFileSync(path, gzipSync(pcap));
    const source = await openCapture(path, new Anomalies());
    let n = 0;
    const stats = await source.run(() => n++);
    expect([source.format, source.name, n, stats.frames]).toEqual(['pcap', path, 50, 50]);
    const e = await errorOf(openCapture(join(dir, 'nope.pcap'), new Anomalies()));
    expect(e).toBeInstanceOf(CaptureFormatError);
    expect(e.message).toMatch(/nope\.pcap: cannot read \(ENOENT/);
  });

  it.each([['pcap', pcap], ['pcapng', pcapng]])(
    'reads a plain %s file into a small ring of reused buffers: same frames as the stream for any read size',
    async (_n, file) => {
      const path = join(dir, `sync-${_n}.cap`);
      writeFileSync(path, file);
      const viaStream = await readCapture(file);
      for (const readBytes of [1, 7, 64, 333, 4096, file.length, file.length + 1]) {
        const source = await openCapture(path, new Anomalies(), readBytes);
        const frames: Array<{ index: number; ts: number; data: Uint8Array }> = [];
        const buffers = new Set<ArrayBufferLike>();
        const stats = await source.run((f) => {
          buffers.add(f.data.buffer);
          frames.push({ index: f.index, ts: f.ts, data: Uint8Array.from(f.data) });
        });
        expect(stats).toEqual({ frames: 50, bytes: file.length });
        expect(frames.map((f) => [f.index, f.ts, Buffer.from(f.data).toString('hex')])).toEqual(
          viaStream.frames.map((f) => [f.index, f.ts, Buffer.from(f.data).toString('hex')]),
        );
        // The ring (the buffer parsed and those read ahead) plus the carry for records that span reads, not one per read.
        expect(buffers.size).toBeLessThanOrEqual(1 + READS_AHEAD + 1);
      }
    },
  );

  it('yields to the event loop between reads (so output queued for a pipe can drain)', async () => {
    const path = join(dir, 'yield.pcap');
    writeFileSync(path, pcap);
    const source = await openCapture(path, new Anomalies(), 1000);
    let fired = false;
    setImmediate(() => {
      fired = true;
    });
    let framesAfterYield = 0;
    await source.run(() => {
      if (fired) framesAfterYield++;
    });
    expect(framesAfterYield).toBeGreaterThan(0);
    expect(framesAfterYield).toBeLessThan(50);
  });

  it('a plain file that is not a capture, or empty, fails as the stream path does', async () => {
    const elf = join(dir, 'elf.bin');
    writeFileSync(elf, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]));
    expect((await errorOf(openCapture(elf, new Anomalies()))).message).toBe(`${elf}: not a pcap or pcapng file (starts with 7f454c46)`);
    const empty = join(dir, 'empty.pcap');
    writeFileSync(empty, '');
    const e = await errorOf(openCapture(empty, new Anomalies()));
    expect(e).toBeInstanceOf(CaptureFormatError);
    expect(e.message).toBe(`${empty}: not a pcap or pcapng file (empty)`);
    // A directory is not a regular file: the stream path reports it.
    expect((await errorOf(openCapture(dir, new Anomalies()).then((s) => s.run(() => {}))))).toBeInstanceOf(CaptureFormatError);
  });

  it('reads stdin for "-"', async () => {
    const saved = Object.getOwnPropertyDescriptor(process, 'stdin')!;
    Object.defineProperty(process, 'stdin', { value: Readable.from([pcapng.subarray(0, 10), pcapng.subarray(10)]), configurable: true });
    try {
      const source = await openCapture('-', new Anomalies());
      const stats = await source.run(() => {});
      expect([source.name, source.format, stats.frames]).toEqual(['-', 'pcapng', 50]);
    } finally {
      Object.defineProperty(process, 'stdin', saved);
    }
  });

  it('a gzip stream that breaks part-way keeps the frames before it', async () => {
    const gz = gzipSync(pcap);
    const { frames, counts } = await readCapture(gz.subarray(0, Math.floor(gz.length / 2)));
    expect(frames.length).toBeGreaterThan(0);
    expect(frames.length).toBeLessThan(50);
    expect(counts['capture.gzip_error']).toBe(1);
  });

  it('readers never throw on random bytes after a valid magic', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(pcap.subarray(0, 4), pcapng.subarray(0, 12)), fc.uint8Array({ maxLength: 3000 }), fc.array(fc.nat(), { maxLength: 5 }), async (magic, rest, cuts) => {
        await readCapture(Buffer.concat([magic, rest]), cuts);
      }),
      { numRuns: 400 },
    );
  });
});

describe('ChunkDriver', () => {
  // A toy format: 1-byte length + that many bytes. Records the units it saw and where they lived.
  function toy() {
    const seen: string[] = [];
    const buffers = new Set<ArrayBufferLike>();
    const parser: RecordParser = {
      frames: 0,
      need: (b, off, avail) => (avail < 1 ? 1 : 1 + b[off]),
      step: (b, off) => {
        seen.push(Buffer.from(b.subarray(off + 1, off + 1 + b[off])).toString());
        buffers.add(b.buffer);
        return 1 + b[off];
      },
      finish: (_b, _off, avail) => {
        if (avail) seen.push(`<${avail} left>`);
      },
    };
    return { seen, buffers, driver: new ChunkDriver(parser) };
  }
  const input = Buffer.concat(['hello', 'a', '', 'world!!', 'x'.repeat(200)].map((s) => Buffer.concat([Buffer.from([s.length]), Buffer.from(s)])));

  it('gives the same units for any split, and reports what is left', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(input.length), { maxLength: 20 }), fc.nat(input.length), (cuts, end) => {
        const whole = toy();
        whole.driver.feed(input.subarray(0, end));
        whole.driver.end();
        const split = toy();
        const points = [...new Set(cuts.map((c) => Math.min(c, end)))].sort((a, b) => a - b);
        let at = 0;
        for (const p of [...points, end]) {
          split.driver.feed(input.subarray(at, p));
          at = p;
        }
        split.driver.end();
        expect(split.seen).toEqual(whole.seen);
        expect(split.driver.bytes).toBe(end);
      }),
      { numRuns: 500 },
    );
  });

  it('parses in place in the chunk; only a record spanning chunks goes through the carry', () => {
    const t = toy();
    const chunks = [input.subarray(0, 3), input.subarray(3, 12), input.subarray(12)].map((c) => Uint8Array.from(c));
    for (const c of chunks) t.driver.feed(c);
    t.driver.end();
    expect(t.seen).toEqual(['hello', 'a', '', 'world!!', 'x'.repeat(200)]);
    // 'hello' spans chunks 1-2 and 'world!!' spans 2-3: both in the carry; 'a', '' in chunk 2; the x's in chunk 3.
    const chunkBuffers: ArrayBufferLike[] = chunks.map((c) => c.buffer);
    const carries = [...t.buffers].filter((b) => !chunkBuffers.includes(b));
    expect(carries.length).toBe(1);
    expect(t.buffers.has(chunks[1].buffer)).toBe(true);
    expect(t.buffers.has(chunks[2].buffer)).toBe(true);
  });
});

describe('reused read buffer, end to end', () => {
  // Messages must not depend on the read size: a parser that kept a view of frame bytes past its callback
  // would see them overwritten by the next read into the same buffer.
  const ROOT = new URL('../..', import.meta.url).pathname;
  const files = ['fixtures/pcap', 'fixtures/audit'].flatMap((d) =>
    readdirSync(join(ROOT, d)).filter((f) => /\.pcap(ng)?$/.test(f)).map((f) => join(ROOT, d, f)),
  );

  async function lines(path: string, readBytes?: number): Promise<string[]> {
    const anomalies = new Anomalies();
    const out: string[] = [];
    const source = await openCapture(path, anomalies, readBytes);
    await runCaptureSource(source, anomalies, { onMessage: (m) => out.push(messageToJsonLine('"f"', m)) });
    out.push(JSON.stringify(anomalies.summary()));
    return out;
  }

  it.each(files.map((f) => [f.slice(ROOT.length)]))('%s: 1 MiB reads and 1000-byte reads give the same messages', async (rel) => {
    const path = join(ROOT, rel);
    const whole = await lines(path);
    expect(whole.length).toBeGreaterThan(0);
    expect(await lines(path, 1000)).toEqual(whole);
  }, 30_000);
});
